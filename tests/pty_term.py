"""Run a real program in a pseudo-terminal and read its screen through pyte.

A reader thread copies every byte the program writes into a pyte screen and a raw
log with timestamps, so tests can ask what the screen shows, where the terminal
cursor is, and how many bytes arrived in a quiet period.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Sequence

import pyte

KEYS = {
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "tab": "\t",
    "enter": "\r",
    "escape": "\x1b",
    "shift+tab": "\x1b[Z",
    "backspace": "\x7f",
    "space": " ",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "ctrl+c": "\x03",
    "ctrl+p": "\x10",
    "ctrl+b": "\x02",
    "ctrl+s": "\x13",
    "ctrl+]": "\x1d",
    "f2": "\x1bOQ",
    "f3": "\x1bOR",
}


class Terminal:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        columns: int = 120,
        lines: int = 36,
    ) -> None:
        self.columns, self.lines = columns, lines
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.chunks: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        full_env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns),
                    "LINES": str(lines), **(env or {})}
        full_env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=full_env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        _LIVE.add(self)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        # The reader owns the master fd and closes it once the program is gone (EIO).
        # Closed from close() instead, its number was reused by the next Terminal's pty
        # while this loop still read it: the old reader took bytes of the new program's
        # screen, which then showed torn escape sequences, or never showed what a test
        # waited for.
        try:
            while True:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                with self._lock:
                    self.raw += data
                    self.chunks.append((time.monotonic(), data))
                    self.stream.feed(data)
        finally:
            os.close(self.master)

    # -- input ----------------------------------------------------------------
    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def press(self, *keys: str) -> None:
        for key in keys:
            self.send(KEYS.get(key, key))
            time.sleep(0.15)

    # -- output ---------------------------------------------------------------
    def display(self) -> list[str]:
        with self._lock:
            return list(self.screen.display)

    def text(self) -> str:
        return "\n".join(self.display())

    def cursor(self) -> tuple[int, int]:
        with self._lock:
            return self.screen.cursor.x, self.screen.cursor.y

    def cursor_hidden(self) -> bool:
        with self._lock:
            return bool(self.screen.cursor.hidden)

    def line_at_cursor(self) -> str:
        _x, y = self.cursor()
        return self.display()[y]

    def text_from_cursor(self) -> str:
        x, y = self.cursor()
        return self.display()[y][x:]

    def forget_drawn(self) -> None:
        """Start counting the lines drawn on afresh (see lines_drawn)."""
        with self._lock:
            self.screen.dirty.clear()

    def lines_drawn(self) -> set[int]:
        """Lines (from 0) that written text or erasing touched since forget_drawn; a
        cursor move alone touches none."""
        with self._lock:
            return set(self.screen.dirty)

    def bytes_between(self, start: float, end: float) -> bytes:
        with self._lock:
            return b"".join(data for when, data in self.chunks if start <= when < end)

    def wait_for(self, predicate: Callable[[], object], timeout: float = 60.0,
                 what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(
            f"timed out after {timeout:g} s waiting for {what}; screen:\n{self.text()}"
        )

    def wait_quiet(self, quiet: float = 1.0, timeout: float = 60.0) -> None:
        """Until nothing has been written for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                last = self.chunks[-1][0] if self.chunks else 0.0
            if time.monotonic() - last >= quiet:
                return
            time.sleep(0.05)
        raise AssertionError(f"still writing after {timeout:g} s")

    def close(self) -> None:
        _LIVE.discard(self)
        if self.proc.poll() is None:
            with_suppress(lambda: os.killpg(self.proc.pid, signal.SIGTERM))
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                with_suppress(lambda: os.killpg(self.proc.pid, signal.SIGKILL))
                self.proc.wait(5)
        # The reader ends when no process holds the terminal any more, and closes it.
        self._reader.join(10)


# Apps a failed test did not close: stop them when pytest exits, so no orphan keeps
# running in a pty that nobody reads.
_LIVE: set[Terminal] = set()
atexit.register(lambda: [term.close() for term in list(_LIVE)])


def with_suppress(fn: Callable[[], object]) -> None:
    try:
        fn()
    except OSError:
        pass
