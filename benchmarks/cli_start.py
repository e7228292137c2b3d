"""Start-up time of the plain commands against virsh, on the test driver.

Each command runs `--runs` times (alternating tvirt and virsh, so load on the machine
falls on both alike); the table gives the medians and tvirt's ratio to virsh. `start`
needs a shut-off VM, so it runs on a two-VM test node (vm0001 shut off; the test driver
starts each process from the file, so every run starts it anew); the rest on
test:///default.

    python -m benchmarks.cli_start [--runs N] [--tvirt "python -m ..."] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.harness import TVIRT, scale_node

DEMO = "test:///default"


def seconds(argv: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run. The CPU time varies less
    than the wall clock on a machine shared with other work."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=60)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cases(node: Path) -> list[tuple[str, list[str], list[str]]]:
    """(what, tvirt's arguments, virsh's arguments) for each command measured."""
    two = f"test://{node}"
    return [
        ("--version", ["--version"], ["--version"]),
        ("list", ["-c", DEMO, "list"], ["-c", DEMO, "list", "--all"]),
        ("info VM", ["-c", DEMO, "info", "test"], ["-c", DEMO, "dominfo", "test"]),
        ("start VM", ["-c", two, "start", "vm0001"], ["-c", two, "start", "vm0001"]),
    ]


def measure(tvirt: list[str], runs: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    floor = [sys.executable, "-c", "pass"]
    with scale_node(2) as node:
        for what, ours, theirs in cases(node):
            seconds([*tvirt, *ours])  # warm the page cache once, unmeasured
            mine, virsh = [], []
            for _ in range(runs):
                mine.append(seconds([*tvirt, *ours]))
                virsh.append(seconds(["virsh", *theirs]))
            rows.append(_row(what, mine, virsh))
    rows.append(_row("python -c pass", [seconds(floor) for _ in range(runs)], []))
    return rows


def _row(what: str, mine: list[tuple[float, float]],
         virsh: list[tuple[float, float]]) -> dict[str, object]:
    wall = statistics.median(w for w, _cpu in mine)
    cpu = statistics.median(c for _w, c in mine)
    row: dict[str, object] = {"command": what, "tvirt_s": round(wall, 4),
                              "tvirt_cpu_s": round(cpu, 4), "virsh_s": None, "ratio": None}
    if virsh:
        theirs = statistics.median(w for w, _cpu in virsh)
        row.update(virsh_s=round(theirs, 4), ratio=round(wall / theirs, 1))
    return row


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| command | tvirt wall (median) | tvirt CPU | virsh wall (median) | "
             "tvirt / virsh |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        virsh = f"{row['virsh_s']:.3f} s" if row["virsh_s"] is not None else "-"
        ratio = f"{row['ratio']}x" if row["ratio"] is not None else "-"
        lines.append(f"| `{row['command']}` | {row['tvirt_s']:.3f} s | "
                     f"{row['tvirt_cpu_s']:.3f} s | {virsh} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--tvirt", default=TVIRT, help="the command that runs tvirt")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = measure(shlex.split(args.tvirt), args.runs)
    print(json.dumps(rows, indent=2) if args.json else table(rows))


if __name__ == "__main__":
    main()
