"""Escape from the consoles screen back to the dashboard drawn, alone (no guest needed).

Not a test: it prints the median. tvirt runs full-screen in a pty on test:///default (or
--uri); each round presses c (the test driver cannot open a console, so the tab shows
why, detached) and then Escape, timed until the dashboard's "Virtual machines" title is in
the raw output. With --profile FILE the app is profiled (cProfile) from each Escape until
the dashboard is drawn, and the stats of those windows are written there (read them with
`python -m pstats FILE`).

Run: .venv/bin/python -m benchmarks.escape_redraw [--rounds 15] [--profile FILE] [--write]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time

from benchmarks.console_flood import RawPty, wrap
from benchmarks.console_latency import write_section
from benchmarks.harness import TVIRT

HEADING = "## Escape back to the dashboard (benchmarks/escape_redraw.py)"

# The app with a profiler that SIGUSR1 turns on and off; its stats are written at exit.
PROFILED = """
import cProfile, signal, sys
from tvirt.cli import main
prof, on = cProfile.Profile(), [False]
def toggle(*_):
    (prof.disable if on[0] else prof.enable)()
    on[0] = not on[0]
signal.signal(signal.SIGUSR1, toggle)
try:
    main(sys.argv[2:])
finally:
    prof.disable()
    prof.dump_stats(sys.argv[1])
"""


def rounds(uri: str, count: int, profile: str) -> list[float]:
    argv = [TVIRT, "-c", uri]
    if profile:
        argv = [sys.executable, "-c", PROFILED, os.path.abspath(profile), "-c", uri]
    app = RawPty(argv, {"ESCDELAY": "10"})
    samples: list[float] = []
    try:
        app.wait(b"Virtual machines", 60)
        app.drain(2.0)
        for _ in range(count):
            app.write(b"c")
            app.wait(b"back to the dashboard", 20)
            app.drain(0.5)
            if profile:
                os.kill(app.pid, signal.SIGUSR1)
            sent = app.write(b"\x1b")
            samples.append(app.wait(b"Virtual machines", 20, sent))
            if profile:
                app.drain(0.1)  # the rest of that frame's work
                os.kill(app.pid, signal.SIGUSR1)
            app.drain(0.5)
        app.write(b"q")
        app.wait_exit(30, 0.0)
    finally:
        app.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uri", default="test:///default")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--profile", default="", help="write the app's cProfile stats here")
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    samples = rounds(args.uri, args.rounds, args.profile)
    shown = ", ".join(f"{s * 1000:.0f}" for s in samples)
    line = (f"Escape to the dashboard drawn: median {statistics.median(samples) * 1000:.1f} ms "
            f"({shown} ms)")
    print(line)
    if args.write and not args.profile:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        intro = (f"tvirt on {args.uri} in a 120x40 pty (ESCDELAY=10), {args.rounds} rounds of "
                 f"c then Escape, {time.strftime('%Y-%m-%d')}, load average {load}:")
        write_section(f"{HEADING}\n\n{wrap(intro)}\n\n{line}.\n", HEADING)


if __name__ == "__main__":
    main()
