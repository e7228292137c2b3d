"""A full screen of tabs, one per VM (the consoles, the graphical displays)."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import events
from textual.widget import Widget
from textual.widgets import TabbedContent, Tabs

from .base import TvirtScreen

P = TypeVar("P", bound=Widget)


class TabsScreen(TvirtScreen[None], Generic[P]):
    """Keeps the panes by VM key; each pane's tab is `tab-<pane id>`. Subclasses compose
    one TabbedContent and bind next_tab / previous_tab."""

    pane_type: type[P]

    def __init__(self) -> None:
        super().__init__()
        self.panes: dict[str, P] = {}

    def active_pane(self) -> P | None:
        active = self.tabs.active_pane
        if active is None:
            return None
        found = active.query(self.pane_type)
        return found.first() if found else None

    def focus_pane(self) -> None:
        pane = self.active_pane()
        if pane is not None:
            self.focus_target(pane).focus()

    def focus_target(self, pane: P) -> Widget:
        """The widget of a pane that takes the keys (the terminal, the picture)."""
        return pane

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # The tab bar takes no focus: on it, the pane's keys (c, x, i...) did nothing until
        # the focus was back. Ctrl+PgUp/PgDn change tabs from anywhere.
        if isinstance(event.widget, Tabs):
            self.call_later(self.focus_pane)

    @property
    def tabs(self) -> TabbedContent:
        return self.query_one(TabbedContent)

    def action_next_tab(self) -> None:
        self._cycle(1)

    def action_previous_tab(self) -> None:
        self._cycle(-1)

    def _cycle(self, step: int) -> None:
        ids = [f"tab-{p.id}" for p in self.panes.values()]
        if not ids:
            return
        current = self.tabs.active
        index = ids.index(current) if current in ids else 0
        self.tabs.active = ids[(index + step) % len(ids)]
