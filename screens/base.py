"""The bases of every tvirt screen: a screen dismisses itself only while it is on top.

Textual's Screen.dismiss pops the top screen, whichever it is. Keys and button presses
queued for a dialog before it closed are still handled by it afterwards (a fast Escape
then Enter, found by tests/monkey.py), and their second dismiss popped the screen below:
the dashboard, which ended the app with "Can't pop screen". A screen that is no longer
the top one ignores dismiss, and its result callback is not called twice, unless only
read-out pages lie above it (`drop_read_outs`).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from textual.app import ScreenStackError
from textual.await_complete import AwaitComplete
from textual.command import CommandList, CommandPalette
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import TabbedContent

R = TypeVar("R")


def _nothing() -> AwaitComplete:
    return AwaitComplete()


def _on_top(screen: Screen[Any]) -> bool:
    """Whether `screen` is the top of the stack. Textual's `is_current` is also true for a
    screen that only shows through a transparent one above it (a dialog under the command
    palette): its dismiss set its result and then popped the palette, and its next dismiss
    set the result again: InvalidStateError (tests/monkey.py seed 1, ctrl+p over a
    dialog)."""
    try:
        return screen.app.screen is screen
    except ScreenStackError:
        return False


def drop_read_outs(screen: Screen[Any]) -> bool:
    """Take away the read-out pages (screen-reader mode's sentences, screens/reader.py
    ReadOut: "Working...") lying above `screen`, so it is on top again. Only when nothing
    else lies above it; returns whether it is on top now. A form that said "Working..."
    closes once its change is done, and a new sentence replaces the old one, instead of
    the stale page staying (and the form's dismiss being ignored under it)."""
    stack = screen.app.screen_stack
    if screen not in stack:
        return False
    above = stack[stack.index(screen) + 1:]
    if not all(getattr(page, "READ_OUT", False) for page in above):
        return False
    for _page in above:
        screen.app.pop_screen()
    return True


class TvirtScreen(Screen[R]):
    def dismiss(self, result: R | None = None) -> AwaitComplete:
        if not _on_top(self) and not drop_read_outs(self):
            return _nothing()
        return super().dismiss(result)


class TvirtModal(ModalScreen[R]):
    def dismiss(self, result: R | None = None) -> AwaitComplete:
        if not _on_top(self) and not drop_read_outs(self):
            return _nothing()
        return super().dismiss(result)


class Palette(CommandPalette):
    """Textual's command palette, with the same guard (it dismisses on Enter and Escape)."""

    def dismiss(self, result: Any = None) -> AwaitComplete:
        if not _on_top(self):
            return _nothing()
        return super().dismiss(result)

    def reader_target(self) -> Widget | None:
        """Screen-reader mode: the cursor goes to the highlighted command, not the input
        (typing still goes to the input)."""
        found = self.query(CommandList)
        if not found:
            return None  # not composed yet, or torn down: the app's cursor check came first
        commands = found.first()
        if commands.highlighted is not None and commands.option_count:
            return commands
        return None

    def on_input_changed(self) -> None:
        # Textual's input puts the cursor at its insertion point on every key; in
        # screen-reader mode it goes back to the highlighted command once the list has
        # answered (place_cursor draws nothing when it is already there).
        place = getattr(self.app, "place_cursor", None)
        if getattr(self.app, "screen_reader", False) and callable(place):
            self.call_after_refresh(place)
            self.set_timer(0.3, place)
            self.set_timer(1.0, place)

    def _action_command_list(self, action: str) -> None:
        # Textual's OptionList finds a page from the highlighted option's line, and a list
        # that is hidden or not laid out yet has no lines: it raised KeyError. A page key
        # there has nothing to move through, so it is ignored.
        if action.startswith("page_"):
            commands = self.query_one(CommandList)
            if not commands.scrollable_content_region.height:
                return
        super()._action_command_list(action)


async def tabs_composed(tabs: TabbedContent) -> None:
    """A screen just pushed has mounted its TabbedContent, whose own tab list may not be
    composed yet on a loaded machine (adding a pane then fails with NoMatches): give the
    event loop turns until it is, for at most about five seconds."""
    for _turn in range(500):
        if tabs.query("#tabs-list"):
            return
        await asyncio.sleep(0.01)
