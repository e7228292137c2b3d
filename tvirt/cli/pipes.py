"""Output whose reader leaves early: `tvirt keys | head -1`, `tvirt watch | head`.

When the reader closes the pipe, writing raises BrokenPipeError. A command then keeps
going (an action half done must still finish and report its exit code) and its further
output is dropped; `closed` tells commands that print forever (watch) to stop. The
descriptor is pointed at /dev/null, so the bytes already buffered, and Python's own
flush at exit, go nowhere instead of raising a second time.

Any other failure to write the output (`tvirt list > /dev/full`) becomes OutputError,
naming where the output went, which the CLI prints as one sentence.
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import threading
from collections.abc import Iterator
from typing import Any, TextIO

from tvirt.errors import TvirtError, os_sentence

closed = threading.Event()


class OutputError(OSError, TvirtError):
    """stdout cannot be written (a full disk); filename is where it goes."""

    def __init__(self, errno: int | None, strerror: str, filename: str) -> None:
        OSError.__init__(self, errno, strerror, filename)

    def __str__(self) -> str:
        return os_sentence(self, "Could not write the output to")


class GuardedStream:
    """A text stream that swallows the reader's departure and remembers it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if not closed.is_set():
            try:
                self._stream.write(text)
            except BrokenPipeError:
                reader_gone(self._stream)
            except OSError as exc:
                raise _output_failed(self._stream, exc) from None
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if closed.is_set():
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            reader_gone(self._stream)
        except OSError as exc:
            raise _output_failed(self._stream, exc) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def reader_gone(stream: TextIO) -> None:
    closed.set()
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, stream.fileno())
        finally:
            os.close(devnull)
    # What failed to go out is still buffered; it now flushes into /dev/null.
    with contextlib.suppress(OSError, ValueError):
        stream.flush()


def _output_failed(stream: TextIO, exc: OSError) -> OutputError:
    """Output that cannot be written (`tvirt list > /dev/full`): the error, once, naming
    where the output went; what is still buffered is dropped so the exit is clean."""
    where = "standard output"
    with contextlib.suppress(OSError, ValueError):
        where = os.readlink(f"/proc/self/fd/{stream.fileno()}")
    reader_gone(stream)
    return OutputError(exc.errno, exc.strerror or str(exc), where)


def reader_left(stream: TextIO | None = None) -> bool:
    """True once nobody reads stdout any more, even if nothing was written since: a
    pipe's write end polls as an error when its read end is closed. For commands that
    wait quietly (watch between events)."""
    if closed.is_set():
        return True
    stream = stream or sys.stdout
    try:
        poller = select.poll()
        poller.register(stream.fileno(), 0)  # POLLERR and POLLHUP are always reported
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    if any(ev & (select.POLLERR | select.POLLHUP) for _fd, ev in events):
        reader_gone(stream)
        return True
    return False


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Guard sys.stdout while the block runs, and flush it before leaving, since a
    block-buffered pipe often fails only at that last flush."""
    saved = sys.stdout
    if not isinstance(sys.stdout, GuardedStream):
        closed.clear()  # a new run (tests call main() many times in one process)
        sys.stdout = GuardedStream(sys.stdout)
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        finally:
            sys.stdout = saved
