"""A view refreshed by its own tick: the Gluster view and the cluster overview.

Collections never overlap (a refresh asked while one runs runs once right after it), a
slower older one arriving late is dropped, and in screen-reader mode a tick leaves the
cursor's line alone (screens/quiet_rows.py) while a refresh the user asked shows all.
"""

from __future__ import annotations

from .base import TvirtScreen
from .quiet_rows import QuietRows


class RefreshedScreen(TvirtScreen[None]):
    """Subclasses define `_collect(tick)` (a worker that ends with `collected()`) and
    call `arrived(tick)` when its result comes back."""

    def __init__(self, interval: float, quiet_tables: dict[str, str]) -> None:
        super().__init__()
        self.interval = interval
        self.ticks_started = 0
        self.ticks_done = 0
        self.collecting = False  # a collection is running
        self.again = False  # a refresh was asked while it ran
        self.quiet = QuietRows(self, quiet_tables)
        self.asked_tick: int | None = 1  # the first refresh, and every r, show everything

    def start_ticking(self) -> None:
        self.action_refresh()
        if self.interval > 0:
            self.set_interval(self.interval, self.tick)

    def tick(self) -> None:
        self.action_refresh(asked=False)

    def action_refresh(self, asked: bool = True) -> None:
        self.ticks_started += 1
        if asked and self.asked_tick is None:
            self.asked_tick = self.ticks_started
        if self.collecting:
            self.again = True  # one more right after: its facts are read after this press
            return
        self.collecting = True
        self._collect(self.ticks_started)

    def _collect(self, tick: int) -> object:
        raise NotImplementedError  # each view collects its own facts

    def collected(self) -> None:
        """The collection has posted its result: run the refresh asked meanwhile."""
        if self.again:
            self.again = False
            self.collecting = True
            self._collect(self.ticks_started)

    def arrived(self, tick: int) -> bool | None:
        """None for an older, slower collection (never show stale facts); else whether
        the user asked for this one (r, or the first)."""
        if tick < self.ticks_done:
            return None
        self.ticks_done = tick
        asked = self.asked_tick is not None and tick >= self.asked_tick
        if asked:
            self.asked_tick = None
        return asked

    def on_data_table_row_highlighted(self) -> None:
        self.quiet.apply()  # what a tick held back on the line the cursor has left

    def on_descendant_focus(self) -> None:
        self.quiet.apply()
