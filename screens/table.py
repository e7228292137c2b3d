"""The DataTable every screen uses: it redraws once after its column widths settle.

Textual's DataTable measures new rows and changed cells on its next idle
(`_update_dimensions`) and caches every rendered cell, row and line under a counter
(`_update_count`) that data changes and resizes bump, but the width update does not.
When the screen paints between a change and the table's idle (on a loaded machine it
often does), cells are cached cut to the old widths; the idle then widens the columns,
and every later repaint, `refresh()` included, reuses those cuts until some other change
bumps the counter. A table whose widget size stays the same (height 1fr, or already at
its maximum) gets no resize to do that, so in screen-reader mode, where nothing updates
by itself, names stayed cut short for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

CellType = TypeVar("CellType")


class Table(DataTable[CellType]):
    """A DataTable whose cached rendering is dropped once whenever its widths change.

    Nothing is re-measured here: DataTable's own idle work decides the widths (columns
    only grow unless a cell asks to re-measure); this only compares the result.
    """

    # The widths the cached rows were last dropped for (a tuple, so a safe class default).
    _drawn_widths: tuple[int, ...] = ()

    @property
    def settled(self) -> bool:
        """No width or dimension work is waiting for the table's next idle."""
        return not self._updated_cells and not self._require_update_dimensions

    def _widths(self) -> tuple[int, ...]:
        label = self._row_label_column_width
        return (label, *(column.get_render_width(self) for column in self.ordered_columns))

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        widths = self._widths()
        if widths != self._drawn_widths:
            self._drawn_widths = widths
            # Every render cache is keyed by this counter: a new value drops what was
            # drawn at the old widths, and the refresh draws the rows again, once.
            self._update_count += 1
            self.refresh()
