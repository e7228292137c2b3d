#!/usr/bin/env python3
"""Mutation check: break the code in small ways, one at a time, and expect tests to fail.

Each mutation names a file, an exact snippet, its replacement and the tests that should
catch it. The check copies the working tree (committed or not) to a temporary directory,
applies one mutation there, runs those tests with pytest and restores the file before the
next one; the developer's tree is never written to. A line per mutation says `caught` or
`SURVIVED`. The exit code is non-zero if any survived, if a snippet no longer matches the
source exactly once, or if the tests fail before any mutation (then nothing would mean
anything). It is slow and uses the real test bed, so it is not part of the test command.

Run it with the project's virtualenv, from anywhere:

    .venv/bin/python scripts/mutation-check.py            # all of them
    .venv/bin/python scripts/mutation-check.py --list     # names only
    .venv/bin/python scripts/mutation-check.py cli-main-silent host-no-backoff
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str  # relative to the repository
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # pytest node ids that must fail


HW = "tests/test_host_worker.py"
DASH = "tests/test_tui_dashboard.py"

MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "host-drops-lifecycle-events",
        "tvirt/host.py",
        "        uuid, name = dom.UUIDString(), dom.name()\n"
        "        self._jobs.put(lambda: self._refresh(uuid, name, generation))\n",
        "        return\n",
        (f"{HW}::test_burst_of_events_ends_consistent",),
    ),
    Mutation(
        "host-no-backoff",
        "tvirt/host.py",
        "delay = BACKOFF[min(self._failures - 1, len(BACKOFF) - 1)]",
        "delay = BACKOFF[0]",
        (f"{HW}::test_reconnect_backoff_steps_then_connects",),
    ),
    Mutation(
        "readonly-worker-allows",
        "tvirt/host.py",
        "            if self.readonly:\n                raise ActionRefused(",
        "            if False:\n                raise ActionRefused(",
        (f"{HW}::test_readonly_refuses_every_action",),
    ),
    Mutation(
        "readonly-dashboard-allows",
        "screens/dashboard.py",
        "        if app.readonly:\n            app.say(refusal(",
        "        if False:\n            app.say(refusal(",
        (f"{DASH}::test_read_only_refuses_without_calling_the_worker",),
    ),
    Mutation(
        "dashboard-mark-does-nothing",
        "screens/dashboard.py",
        "        if self.table.toggle_mark() is None:\n",
        "        if False:\n",
        (f"{DASH}::test_unmarking_with_space_again",),
    ),
    Mutation(
        "table-relisting-keeps-vanished-rows",
        "screens/vm_table.py",
        "                if vm.key not in fresh:\n",
        "                if False:\n",
        (f"{DASH}::test_a_relisting_adds_updates_and_drops_rows_of_that_host_only",),
    ),
    Mutation(
        "cli-main-silent",
        "tvirt/cli/__init__.py",
        "    parser = build_parser()\n    args = parser.parse_args(argv)\n",
        "    return 0\n",
        ("tests/test_plain.py::test_no_escape_sequences_even_on_a_terminal",),
    ),
    Mutation(
        "stats-rate-ignores-elapsed",
        "tvirt/stats.py",
        "    return (cur - prev) / elapsed\n",
        "    return float(cur - prev)\n",
        ("tests/test_stats_math.py",),
    ),
    Mutation(
        "stats-cpu-ignores-vcpus",
        "tvirt/stats.py",
        "per_second / 1e9 / cpus * 100.0",
        "per_second / 1e9 * 100.0",
        ("tests/test_stats_math.py",),
    ),
    Mutation(
        "stats-counter-reset-spikes",
        "tvirt/stats.py",
        "    if cur < prev:\n        return None",
        "    if False:\n        return None",
        ("tests/test_stats_math.py",),
    ),
    Mutation(
        "ticker-overlaps-ticks",
        "tvirt/ticker.py",
        "            if self._future is not None and not self._future.done():\n",
        "            if False:\n",
        ("tests/test_stats_ticker.py::test_a_slow_tick_is_skipped_never_queued_or_overlapped",),
    ),
    Mutation(
        "ticker-no-rebase-after-a-failure",
        "tvirt/ticker.py",
        "must not become one long-averaged point.\n        self._rebase = True\n",
        "must not become one long-averaged point.\n        self._rebase = False\n",
        (
            "tests/test_manager_stats.py::"
            "test_a_ticker_survives_a_lost_connection_and_rebases_after_it",
        ),
    ),
    Mutation(
        "ssh-host-key-error-unexplained",
        "tvirt/errors.py",
        '("host key verification failed", "remote host identification has changed")',
        '("host key verification failed!", "remote host identification has changed!")',
        ("tests/test_real_ssh_errors.py::test_unknown_host_key",),
    ),
    Mutation(
        "uri-accepts-no-verify",
        "tvirt/uri.py",
        'if any(key == "no_verify" and value not in {"", "0"} for key, value in query):',
        "if False:",
        ("tests/test_uri.py",),
    ),
    Mutation(
        "uri-accepts-passwords",
        "tvirt/uri.py",
        "    if parts.password:\n",
        "    if False:\n",
        ("tests/test_uri.py",),
    ),
    Mutation(
        "sizes-decimal-as-binary",
        "tvirt/sizes.py",
        '    "gb": 1000**3,\n',
        '    "gb": 1024**3,\n',
        ("tests/test_sizes.py",),
    ),
    Mutation(
        "config-world-readable",
        "tvirt/config.py",
        "    os.chmod(tmp, 0o600)\n",
        "    os.chmod(tmp, 0o644)\n",
        ("tests/test_config.py",),
    ),
    Mutation(
        "config-save-in-place",
        "tvirt/config.py",
        '    tmp = path.with_name(path.name + ".tmp")\n',
        "    tmp = path\n",
        ("tests/test_config.py",),
    ),
    Mutation(
        "wipe-doubt-counts-as-safe",
        "tvirt/disks.py",
        "    elif doubts:\n        dev.safety = Safety.UNKNOWN\n",
        "    elif doubts:\n        dev.safety = Safety.SAFE\n",
        ("tests/test_disks_rules.py",),
    ),
    Mutation(
        "wipe-vm-disk-not-noticed",
        "tvirt/disks.py",
        "            if path == part.path:\n",
        '            if path == "":\n',
        ("tests/test_disks_rules.py",),
    ),
)

# What the copy leaves out: the environment, caches and stale bytecode.
_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".hypothesis",
)


def copy_tree(dest: Path) -> Path:
    """The working tree under dest, plus a staged package of it (the installed shape:
    screens/ and themes/ inside tvirt/), which PYTHONPATH puts before the editable
    install of the real tree."""
    tree = dest / "tree"
    shutil.copytree(ROOT, tree, ignore=_IGNORE, symlinks=True)
    stage = dest / "stage" / "tvirt"
    stage.mkdir(parents=True)
    for item in (tree / "tvirt").iterdir():
        (stage / item.name).symlink_to(item)
    (stage / "screens").symlink_to(tree / "screens")
    (stage / "themes").symlink_to(tree / "themes")
    return tree


def environment(dest: Path) -> dict[str, str]:
    tree, stage = dest / "tree", dest / "stage"
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(stage), str(tree)]),
        # Not the current directory first: the copy's own tvirt/ there lacks screens/.
        "PYTHONSAFEPATH": "1",
        # A mutation may keep a file's size and mtime second: never trust bytecode.
        "PYTHONDONTWRITEBYTECODE": "1",
        "CI": "true",  # a missing real component fails instead of skipping
    }


def check_isolated(dest: Path, env: dict[str, str]) -> None:
    """Refuse to run unless the tests import the copy, not the developer's tree."""
    probe = "import tvirt, tvirt.screens; print(tvirt.__file__); print(tvirt.screens.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=dest / "tree", env=env, capture_output=True,
        text=True, check=True,
    ).stdout.split()
    stage = dest / "stage"
    if len(out) != 2 or not all(Path(p).is_relative_to(stage) for p in out):
        raise SystemExit(f"mutation-check: the tests would import {out}, not the copy")


def run_pytest(tree: Path, env: dict[str, str], tests: Sequence[str], timeout: float,
               log: Path) -> int | None:
    """pytest's exit code, or None if it ran past the timeout (then it is stopped)."""
    argv = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    with log.open("w") as out:
        proc = subprocess.Popen(argv, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        finally:
            # Only the group this check started: pytest and whatever it spawned.
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def tail(log: Path, lines: int = 15) -> str:
    return "\n".join("    " + line for line in log.read_text().splitlines()[-lines:])


def stale(mutation: Mutation) -> str | None:
    """Why the snippet cannot be applied, or None."""
    path = ROOT / mutation.path
    if not path.exists():
        return f"{mutation.path} does not exist"
    count = path.read_text().count(mutation.old)
    if count != 1:
        return f"the snippet occurs {count} times in {mutation.path}, not once"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds per pytest run (default 900)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of every listed test on the unmutated copy")
    args = parser.parse_args(argv)
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name}: {m.path}; {' '.join(m.tests)}")
        return 0
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutation: {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    failed = False
    runnable = []
    for m in chosen:
        why = stale(m)
        if why:
            print(f"STALE     {m.name}: {why}", flush=True)
            failed = True
        else:
            runnable.append(m)
    with tempfile.TemporaryDirectory(prefix="tvirt-mutation-") as tmp:
        dest = Path(tmp)
        tree = copy_tree(dest)
        env = environment(dest)
        check_isolated(dest, env)
        log = dest / "pytest.log"
        if not args.no_baseline and runnable:
            tests = list(dict.fromkeys(t for m in runnable for t in m.tests))
            if run_pytest(tree, env, tests, args.timeout, log) != 0:
                print("mutation-check: the tests fail without any mutation:\n" + tail(log))
                return 2
        for m in runnable:
            target = tree / m.path
            original = target.read_text()
            started = time.monotonic()
            try:
                target.write_text(original.replace(m.old, m.new, 1))
                code = run_pytest(tree, env, m.tests, args.timeout, log)
            finally:
                target.write_text(original)
            seconds = time.monotonic() - started
            if code == 1:
                print(f"caught    {m.name} ({seconds:.0f} s)", flush=True)
            elif code == 0:
                print(f"SURVIVED  {m.name}: {m.path}; {' '.join(m.tests)}", flush=True)
                failed = True
            else:
                what = "timed out" if code is None else f"pytest exited {code}"
                print(f"ERROR     {m.name}: {what}\n{tail(log)}", flush=True)
                failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
