"""The live graphical display's pace: how soon to take the next screenshot, which frames
are new, and the figures of the status line. Pure: the caller gives the clock.

A view takes one screenshot at a time (one job on the host's worker, never a loop that
holds it), asks `Pacer.delay` how long to wait, and waits that long or until a key.
Fast while the picture changes or just after a key; slow once it has been still a while.
A frame whose digest is one of the last few (a text cursor blinking between two
pictures) does not count as a change, and once still it is not drawn either: a blinking
cursor reads "still", stays in one of its two states, and costs no drawing. A key
forgets the recent pictures, so its answer is drawn even when it shows an old one late.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# Seconds between screenshots: while the picture changes (or after a key), and still.
FAST = 0.1
SLOW = 1.0
# How long the fast pace lasts after the last change or key.
LIVELY = 2.0
# Frame digests remembered: a frame among them is an old picture coming back, not news.
RECENT = 4
# The window the rates are measured over, in seconds.
WINDOW = 3.0


@dataclass(frozen=True)
class Rates:
    """What the status line says."""

    width: int
    height: int
    fps: float  # frames drawn per second
    bytes_per_second: float  # screenshot bytes from the host per second
    still: bool

    def words(self) -> str:
        size = f"{self.width}x{self.height}" if self.width else "no picture yet"
        rate = self.bytes_per_second
        amount = f"{rate / 1024:.1f} KiB/s" if rate >= 1024 else f"{rate:.0f} B/s"
        pace = "still" if self.still else f"{self.fps:.1f} fps"
        return f"{size}, {pace}, {amount}"


class Pacer:
    """The adaptive pace of one display. Not thread-safe: one caller (the view's loop)."""

    def __init__(self, now: float) -> None:
        self._lively_until = now + LIVELY  # a new view starts fast
        self._recent: deque[bytes] = deque(maxlen=RECENT)
        self.shown: bytes | None = None  # the digest on screen
        self._log: deque[tuple[float, int, bool]] = deque()  # (time, bytes, drawn)
        self.width = 0
        self.height = 0
        self.frames = 0  # frames taken
        self.drawn = 0  # frames drawn

    def frame(self, digest: bytes, size: int, now: float) -> bool:
        """A screenshot arrived: True to draw it (it differs from the picture shown, and is
        not an old picture coming back while still). A picture not among the recent ones
        is a change and keeps the pace fast."""
        self.frames += 1
        seen = digest in self._recent
        if seen:
            self._recent.remove(digest)
        else:
            self._lively_until = now + LIVELY
        self._recent.append(digest)
        # A picture coming back while still (the cursor's other half-blink) is not drawn:
        # a still screen then costs a screenshot a second and no drawing at all.
        new = digest != self.shown and not (seen and self.still(now))
        if new:
            self.shown = digest
            self.drawn += 1
        self._log.append((now, size, new))
        self._trim(now)
        return new

    def sized(self, width: int, height: int) -> None:
        self.width, self.height = width, height

    def key(self, now: float) -> None:
        """A key went to the guest: its answer should show at the fast pace, and be drawn
        however late it comes. The recent pictures are forgotten: the answer may be one of
        them ("a", Backspace, "a"), and once still such a picture would pass for the
        cursor's blink and never be drawn."""
        self._lively_until = now + LIVELY
        self._recent.clear()

    def delay(self, now: float) -> float:
        return FAST if now < self._lively_until else SLOW

    def wait(self, started: float, now: float) -> float:
        """Seconds to wait before the next screenshot, when the last was asked at started:
        the pace counts from its start, so the time the screenshot, its decoding and its
        drawing took is part of the pause, not added to it."""
        return max(0.0, self.delay(now) - (now - started))

    def still(self, now: float) -> bool:
        return now >= self._lively_until

    def rates(self, now: float) -> Rates:
        self._trim(now)
        span = WINDOW
        drawn = sum(1 for _t, _n, new in self._log if new)
        sent = sum(n for _t, n, _new in self._log)
        return Rates(self.width, self.height, drawn / span, sent / span, self.still(now))

    def _trim(self, now: float) -> None:
        while self._log and self._log[0][0] < now - WINDOW:
            self._log.popleft()


def fit(width: int, height: int, columns: int, rows: int, cell: tuple[int, int]) -> tuple[
    int, int
]:
    """The largest columns x rows box that shows a width x height picture whole with its
    aspect ratio kept, on a terminal whose cells are cell = (width, height) pixels."""
    if width <= 0 or height <= 0 or columns <= 0 or rows <= 0:
        return 0, 0
    cell_w, cell_h = max(cell[0], 1), max(cell[1], 1)
    scale = min(columns * cell_w / width, rows * cell_h / height)
    return (
        max(1, min(columns, round(width * scale / cell_w))),
        max(1, min(rows, round(height * scale / cell_h))),
    )



@dataclass(frozen=True)
class Box:
    """Where a picture is drawn: columns x rows cells of cell = (width, height) pixels, each
    showing per_cell pictures pixels with the renderer in use (1x2 for half blocks, the
    cell's own pixels for Kitty and Sixel)."""

    columns: int
    rows: int
    cell: tuple[int, int]
    per_cell: tuple[int, int]

    def pixels(self, width: int, height: int) -> tuple[int, int]:
        """The size to scale a width x height picture to before it is drawn: the box of
        `fit` in the renderer's pixels; (0, 0) when there is no room yet."""
        columns, rows = fit(width, height, self.columns, self.rows, self.cell)
        return columns * self.per_cell[0], rows * self.per_cell[1]
