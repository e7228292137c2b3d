"""Screen-reader mode's one mechanism: the line under the cursor holds the focused item.

Console screen readers (Speakup, tdsr, fenrir) and braille displays read the line the
terminal cursor is on. So in this mode:

- the app carries the CSS class `-screen-reader` and `themes/tvirt.tcss` lays every
  screen out in one column: no side-by-side panes or buttons, no borders, dialogs over
  the whole screen on an opaque background (nothing of the screen below shows beside
  them), no scroll bars. A screen gets that by using the ordinary containers; its own
  side-by-side layout needs one rule under `App.-screen-reader` in the stylesheet;
- the app puts the cursor where `text_offset` says (screens/cursor.py). A widget may
  answer itself with `reader_offset()`; a screen may name the widget the cursor follows
  with `reader_target()` (the command palette: its highlighted command, not its input);
- `F2` reads what a sighted user sees around the item (a table's column names and its
  sort, a console's status line): the focused widget's or the screen's `reader_header()`,
  else a table's column names; `F3` reads the newest entry of the event log. Each shows
  its text on a page of its own with the cursor on it; any key goes back;
- checkboxes and radio buttons say "[on]" or "[off]" in words (`spoken_toggles`).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.content import Content
from textual.geometry import Offset
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, Log, OptionList, TextArea
from textual.widgets._toggle_button import ToggleButton
from textual.widgets.option_list import Option

from tvirt.keys import APP_KEYS

from .base import TvirtModal, drop_read_outs

READER_CLASS = "-screen-reader"
QUIT_KEYS = frozenset(k.key for k in APP_KEYS if k.action == "quit")
EMPTY = "(empty) "
_spoken = False


@runtime_checkable
class ReaderOffset(Protocol):
    def reader_offset(self) -> Offset | None: ...


def target(screen: Screen[Any], focused: Widget | None) -> Widget | None:
    """The widget whose item the cursor should sit on."""
    hook = getattr(screen, "reader_target", None)
    if callable(hook):
        chosen = hook()
        if isinstance(chosen, Widget):
            return chosen
    return focused


def header_words(screen: Screen[Any], focused: Widget | None) -> str:
    """What F2 reads: the widget's or the screen's own words, else a table's columns."""
    for owner in (focused, screen):
        hook = getattr(owner, "reader_header", None)
        if callable(hook):
            words = hook()
            if isinstance(words, str) and words:
                return words
    if isinstance(focused, DataTable) and focused.columns:
        names = [str(column.label) for column in focused.ordered_columns]
        return "Columns: " + ", ".join(name for name in names if name) + "."
    title = str(screen.title or screen.app.title or "")
    return f"{title}. No header here." if title else "No header here."


def pair_labels(screen: Screen[Any]) -> bool:
    """A field's label on the field's own line ("Name  web01", "Serial console  (*) yes"),
    so the line under the cursor says what the field is: a `Label` right before a text
    field or a list of choices (the next one shown, in the same container) is drawn
    beside it, the field shifted up onto the label's line. A list of choices shows only
    its chosen line here (tvirt.tcss), like a spin button. Run when a screen shows and
    when a field takes the focus, since labels and placeholders change. Returns whether
    a field moved (the cursor is placed once the new layout is drawn)."""
    moved = False
    for label in screen.query(Label):
        parent = label.parent
        if parent is None or not label.display:
            continue
        siblings = [w for w in parent.children if w.display or w is label]
        after = siblings.index(label) + 1
        if after >= len(siblings) or not isinstance(siblings[after], (Input, OptionList)):
            continue
        field = siblings[after]
        label.add_class("-reader-paired")
        width = cell_len(str(label.render()))
        if field.styles.margin.left != width + 1 or field.styles.offset.y.value != -1:
            field.styles.margin = (0, 0, 0, width + 1)
            field.styles.offset = (0, -1)
            moved = True
    for entry in screen.query(Input):
        # A placeholder is not a value; said the same way, the reader could not tell.
        if not entry.placeholder.startswith(EMPTY.strip()):
            entry.placeholder = f"{EMPTY}{entry.placeholder}".strip()
    for editor in screen.query(TextArea):
        # The line under the cursor is the text's own line: no line numbers beside it,
        # and Tab leaves the editor instead of indenting (a trap for keyboard users).
        editor.show_line_numbers = False
        editor.tab_behavior = "focus"
    return moved


def skip_scroller(widget: Widget) -> bool:
    """A scrolling container (a dialog's text, a wizard's page) takes no focus in this
    mode: the arrows scroll it but move no cursor, so Tab would stop on nothing to read.
    A container that places the cursor itself (`reader_offset`) keeps its focus.
    Returns whether the widget was one (its focus is then given up)."""
    if (
        isinstance(widget, (ScrollableContainer, Log))
        and not isinstance(widget, (ScrollView, ReaderOffset))
    ) or isinstance(widget, Log):
        widget.can_focus = False
        return True
    return False


class ReadOut(TvirtModal[None]):
    """One or a few sentences on a page of their own, the cursor on the first; any key
    goes back to where the user was (and is not passed on), but q quits as everywhere."""

    BINDINGS = [
        Binding(k.key, f"app.{k.action}", k.description, show=False)
        for k in APP_KEYS
        if k.action == "quit"
    ]
    READ_OUT = True  # base.drop_read_outs takes it away when its sentence is over

    DEFAULT_CSS = """
    ReadOut { align: left top; background: $background; }
    ReadOut OptionList { height: 1fr; border: none; }
    """

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines or ["Nothing to read."]

    def compose(self) -> ComposeResult:
        yield OptionList(*(Option(Content(line)) for line in self.lines), id="readout")

    def on_mount(self) -> None:
        words = self.query_one(OptionList)
        words.highlighted = 0
        words.focus()

    def on_key(self, event: events.Key) -> None:
        if event.key in QUIT_KEYS or (event.key in ("up", "down") and len(self.lines) > 1):
            return
        event.stop()
        event.prevent_default()
        self.dismiss(None)


def read_out(screen: Screen[Any], sentence: str) -> None:
    """Screen-reader mode: a sentence the user must hear now (a refusal: it is not on the
    field's line) on a page of its own with the cursor on it; any key goes back."""
    if sentence and getattr(screen.app, "screen_reader", False):
        drop_read_outs(screen)  # a newer sentence ("Not added: ...") replaces "Working..."
        screen.app.push_screen(ReadOut([sentence]))


def spoken_toggles() -> None:
    """Checkboxes and radio buttons draw "[on]" or "[off]" in screen-reader mode, since
    Textual tells on from off by colour only. Installed once, on every ToggleButton (so
    screens written later get it too); other apps in the process keep Textual's look."""
    global _spoken
    if _spoken:
        return
    _spoken = True
    original = ToggleButton._button.fget  # type: ignore[attr-defined]

    def button(self: ToggleButton) -> Content:
        if getattr(self.app, "screen_reader", False):
            return Content("[on] " if self.value else "[off]")
        result: Content = original(self)
        return result

    ToggleButton._button = property(button)  # type: ignore[method-assign, assignment]
