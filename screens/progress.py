"""The app's rendering of progress events (tvirt.progress): a message and a panel.

A core operation runs in a thread worker and reports to a callback; that callback posts
``ProgressEvent`` (thread-safe), and the screen hands the event to its ``ProgressPanel``:
a bar, and the same words the terminal prints. The bar's length is the fraction done,
so it means the same for bytes and percent; an unknown total shows a pulsing bar.
"""

from __future__ import annotations

import re

from textual.app import App, ComposeResult, ScreenStackError
from textual.containers import Horizontal
from textual.content import Content
from textual.geometry import Offset
from textual.message import Message
from textual.screen import Screen
from textual.widgets import ProgressBar, Static

from tvirt import progress


class ProgressEvent(Message):
    """One progress event of a core operation, posted from the thread that runs it."""

    def __init__(self, event: progress.Event) -> None:
        super().__init__()
        self.event = event


SPOKEN_EVERY = 5.0


def spoken_percent(words: str) -> str:
    """'(12%)' reads as '(12 percent)': a screen reader may skip or garble the sign."""
    return re.sub(r"(\d+(?:\.\d+)?)%", r"\1 percent", words)


class ProgressPanel(Horizontal):
    """A progress bar and one line of words; show() takes every kind of event.

    With an id, the bar is ``ID-bar`` and the words ``ID-text``.
    """

    DEFAULT_CSS = """
    ProgressPanel { height: auto; }
    ProgressPanel > Static { width: 1fr; }
    """

    def __init__(self, hint: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hint = hint  # words after each line, such as "Ctrl+C cancels."
        self.started = progress.Started("", "done")
        # Screen-reader mode: the operation's clock when the line last changed.
        self.spoken_at: float | None = None
        self.reader = False
        self._app: App[object] | None = None
        self._home: Screen[object] | None = None

    def on_mount(self) -> None:
        self.reader = bool(getattr(self.app, "screen_reader", False))
        self._app, self._home = self.app, self.screen

    def _covered(self) -> bool:
        """A dialog (the quit guard) is over the panel's screen."""
        try:
            return self._app is not None and self._app.screen is not self._home
        except ScreenStackError:  # the app is ending: nothing to show
            return True

    def drops(self, event: progress.Event) -> bool:
        """Screen-reader mode: an Advanced event the line would not show (too soon after
        its last change, or a dialog covers it). Only reads, so the operation's thread
        asks before posting: a message to a screen under a dialog (the quit guard) makes
        Textual repaint the whole dialog, which a screen reader may read again. Once the
        dialog closes, the next event shows."""
        if not (self.reader and isinstance(event, progress.Advanced)):
            return False
        if self._covered():
            return True
        return self.spoken_at is not None and event.elapsed - self.spoken_at < SPOKEN_EVERY

    def reader_offset(self) -> Offset | None:
        """Screen-reader mode, where a screen makes the panel its item (the migration's):
        the first letter of the line of words (it starts with a space, for the bar)."""
        text = self.query_one(Static)
        region = text.content_region
        if not region.area:
            return None
        line = text.render_line(region.y - text.region.y).text
        lead = len(line) - len(line.lstrip()) if line.strip() else region.x - text.region.x
        return Offset(text.region.x + lead, region.y)

    def compose(self) -> ComposeResult:
        yield ProgressBar(total=100, show_eta=False, id=f"{self.id}-bar" if self.id else None)
        yield Static(id=f"{self.id}-text" if self.id else None)

    def show(self, event: progress.Event) -> None:
        bar, text = self.query_one(ProgressBar), self.query_one(Static)
        if isinstance(event, progress.Started):
            self.started = event
            self.spoken_at = None
            bar.update(total=None, progress=0)
            text.update("")
        elif isinstance(event, progress.Advanced):
            fraction = event.fraction
            words = progress.line(self.started, event) + "."
            if self.reader:
                # One line, changed at most every SPOKEN_EVERY seconds of the operation's
                # own clock, the percentage in words; the bar is hidden (tvirt.tcss).
                if self.drops(event):
                    return
                self.spoken_at = event.elapsed
                words = spoken_percent(words)
            else:
                bar.update(
                    total=None if fraction is None else 100, progress=100 * (fraction or 0)
                )
            text.update(Content(" " + " ".join(w for w in (words, self.hint) if w)))
        else:  # the screen says the outcome or the cancel itself, as a command does
            if isinstance(event, progress.Finished):
                bar.update(total=100, progress=100)
            text.update("")
