"""A serial console that floods: key latency and CPU, tvirt against `virsh console`.

Not a test: it prints a table and, with --write, puts it into docs/performance.md.

One TCG guest boots for the run and prints as fast as its serial port allows (a busybox
loop of `echo flood N`). In the same run, on the same flood:
- tvirt, full-screen in a pty (a real terminal's path): its CPU while the tab shows the
  flood, and per round Ctrl+] until the tab says "Detached", then Escape until the
  dashboard is drawn (and, after Ctrl+C ends the flood, the same keys on a quiet console);
- `virsh console` in a pty: its CPU, a key's echo (the guest's tty echoes it into the
  flood), and Ctrl+] until virsh has exited (back at the shell);
- tvirt's console tab in-process (Textual's Pilot): a key's echo, from the key event
  entering the app's queue until the guest's echo has been fed to the tab's emulator.
The pty readers look for words in the raw output instead of emulating a screen, so the
harness's own CPU stays small next to what it measures.

Run: .venv/bin/python -m benchmarks.console_flood [--rounds 7] [--write]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pty
import re
import select
import statistics
import textwrap
import time
from collections.abc import Callable

import libvirt
import psutil

from benchmarks.console_latency import _undefine, boot, env, with_suppressed, write_section
from benchmarks.harness import TVIRT

HEADING = "## Serial console under a flood"
FLOOD = "i=0; while true; do echo flood $i; i=$((i+1)); done"
NUMBER = re.compile(rb"flood (\d+)")
ECHO_KEY = "Z"  # never printed by the flood, so its echo is unmistakable
WINDOW = 8.0  # seconds of flood over which CPU is measured


class RawPty:
    """A program in a pty whose output is read raw and searched, never emulated."""

    def __init__(self, argv: list[str], env_extra: dict[str, str] | None = None) -> None:
        full_env = {**os.environ, "TERM": "xterm-256color", **(env_extra or {})}
        pid, fd = pty.fork()
        if pid == 0:
            os.execvpe(argv[0], argv, full_env)
        self.pid, self.fd = pid, fd
        import fcntl
        import struct
        import termios

        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.tail = b""
        self.log = b""  # the last output, shown on screen when a wait fails
        self.top = -1  # the highest flood number seen

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def pump(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.fd, 1 << 16)
        except OSError:
            return b""
        window = self.tail + data
        numbers = NUMBER.findall(window)
        if numbers:
            self.top = max(self.top, *(int(n) for n in numbers))
        self.tail = window[-256:]
        self.log = (self.log + data)[-(1 << 17):]
        return window

    def drain(self, seconds: float = 0.0) -> None:
        end = time.perf_counter() + seconds
        while self.pump(max(0.0, end - time.perf_counter())) or time.perf_counter() < end:
            pass

    def write(self, data: bytes) -> float:
        os.write(self.fd, data)
        return time.perf_counter()

    def wait(self, needle: bytes, timeout: float, since: float | None = None) -> float:
        """Seconds from `since` (now if None) until needle is in the output."""
        start = time.perf_counter() if since is None else since
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if needle in self.pump(0.05):
                return time.perf_counter() - start
        import pyte

        screen = pyte.Screen(120, 40)
        pyte.ByteStream(screen).feed(self.log)
        shown = "\n".join(line.rstrip() for line in screen.display)
        raise TimeoutError(f"{needle!r} never came; the screen:\n{shown}")

    def wait_exit(self, timeout: float, since: float) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.pump(0.005)
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.pid = 0
                return time.perf_counter() - since
        raise TimeoutError("the program did not exit")

    def close(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def cpu_and_rate(prog: RawPty, seconds: float) -> tuple[float, float]:
    """Percent of one core the program used, and flood lines per second it showed."""
    proc = prog.process
    prog.drain(0.5)
    before, first, start = proc.cpu_times(), prog.top, time.perf_counter()
    prog.drain(seconds)
    after, last, took = proc.cpu_times(), prog.top, time.perf_counter() - start
    used = (after.user + after.system) - (before.user + before.system)
    return 100 * used / took, (last - first) / took


# -- tvirt in a pty ---------------------------------------------------------------
def tvirt_pty(uri: str, name: str, rounds: int, results: dict[str, list[float]]) -> None:
    app = RawPty([TVIRT, "-c", uri], {"ESCDELAY": "10"})
    try:
        app.wait(name.encode(), 60)  # the VM is listed
        app.write(b"/")
        app.drain(0.3)
        app.write(name.encode() + b"\r")
        app.drain(2.0)

        def attach() -> None:
            app.write(b"c")
            app.wait(b"Attached to the console", 30)
            app.drain(1.0)

        def leave(label: str) -> None:
            sent = app.write(b"\x1d")
            results[f"{label}: Ctrl+] to detached"].append(app.wait(b"Detached from", 20, sent))
            sent = app.write(b"\x1b")
            results[f"{label}: Escape to dashboard"].append(
                app.wait(b"Virtual machines", 20, sent))
            app.drain(0.5)

        attach()
        app.drain(2.0)
        cpu, rate = cpu_and_rate(app, WINDOW)
        results["flood: CPU % of one core"].append(cpu)
        results["flood: lines/s shown"].append(rate)
        for _ in range(rounds):
            leave("flood")
            attach()
        app.write(b"\x03")  # Ctrl+C ends the flood: the same keys on a quiet console
        app.wait(b"tvirt-guest#", 20)
        app.drain(1.0)
        for _ in range(rounds):
            leave("quiet")
            attach()
        leave("quiet")
        app.write(b"q")
        app.wait_exit(10, time.perf_counter())
    finally:
        app.close()


# -- virsh console in a pty -------------------------------------------------------
def virsh_pty(uri: str, name: str, rounds: int, results: dict[str, list[float]]) -> None:
    argv = ["virsh", "-c", uri, "console", "--force", name]
    virsh = RawPty(argv)
    try:
        virsh.wait(b"Escape character", 15)
        virsh.drain(1.0)
        cpu, rate = cpu_and_rate(virsh, WINDOW)
        results["flood: CPU % of one core"].append(cpu)
        results["flood: lines/s shown"].append(rate)
        for _ in range(rounds):
            sent = virsh.write(ECHO_KEY.encode())
            results["flood: key echo"].append(virsh.wait(ECHO_KEY.encode(), 20, sent))
            virsh.drain(0.3)
    finally:
        virsh.close()
    for _ in range(rounds):
        virsh = RawPty(argv)
        try:
            virsh.wait(b"Escape character", 15)
            virsh.drain(0.5)
            sent = virsh.write(b"\x1d")
            results["flood: Ctrl+] to back at the shell"].append(virsh.wait_exit(20, sent))
        finally:
            virsh.close()


# -- tvirt's tab in-process: a key's echo -------------------------------------------
async def tvirt_echo(uri: str, name: str, rounds: int) -> list[float]:
    from textual import events

    from tui_helpers import until
    from tvirt.screens.app import TvirtApp
    from tvirt.screens.console import ConsoleScreen

    app = TvirtApp(uris=[uri])
    samples: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: any(vm.name == name
                                       for vm in app.dashboard.table.vms.values()),
                    "the guest", 60)
        rows = app.dashboard.table
        key = next(vm.key for vm in rows.vms.values() if vm.name == name)
        rows.move_cursor(row=rows.get_row_index(key))
        await pilot.pause(1.0)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "consoles")
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        pane = screen.active_pane()
        assert pane is not None
        await until(pilot, lambda: pane.state == "attached", "attached", 20)
        seen = {"echo": False}
        feed: Callable[[bytes], None] = pane.terminal.feed

        def watching(data: bytes) -> None:
            if ECHO_KEY.encode() in data:
                seen["echo"] = True
            feed(data)

        pane.terminal.feed = watching  # type: ignore[method-assign]
        await pilot.pause(2.0)
        assert pane.session is not None
        for _ in range(60):  # the guest may still be booting: wait for its shell
            pane.session.send(b"\r")
            await pilot.pause(1.0)
            if "tvirt-guest#" in pane.terminal.text():
                break
        pane.session.send(FLOOD.encode() + b"\r")
        await pilot.pause(3.0)
        for _ in range(rounds):
            seen["echo"] = False
            start = time.perf_counter()
            event = events.Key(ECHO_KEY, ECHO_KEY)
            event.set_sender(app)
            app._driver.send_message(event)  # type: ignore[union-attr]
            while not seen["echo"]:
                await asyncio.sleep(0.001)
                if time.perf_counter() - start > 20:
                    raise RuntimeError("no echo through the tab")
            samples.append(time.perf_counter() - start)
            await pilot.pause(0.3)
        pane.detach()
        await pilot.pause(0.3)
    return samples


def table(tvirt: dict[str, list[float]], virsh: dict[str, list[float]]) -> str:
    rows = [
        "| under a flood | tvirt | virsh console (pty) | ratio |",
        "| --- | --- | --- | --- |",
    ]
    pairs = [
        ("app CPU, % of one core", "flood: CPU % of one core", "flood: CPU % of one core",
         "{:.0f} %"),
        ("flood lines/s on screen", "flood: lines/s shown", "flood: lines/s shown", "{:.0f}"),
        ("key echo (median)", "flood: key echo", "flood: key echo", "ms"),
        ("Ctrl+] to detached (tvirt) / to the shell (virsh)", "flood: Ctrl+] to detached",
         "flood: Ctrl+] to back at the shell", "ms"),
        ("then Escape to the dashboard drawn", "flood: Escape to dashboard", "", "ms"),
        ("quiet console: Ctrl+] to detached", "quiet: Ctrl+] to detached", "", "ms"),
        ("quiet console: Escape to the dashboard", "quiet: Escape to dashboard", "", "ms"),
    ]
    for label, ours, theirs, unit in pairs:
        mine = statistics.median(tvirt[ours])
        other = statistics.median(virsh[theirs]) if theirs else None

        def show(value: float, unit: str = unit) -> str:
            return f"{value * 1000:.1f} ms" if unit == "ms" else unit.format(value)

        ratio = f"{mine / other:.2f}x" if other else "-"
        rows.append(f"| {label} | {show(mine)} | {show(other) if other else '-'} | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="update docs/performance.md")
    parser.add_argument("--label", default="", help="a heading for this run's table")
    args = parser.parse_args()
    values = env()
    uri = values["TVIRT_TEST_QEMU_URI"]
    name = f"tvirt-bench-flood-{os.getpid()}"
    boot(uri, name, values)
    tvirt: dict[str, list[float]] = {}
    virsh: dict[str, list[float]] = {}
    for store in (tvirt, virsh):
        store.update({k: [] for k in (
            "flood: CPU % of one core", "flood: lines/s shown", "flood: key echo",
            "flood: Ctrl+] to detached", "flood: Escape to dashboard",
            "quiet: Ctrl+] to detached", "quiet: Escape to dashboard",
            "flood: Ctrl+] to back at the shell")})
    try:
        # The tab starts the flood, which goes on in the guest for the rest of the run.
        tvirt["flood: key echo"] = asyncio.run(tvirt_echo(uri, name, args.rounds))
        print("tvirt tab, in-process:", tvirt, flush=True)
        virsh_pty(uri, name, args.rounds, virsh)
        print("virsh:", virsh, flush=True)
        tvirt_pty(uri, name, args.rounds, tvirt)
    finally:
        conn = libvirt.open(uri)
        with_suppressed(lambda: _undefine(conn, name))
        conn.close()
    text = table(tvirt, virsh)
    print(text)
    if args.write:
        write_doc(text, args)


def write_doc(text: str, args: argparse.Namespace) -> None:
    intro = (
        "`benchmarks/console_flood.py` boots the tiny TCG guest and runs "
        f"`{FLOOD}` on its serial console. tvirt (full-screen in a pty) and `virsh console` "
        "(in a pty, read raw) watch the same flood in the same run "
        f"({time.strftime('%Y-%m-%d')}, {args.rounds} rounds of each key, medians, on a "
        "2-CPU test VM shared with other work, so the ratios matter more than the figures):"
    )
    write_section(f"{HEADING}\n\n{wrap(intro)}\n\n{text}\n", HEADING)


def wrap(text: str) -> str:
    return textwrap.fill(text, width=90, break_on_hyphens=False, break_long_words=False)


if __name__ == "__main__":
    main()
