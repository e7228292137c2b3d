"""A Static that is not redrawn when it is given the text it already shows.

Static.update always asks for a layout pass, and a layout pass repaints the screen's
scrollbars and the widgets whose regions it touches: the dashboard's status line and
its sort line were updated after every message batch with the same text (while slow
hosts still read VM details, about twice a second), and each time the terminal got
the status line, the table's scrollbars and the log's again though nothing changed.
A new text that wraps to as many lines as the old one needs no layout pass either
(the count of VM details read, say): only the widget itself is drawn again.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class SteadyStatic(Static):
    """`show(text)` updates only when the text differs from what is shown."""

    shown: str | None = None

    def show(self, text: str) -> bool:
        """Show `text`; returns whether anything had to change."""
        if text == self.shown:
            return False
        content = Content(text)
        width = self.content_size.width
        same_height = (
            self.shown is not None
            and width > 0
            and len(content.wrap(width)) == len(Content(self.shown).wrap(width))
        )
        self.shown = text
        self.update(content, layout=not same_height)
        return True
