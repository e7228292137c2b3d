"""A full screen of tabs, one per VM (the consoles, the graphical displays)."""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.widget import Widget
from textual.widgets import TabbedContent

from .base import TvirtScreen

P = TypeVar("P", bound=Widget)


class TabsScreen(TvirtScreen[None], Generic[P]):
    """Keeps the panes by VM key; each pane's tab is `tab-<pane id>`. Subclasses compose
    one TabbedContent and bind next_tab / previous_tab."""

    def __init__(self) -> None:
        super().__init__()
        self.panes: dict[str, P] = {}

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
