"""ssh handshakes per minute of the Gluster view ticking, with connection sharing on and
off, counted by the server.

The benchmark starts an sshd of its own on a free port of 127.0.0.1 (the test bed's sshd
settings and host keys, so the test bed's client key and host-key checking work; the test
bed's own sshd is not touched), logging at LogLevel VERBOSE to a file of its own. Every
ssh connection that authenticates is one "Accepted publickey" line there; a command that
rides on a shared connection makes none. The app runs headless (the real TvirtApp, live
stats on) connected to `qemu+ssh://root@127.0.0.1:PORT/system`, opens the Gluster view on
that host (the test bed's volume tvirt-test) and lets it tick every 10 s: the first minute
from opening the view, then a second, steady minute.

    .venv/bin/python -m benchmarks.ssh_handshakes [--minutes 2] [--write]

With --write the table goes into docs/performance.md ("SSH handshakes, last run").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.console_latency import wrap, write_section  # noqa: E402
from benchmarks.harness import known_port, testbed  # noqa: E402
from tui_helpers import until  # noqa: E402
from tvirt import sshmux  # noqa: E402
from tvirt.model import HostState  # noqa: E402
from tvirt.screens.app import TvirtApp  # noqa: E402
from tvirt.screens.gluster_view import GlusterScreen, open_gluster  # noqa: E402

HEADING = "## SSH handshakes"
SSHD = "/usr/sbin/sshd"
TESTBED_SSHD_CONFIG = Path("/run/tvirt-testbed/sshd_config")
ACCEPTED = "Accepted publickey"  # a connection authenticated: one handshake
SESSION = "Starting session: command"  # one command run, on its own or shared connection
# The test bed sshd's own lines that name its place; ours get their own.
NOT_COPIED = ("Port ", "ListenAddress ", "PidFile ", "LogLevel ")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def counting_sshd() -> Iterator[tuple[int, Path]]:
    """An sshd of our own (the test bed's settings), its port and its log."""
    with tempfile.TemporaryDirectory(prefix="tvirt-bench-sshd-") as tmp:
        port = free_port()
        config = Path(tmp) / "sshd_config"
        log = Path(tmp) / "sshd.log"
        kept = [line for line in TESTBED_SSHD_CONFIG.read_text().splitlines()
                if not line.startswith(NOT_COPIED)]
        config.write_text("\n".join([
            *kept, f"Port {port}", "ListenAddress 127.0.0.1",
            f"PidFile {tmp}/sshd.pid", "LogLevel VERBOSE", "",
        ]))
        subprocess.run([SSHD, "-t", "-f", str(config)], check=True)
        proc = subprocess.Popen([SSHD, "-D", "-f", str(config), "-E", str(log)])
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.1)
            else:
                raise SystemExit(f"the benchmark's sshd did not listen on port {port}")
            with known_port(port):
                yield port, log
        finally:
            proc.terminate()
            proc.wait(10)


def accepted(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if ACCEPTED in line)


def counts(log: Path) -> tuple[int, int]:
    """Handshakes and commands the sshd has logged so far."""
    lines = log.read_text().splitlines()
    return sum(ACCEPTED in line for line in lines), sum(SESSION in line for line in lines)


@dataclass
class Minute:
    handshakes: int
    commands: int
    ticks: int  # collections started


@dataclass
class Run:
    sharing: bool
    volumes: int
    connect: int  # handshakes until the host was connected (libvirt's own ssh)
    minutes: list[Minute]


async def measure(uri: str, log: Path, sharing: bool, minutes: int) -> Run:
    sshmux.close_all()
    sshmux.set_sharing(sharing)
    start = accepted(log)
    app = TvirtApp([uri])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: uri in app.hosts
                    and app.hosts[uri].state is HostState.CONNECTED, "the host", 120)
        connect = accepted(log) - start
        open_gluster(app, uri)
        await until(pilot, lambda: isinstance(app.screen, GlusterScreen), "the view")
        view = app.screen
        assert isinstance(view, GlusterScreen)
        marks = [(*counts(log), 0)]
        for _ in range(minutes):
            await pilot.pause(60.0)
            marks.append((*counts(log), view.ticks_started))
        state = view.state
        volumes = len(state.volumes) if state is not None else 0
        if state is not None and state.error:
            raise SystemExit(f"the Gluster view failed: {state.error}")
    sshmux.close_all()
    return Run(sharing, volumes, connect, [
        Minute(*(a - b for a, b in zip(after, before, strict=True)))
        for before, after in pairwise(marks)
    ])


def table(runs: list[Run]) -> str:
    on = next(r for r in runs if r.sharing)
    off = next(r for r in runs if not r.sharing)
    per_tick = 2 + 3 * off.volumes
    rows = [
        f"| minute (N = {off.volumes} volume) | ticks on / off | commands on / off "
        f"| handshakes, sharing on | handshakes, sharing off | off / on "
        f"| 2 + 3·N = {per_tick} per tick, off's ticks |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, (a, b) in enumerate(zip(on.minutes, off.minutes, strict=True)):
        which = "first, from opening the view" if index == 0 else f"minute {index + 1}"
        ratio = f"{b.handshakes / a.handshakes:.0f}x" if a.handshakes else "none on"
        rows.append(f"| {which} | {a.ticks} / {b.ticks} | {a.commands} / {b.commands} "
                    f"| {a.handshakes} | {b.handshakes} | {ratio} | {b.ticks * per_tick} |")
    if len(on.minutes) > 1:
        total_on = sum(m.handshakes for m in on.minutes)
        total_off = sum(m.handshakes for m in off.minutes)
        ticks_off = sum(m.ticks for m in off.minutes)
        ratio = f"{total_off / total_on:.0f}x" if total_on else "none on"
        rows.append(
            f"| all {len(on.minutes)}, per minute | | "
            f"| {total_on / len(on.minutes):.1f} | {total_off / len(off.minutes):.1f} "
            f"| {ratio} | {ticks_off * per_tick / len(off.minutes):.1f} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()
    env = testbed()
    with counting_sshd() as (port, log):
        uri = f"qemu+ssh://root@127.0.0.1:{port}/system?no_tty=1"
        runs = [asyncio.run(measure(uri, log, sharing, args.minutes))
                for sharing in (True, False)]
    load = os.getloadavg()
    intro = (
        f"`benchmarks/ssh_handshakes.py`: the real app, headless, on the test bed's host "
        f"through an sshd of the benchmark's own that logs every accepted connection; the "
        f"Gluster view open on volume {env['TVIRT_TEST_GLUSTER_VOLUME']} and ticking every "
        f"10 s. Handshakes (accepted connections) and commands (sessions) counted by that "
        f"sshd, per minute; ticks are the view's collections started in that minute. "
        f"Connecting the host "
        f"(libvirt's own ssh) took {runs[0].connect} (on) and {runs[1].connect} (off) "
        f"handshakes before the first minute. Load average "
        f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f}."
    )
    text = f"{HEADING}\n\n{wrap(intro)}\n\n{table(runs)}\n"
    print(text)
    if args.write:
        write_section(text, HEADING)


if __name__ == "__main__":
    main()
