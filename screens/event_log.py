"""The event log: every result, error and state change as a sentence, to review.

An OptionList, not a scrolling text: each sentence is one highlightable line, so the
terminal cursor (screen-reader mode) lands on it and a braille display shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from .base import TvirtModal
from .dialogs import dialog_bindings
from .words import plural


class EventLogScreen(TvirtModal[None]):
    BINDINGS = [
        *dialog_bindings(),
        Binding("L", "dismiss", "Close", show=False),
    ]

    def __init__(self, sentences: Sequence[str]) -> None:
        super().__init__(classes="dialog")
        self.sentences = list(sentences)

    def compose(self) -> ComposeResult:
        count = len(self.sentences)
        with Vertical(classes="dialog-box help-box"):
            yield Static(
                Content(f"Event log: {plural(count, 'entry')}, newest last"), classes="dialog-title"
            )
            entries = OptionList(
                *(Option(Content(s)) for s in self.sentences) or [Option("No events yet.")],
                id="event-list",
            )
            entries.tooltip = "Event log: results and state changes, newest last"
            yield entries
            yield Static(
                Content("Arrows: move.  Escape or L: close.  q: quit tvirt."), classes="dialog-keys"
            )

    def on_mount(self) -> None:
        entries = self.query_one(OptionList)
        entries.highlighted = entries.option_count - 1
        entries.focus()
