"""`tvirt console VM`: the raw serial console on this terminal, like `virsh console`.

No alternate screen and no redrawing: the guest's bytes go straight to stdout, so it
suits line-oriented use and screen readers. The escape key (Ctrl+] unless the config's
[console] escape says otherwise) leaves. The terminal's settings are always restored.
Without a terminal on stdin, lines are forwarded as they are read.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import re
import select
import sys
import termios
import time
import tty
from concurrent.futures import TimeoutError as FutureTimeout

from tvirt import config
from tvirt.cli.plumbing import EXIT_FAILED, EXIT_OK, CLIError, connect, one_vm
from tvirt.console import (
    Caller,
    ConsoleBusy,
    ConsoleError,
    ConsoleSession,
    escape_byte,
    escape_label,
)

# Terminal control sequences (CSI, OSC, two-byte ESC), dropped when stdout is no terminal.
_CONTROL = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
# What a control sequence cut off at the end of a read looks like so far.
_PARTIAL = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?)?")


class PlainText:
    """Turns console output into plain lines for a stdout that is no terminal. A control
    sequence may arrive cut in two reads, so a cut-off tail waits for the next read."""

    def __init__(self) -> None:
        self.held = b""

    def __call__(self, data: bytes) -> bytes:
        data, self.held = self.held + data, b""
        cut = data.rfind(b"\x1b")
        if cut != -1 and _PARTIAL.fullmatch(data, cut):
            data, self.held = data[:cut], data[cut:]
        return _CONTROL.sub(b"", data).replace(b"\r", b"")


# After stdin ends in line mode, keep printing the guest's answer until it is quiet this long.
# Shells that ask the terminal for the cursor position (ESC[6n, as busybox does) wait about
# a second for an answer that no terminal gives here, so quiet means well over a second.
DRAIN_QUIET = 1.5
DRAIN_MAX = 10.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "console",
        help="attach this terminal to a VM's serial console (like virsh console)",
        description="Attach to a VM's serial console. The escape key (Ctrl+] by default, "
        "[console] escape in the config) leaves.",
    )
    cmd.add_argument("vm")
    cmd.add_argument("--host", help="host label, URI or hostname when names clash")
    cmd.add_argument(
        "--force",
        action="store_true",
        help="take the console over from another client that holds it",
    )
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    spec = config.load().console_escape
    manager, inventory = connect(args)
    try:
        vm = one_vm(inventory, args.vm, args.host)
        worker = manager.get(vm.host_id)
        host = inventory.hosts.get(vm.host_id)
        label = host.label if host else vm.host_id
        return _attach(worker, vm.uuid, vm.name, label, args.force, spec, args.timeout)
    except ConsoleError as exc:
        raise CLIError(str(exc)) from None
    finally:
        manager.stop()


def _attach(
    worker: Caller, uuid: str, name: str, label: str, force: bool, spec: str, timeout: float
) -> int:
    output: queue.Queue[bytes | None] = queue.Queue()
    closed: list[str] = []
    wake_r, wake_w = os.pipe()

    def on_output(data: bytes) -> None:
        output.put(data)
        with contextlib.suppress(OSError):
            os.write(wake_w, b"o")

    def on_closed(reason: str) -> None:
        closed.append(reason)
        output.put(None)
        with contextlib.suppress(OSError):
            os.write(wake_w, b"c")

    session = ConsoleSession(worker, uuid, name, label, on_output, on_closed)
    try:
        _open(session, force, timeout)
        interactive = sys.stdin.isatty()
        print(
            f"Connected to the console of {name} on {label}. "
            f"Escape key: {escape_label(spec)}.",
            file=sys.stderr,
            flush=True,
        )
        if interactive:
            code = _raw_loop(session, output, wake_r, escape_byte(spec))
        else:
            code = _line_loop(session, output, wake_r, escape_byte(spec))
        if closed:
            print(f"\r\n{closed[0]}", file=sys.stderr, flush=True)
            return EXIT_FAILED
        return code
    finally:
        with contextlib.suppress(Exception):
            session.close().result(5)
        os.close(wake_r)
        os.close(wake_w)


def _open(session: ConsoleSession, force: bool, timeout: float) -> None:
    try:
        session.open(force=force).result(timeout)
    except ConsoleBusy as exc:
        if force or not sys.stdin.isatty():
            raise ConsoleError(f"{exc} Use --force to take it over.") from None
        answer = input(f"{exc}\nTake it over? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            raise ConsoleError("Left the other client attached; nothing changed.") from None
        session.open(force=True).result(timeout)
    except FutureTimeout:
        raise ConsoleError(f"No answer from the host within {timeout:g} s.") from None


def _flush_output(
    output: queue.Queue[bytes | None], out_fd: int, plain: PlainText | None = None
) -> bool:
    """Write what the guest printed; False once the console has closed. Plain output (not
    a terminal) drops control sequences and carriage returns, leaving lines."""
    while True:
        try:
            data = output.get_nowait()
        except queue.Empty:
            return True
        if data is None:
            return False
        if plain is not None:
            data = plain(data)
        _write_all(out_fd, data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _drain_wake(wake_r: int) -> None:
    with contextlib.suppress(BlockingIOError, OSError):
        os.read(wake_r, 4096)


def _raw_loop(
    session: ConsoleSession, output: queue.Queue[bytes | None], wake_r: int, escape: bytes
) -> int:
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(in_fd)
    try:
        tty.setraw(in_fd)
        while True:
            ready, _, _ = select.select([in_fd, wake_r], [], [])
            if wake_r in ready:
                _drain_wake(wake_r)
                if not _flush_output(output, out_fd):
                    return EXIT_FAILED
            if in_fd in ready:
                data = os.read(in_fd, 4096)
                if not data:
                    return EXIT_OK
                head, found, _rest = data.partition(escape)
                session.send(head)
                if found:
                    return EXIT_OK
    finally:
        termios.tcsetattr(in_fd, termios.TCSAFLUSH, saved)
        os.write(out_fd, b"\r\n")


def _line_loop(
    session: ConsoleSession, output: queue.Queue[bytes | None], wake_r: int, escape: bytes
) -> int:
    """No terminal: forward whole lines (Enter is sent as a carriage return)."""
    in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    plain = None if os.isatty(out_fd) else PlainText()
    pending = b""
    while True:
        ready, _, _ = select.select([in_fd, wake_r], [], [])
        if wake_r in ready:
            _drain_wake(wake_r)
            if not _flush_output(output, out_fd, plain):
                return EXIT_FAILED
        if in_fd in ready:
            data = os.read(in_fd, 4096)
            if not data:
                break
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                head, found, _rest = line.partition(escape)
                session.send(head + (b"" if found else b"\r"))
                if found:
                    return EXIT_OK
    if pending:
        session.send(pending.partition(escape)[0] + b"\r")
    # stdin ended: print the guest's answer until it goes quiet.
    deadline = time.monotonic() + DRAIN_MAX
    while time.monotonic() < deadline:
        ready, _, _ = select.select([wake_r], [], [], DRAIN_QUIET)
        if not ready:
            break
        _drain_wake(wake_r)
        if not _flush_output(output, out_fd, plain):
            return EXIT_FAILED
    return EXIT_OK
