"""A terminal emulator widget: pyte keeps the screen, this widget draws it and encodes keys.

It knows nothing of libvirt. Bytes come in through ``feed``; keys go out through the
``send`` function it is given. The escape key is never sent: it posts ``EscapePressed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyte
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Offset, Region
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget

DEFAULT_SIZE = (80, 24)
HISTORY_LINES = 5000
# A screen that scrolls as a whole is redrawn at most this often: frames in between
# would show lines no one can read, and a full redraw is the widget's dearest work.
SCROLL_FRAME = 1 / 30

# Keys with a fixed encoding (xterm, as a Linux console or busybox expects).
_KEYS: dict[str, bytes] = {
    "enter": b"\r",
    "tab": b"\t",
    "shift+tab": b"\x1b[Z",
    "backspace": b"\x7f",
    "ctrl+h": b"\x08",
    "escape": b"\x1b",
    "home": b"\x1b[H",
    "end": b"\x1b[F",
    "insert": b"\x1b[2~",
    "delete": b"\x1b[3~",
    "pageup": b"\x1b[5~",
    "pagedown": b"\x1b[6~",
    "f1": b"\x1bOP",
    "f2": b"\x1bOQ",
    "f3": b"\x1bOR",
    "f4": b"\x1bOS",
    "f5": b"\x1b[15~",
    "f6": b"\x1b[17~",
    "f7": b"\x1b[18~",
    "f8": b"\x1b[19~",
    "f9": b"\x1b[20~",
    "f10": b"\x1b[21~",
    "f11": b"\x1b[23~",
    "f12": b"\x1b[24~",
    "ctrl+@": b"\x00",
    "ctrl+space": b"\x00",
    "ctrl+backslash": b"\x1c",
    "ctrl+right_square_bracket": b"\x1d",
    "ctrl+circumflex_accent": b"\x1e",
    "ctrl+underscore": b"\x1f",
}
_ARROWS = {"up": b"A", "down": b"B", "right": b"C", "left": b"D"}
_MODIFIED = {"shift": 2, "alt": 3, "shift+alt": 4, "ctrl": 5, "ctrl+shift": 6}

# Keys kept by the widget while attached: they scroll instead of reaching the guest.
SCROLL_UP, SCROLL_DOWN = "shift+pageup", "shift+pagedown"
# DEC private mode 1 (application cursor keys), as pyte stores private modes.
DECCKM = 1 << 5


def encode_key(key: str, character: str | None, *, app_cursor: bool = False) -> bytes | None:
    """The bytes a terminal sends for a Textual key; None for keys it cannot send."""
    if key in _ARROWS:
        return (b"\x1bO" if app_cursor else b"\x1b[") + _ARROWS[key]
    if key in _KEYS:
        return _KEYS[key]
    modifiers, _, base = key.rpartition("+")
    if base in _ARROWS and modifiers in _MODIFIED:
        return b"\x1b[1;%d" % _MODIFIED[modifiers] + _ARROWS[base]
    if modifiers == "ctrl" and len(base) == 1 and base.isalpha():
        return bytes([ord(base.lower()) & 0x1F])
    if modifiers == "alt" and character:
        return b"\x1b" + character.encode()
    if character and (character.isprintable() or character in "\r\t\x1b"):
        return character.encode()
    if character and len(character) == 1 and ord(character) < 0x20:
        return character.encode()
    return None


class _Screen(pyte.HistoryScreen):
    """pyte's screen, with its answers (cursor position, device attributes) sent back.

    HistoryScreen wraps every event by a Python ``__getattribute__`` that runs on every
    attribute read, which made it half of a flood's cost (a million calls for 5,000
    lines). Plain attribute access is restored here; the wrapper's two jobs are done
    where they matter: ``feed`` returns to the bottom before output (``to_bottom``), and
    paging hides the cursor away from the bottom (``after_event``)."""

    __getattribute__ = object.__getattribute__

    def __init__(self, columns: int, lines: int, reply: Callable[[bytes], object]) -> None:
        super().__init__(columns, lines, history=HISTORY_LINES, ratio=0.5)
        self._reply = reply

    def to_bottom(self) -> None:
        """Out of the history, back to the live screen (what output does)."""
        while self.history.position < self.history.size:
            self.next_page()

    def prev_page(self) -> None:
        super().prev_page()
        self.after_event("prev_page")

    def next_page(self) -> None:
        super().next_page()
        self.after_event("next_page")

    def write_process_input(self, data: str) -> None:
        self._reply(data.encode())


_COLOURS = {"brown": "yellow", "brightbrown": "bright_yellow"}


def _colour(name: str) -> str | None:
    if name == "default":
        return None
    if name in _COLOURS:
        return _COLOURS[name]
    if name.startswith("bright"):
        return "bright_" + name[6:]
    if len(name) == 6:
        return "#" + name
    return name


_style_cache: dict[tuple[Any, ...], Style] = {}


def _style(char: Any, cursor: bool) -> Style:
    key = (
        char.fg,
        char.bg,
        char.bold,
        char.italics,
        char.underscore,
        char.strikethrough,
        char.reverse,
        cursor,
    )
    style = _style_cache.get(key)
    if style is None:
        try:
            style = Style(
                color=_colour(char.fg),
                bgcolor=_colour(char.bg),
                bold=char.bold or None,
                italic=char.italics or None,
                underline=char.underscore or None,
                strike=char.strikethrough or None,
                reverse=(char.reverse != cursor) or None,
            )
        except Exception:  # an odd colour name from the guest: draw it plainly
            style = Style(reverse=(char.reverse != cursor) or None)
        _style_cache[key] = style
    return style


class TerminalView(Widget, can_focus=True):
    """Draws a pyte screen; keys become bytes for ``send``."""

    DEFAULT_CSS = """
    TerminalView { height: 1fr; width: 1fr; background: black; color: white; }
    """

    class EscapePressed(Message):
        """The configured escape key: the console should detach."""

    def __init__(
        self,
        send: Callable[[bytes], bool],
        escape_key: str,
        *,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self._send = send
        self.escape_key = escape_key
        columns, lines = DEFAULT_SIZE
        self.term = _Screen(columns, lines, self._answer)
        self.stream = pyte.ByteStream(self.term)
        self.attached = False
        self.cursor_visible = True
        self._last_full = 0.0  # when the last whole-screen redraw was asked for
        self._full_timer: Timer | None = None  # a whole-screen redraw that is due

    # -- output ---------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self.term.to_bottom()
        cursor_before = self.term.cursor.y
        self.stream.feed(data)
        # Redraw only the rows pyte marked as changed (and the cursor's old and new rows):
        # a typed character costs one row, not the whole screen.
        dirty = self.term.dirty
        dirty.update((cursor_before, self.term.cursor.y))
        width = self.size.width
        if not self.shown:
            pass  # nothing to draw: on_show redraws it whole
        elif len(dirty) >= self.term.lines // 2 or not width:
            self._redraw_soon()
        elif self._full_timer is None:  # a due whole redraw covers these rows too
            for y in dirty:
                self.refresh(Region(0, y, width, 1))
        dirty.clear()
        self._place_terminal_cursor()

    @property
    def shown(self) -> bool:
        """On the current screen and in the active tab (a hidden tab is not composed)."""
        return self.screen.is_current and self.is_on_screen

    def _redraw_soon(self) -> None:
        """A whole redraw now, or at the next SCROLL_FRAME if one was just drawn: a flood
        skips the frames in between, and the last one always shows what came last."""
        if self._full_timer is not None:
            return
        wait = self._last_full + SCROLL_FRAME - time.monotonic()
        if wait <= 0:
            self._redraw()
        else:
            self._full_timer = self.set_timer(wait, self._redraw)

    def _redraw(self) -> None:
        self._full_timer = None
        self._last_full = time.monotonic()
        self.refresh()

    def on_show(self) -> None:
        self.refresh()

    def reader_offset(self) -> Offset | None:
        """Screen-reader mode (screens/reader.py): attached, the guest's cursor; detached,
        the start of the pane's status line, which says why and what the keys do."""
        content = self.content_region
        if self.attached:
            cursor = self.term.cursor
            if cursor.x < content.width and cursor.y < content.height:
                return Offset(content.x + cursor.x, content.y + cursor.y)
            return None
        status = self.parent.query(".console-status") if self.parent is not None else None
        if status:
            region = status.first().content_region
            return region.offset if region.area else None
        return None

    def _place_terminal_cursor(self) -> None:
        """In screen-reader mode the real terminal cursor sits on the guest's cursor, which
        is what braille displays and console screen readers follow."""
        if not (getattr(self.app, "screen_reader", False) and self.attached and self.has_focus):
            return
        content = self.content_region
        cursor = self.term.cursor
        if cursor.x < content.width and cursor.y < content.height:
            self.app.cursor_position = Offset(content.x + cursor.x, content.y + cursor.y)

    def _answer(self, data: bytes) -> None:
        # Replies to the guest's queries (ESC[6n and the like) go only to a live console.
        if self.attached:
            self._send(data)

    def text(self) -> str:
        """What is on the visible screen, one line per row, trailing blanks dropped."""
        return "\n".join(line.rstrip() for line in self.term.display)

    def transcript(self) -> str:
        """Scrollback plus screen, as plain text."""
        columns = self.term.columns
        rows = [
            *self.term.history.top,
            *(self.term.buffer[y] for y in range(self.term.lines)),
            *self.term.history.bottom,
        ]
        lines = ["".join(row[x].data for x in range(columns)).rstrip() for row in rows]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines) + "\n"

    def save_transcript(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.transcript(), encoding="utf-8")
        return path

    # -- scrollback -----------------------------------------------------------
    def scroll_page(self, up: bool) -> None:
        if up:
            self.term.prev_page()
        else:
            self.term.next_page()
        self.refresh()

    @property
    def scrolled_back(self) -> bool:
        history = self.term.history
        return bool(history.position < history.size and history.bottom)

    # -- drawing --------------------------------------------------------------
    def on_resize(self, event: events.Resize) -> None:
        width, height = event.size
        if width > 0 and height > 0:
            self.term.resize(lines=height, columns=width)
            self.refresh()

    def render_line(self, y: int) -> Strip:
        term = self.term
        width = self.size.width
        if y >= term.lines:
            return Strip.blank(width)
        row = term.buffer[y]
        show_cursor = (
            self.cursor_visible
            and self.attached
            and self.has_focus
            and not term.cursor.hidden
            and term.cursor.y == y
            and not self.scrolled_back
        )
        cursor_x = term.cursor.x if show_cursor else -1
        segments: list[Segment] = []
        text: list[str] = []
        current: Style | None = None
        for x in range(min(term.columns, width)):
            char = row[x]
            style = _style(char, x == cursor_x)
            if style is not current and text:
                segments.append(Segment("".join(text), current))
                text = []
            current = style
            text.append(char.data or " ")
        if text:
            segments.append(Segment("".join(text), current))
        return Strip(segments).adjust_cell_length(width)

    # -- input ----------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        if event.key == self.escape_key:
            event.stop()
            event.prevent_default()
            # Stop sending now: a key typed right after (Escape) must not reach the guest
            # while the detach waits in the console's queue behind its output.
            self.attached = False
            self.post_message(self.EscapePressed())
            return
        if event.key in (SCROLL_UP, SCROLL_DOWN):
            event.stop()
            event.prevent_default()
            self.scroll_page(event.key == SCROLL_UP)
            return
        if not self.attached:
            return  # not sent: the console screen's own keys (reattach, ...) handle it
        event.stop()
        event.prevent_default()
        app_cursor = DECCKM in self.term.mode
        data = encode_key(event.key, event.character, app_cursor=app_cursor)
        if data is not None:
            self._send(data)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        if self.attached and event.text:
            self._send(event.text.replace("\r\n", "\r").replace("\n", "\r").encode())

    def on_focus(self) -> None:
        self._place_terminal_cursor()
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
