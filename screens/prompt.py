"""A small modal form: a few labelled text fields, answered with enter or cancelled with escape.

The caller checks the answers itself and says what was wrong; the form only collects text.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class PromptDialog(ModalScreen[list[str] | None]):
    """fields: (label, default) pairs. Enter in the last field answers; escape cancels."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", show=False)]
    DEFAULT_CSS = """
    PromptDialog { align: center middle; }
    PromptDialog > Vertical {
        width: 70; height: auto; border: thick $primary; padding: 1 2; background: $surface;
    }
    PromptDialog .prompt-title { text-style: bold; }
    PromptDialog .prompt-hint { color: $text-muted; }
    """

    def __init__(self, title: str, fields: Sequence[tuple[str, str]], hint: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.fields = list(fields)
        self.hint = hint or "Enter: go ahead. Escape: cancel."

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="prompt-title")
            for i, (label, default) in enumerate(self.fields):
                yield Label(label)
                yield Input(default, id=f"field-{i}")
            yield Static(self.hint, classes="prompt-hint")

    def on_mount(self) -> None:
        self.query_one("#field-0", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        last = f"field-{len(self.fields) - 1}"
        if event.input.id == last:
            self.dismiss(
                [
                    self.query_one(f"#field-{i}", Input).value.strip()
                    for i in range(len(self.fields))
                ]
            )
        else:
            self.focus_next()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
