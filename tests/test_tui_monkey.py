"""Random keys everywhere (tests/monkey.py): never a traceback, the app still answers,
and the test driver's VMs all still start.

A fixed set of seeds runs in CI. TVIRT_MONKEY_SEED=N runs seed N instead (and
TVIRT_MONKEY_KEYS the number of keys, TVIRT_MONKEY_BURST how many keys arrive at once),
to repeat a failure or to try new sequences. A failure names its seed and the keys that
led to it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "monkey.py"
SEEDS = (1, 2, 3, 4)
KEYS = 500  # per seed: 2000 keys in all, about a minute on two cores
SIZES = ((80, 24), (100, 30))  # alternately: the narrow layout and a wider one


def seeds() -> list[tuple[int, int]]:
    chosen = os.environ.get("TVIRT_MONKEY_SEED", "")
    keys = int(os.environ.get("TVIRT_MONKEY_KEYS", KEYS))
    return [(int(chosen), keys)] if chosen else [(seed, keys) for seed in SEEDS]


def test_random_keys_never_break_the_app(tmp_path: Path) -> None:
    # Each seed in its own process (test:///default is shared within a process), all at
    # once; home, config and state in a temp dir, so a transcript or a download the keys
    # happen to ask for lands there.
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_STATE_HOME": str(tmp_path / "state"), "XDG_DATA_HOME": str(tmp_path / "data"),
           "TVIRT_CONFIG": str(tmp_path / "config.toml")}
    runs = []
    for i, (seed, keys) in enumerate(seeds()):
        width, height = SIZES[i % len(SIZES)]
        runs.append((seed, subprocess.Popen(
            [sys.executable, str(SCRIPT), str(seed), str(keys), str(width), str(height)],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True,
        )))
    failures, pressed = [], 0
    for seed, proc in runs:
        out, _ = proc.communicate(timeout=600)
        lines = out.strip().splitlines()
        if proc.returncode != 0 or not lines:
            failures.append(f"seed {seed}: the run itself failed (exit {proc.returncode})")
            continue
        result = json.loads(lines[-1])
        pressed += result["keys"]
        failures += [f"seed {seed}: {problem}" for problem in result["problems"]]
    rerun = "rerun one with TVIRT_MONKEY_SEED=N pytest tests/test_tui_monkey.py"
    assert not failures, f"{rerun}\n" + "\n".join(failures)
    assert pressed == sum(keys for _seed, keys in seeds())  # every key went in
