"""Plain mode: what the commands print is lines of words and nothing else.

Every command prints through a filter that drops terminal control bytes (escape
sequences, carriage returns, backspaces, bells...), so a VM or host name that holds
them cannot move a screen reader's review cursor, repaint a braille line or recolour
the terminal. Plain mode itself (no full-screen app) turns on when stdout is not a
terminal or TERM=dumb.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

# C0 controls except tab and newline, DEL, and the C1 controls (U+0080..U+009F;
# U+009B is a one-character CSI on some terminals).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A whole escape sequence (CSI ..., OSC ... BEL/ST, or ESC plus one character), so that
# "\x1b[31m" disappears entirely instead of leaving "[31m" behind.
_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]"
)


def reason() -> str:
    """Why plain mode is on ("" when it is off)."""
    if os.environ.get("TERM", "") == "dumb":
        return "TERM=dumb"
    if not sys.stdout.isatty():
        return "stdout is not a terminal"
    return ""


def clean(text: str) -> str:
    """Text without escape sequences or control bytes; newlines and tabs stay."""
    text = _SEQUENCE.sub("", text.replace("\r\n", "\n"))
    return _CONTROL.sub("?", text)


class CleanWriter:
    """A text stream that writes clean() text to the stream it wraps.

    Everything else (buffer, fileno, isatty, encoding) is the wrapped stream's, so a
    command that must pass raw bytes (a serial console) writes to .buffer as before.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(clean(text))
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def filtered() -> Iterator[None]:
    """Filter sys.stdout and sys.stderr while the block runs."""
    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, CleanWriter):
        sys.stdout = CleanWriter(sys.stdout)
    if not isinstance(sys.stderr, CleanWriter):
        sys.stderr = CleanWriter(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
