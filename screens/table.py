"""A DataTable that redraws its cells once it has measured new column widths.

DataTable measures new rows and changed cells on its next idle, but keeps the cells it
drew before at the old widths: its cell cache is not keyed by width. On a busy machine a
table is often drawn in between, and its names and paths then stay cut short ("db01.q")
until some later change, or for good on a screen that never redraws by itself
(screen-reader mode). The VM, storage, network and hardware tables derive from this one.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import events
from textual.widgets import DataTable

CellType = TypeVar("CellType")


class MeasuredTable(DataTable[CellType], Generic[CellType]):
    remeasure_pending = False  # widths being measured, not yet drawn (tests wait on it)

    def _column_widths(self) -> list[int]:
        return [column.content_width for column in self.ordered_columns]

    async def _on_idle(self, _event: events.Idle) -> None:
        # Runs before DataTable's own idle handler (the subclass's comes first), which
        # does the measuring; compare the widths once it is done.
        if self._require_update_dimensions or self._updated_cells:
            self.remeasure_pending = True
            self.call_later(self._remeasured, self._column_widths())

    def _remeasured(self, before: list[int]) -> None:
        self.remeasure_pending = False
        if self._column_widths() != before:
            self._clear_caches()
            self.refresh()
