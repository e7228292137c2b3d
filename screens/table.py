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
from itertools import zip_longest
from typing import Any, TypeVar

from rich.segment import Segment
from textual._two_way_dict import TwoWayDict
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, ColumnKey, DuplicateKey, Row, RowKey

CellType = TypeVar("CellType")


class Table(DataTable[CellType]):
    """A DataTable whose cached rendering is dropped once whenever its widths change.

    Nothing is re-measured here: DataTable's own idle work decides the widths (columns
    only grow unless a cell asks to re-measure); this only compares the result.
    """

    # The widths the cached rows were last dropped for (a tuple, so a safe class default).
    _drawn_widths: tuple[int, ...] = ()
    # Every row is one line high (set by tables that never add taller rows): a row's
    # line is then the header's height plus its index.
    one_line_rows = False

    def __init__(self, *, empty: str = "Nothing to show.", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Said on the first line while there are no rows. An empty table drew blank
        # lines, and in screen-reader mode the cursor sat on a blank line.
        self.empty_text = empty

    def empty_words(self) -> str:
        return self.empty_text

    def header_lines(self) -> int:
        return self.header_height if self.show_header else 0

    def render_line(self, y: int) -> Strip:
        if self.row_count or y != self.header_lines():
            return super().render_line(y)
        width = self.size.width
        text = self.empty_words()[:width].ljust(width)
        return Strip([Segment(text, self.rich_style)], width)

    @property
    def settled(self) -> bool:
        """No width or dimension work is waiting for the table's next idle."""
        return not self._updated_cells and not self._require_update_dimensions

    def _widths(self) -> tuple[int, ...]:
        label = self._row_label_column_width
        return (label, *(column.get_render_width(self) for column in self.ordered_columns))

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        if not self.row_count:
            # Room for the empty table's sentence, also where the height is auto.
            wanted = max(self.virtual_size.width, len(self.empty_words()))
            self.virtual_size = Size(wanted, self.header_lines() + 1)
        widths = self._widths()
        if widths != self._drawn_widths:
            self._drawn_widths = widths
            # Every render cache is keyed by this counter: a new value drops what was
            # drawn at the old widths, and the refresh draws the rows again, once.
            self._update_count += 1
            self.refresh()

    def set_cell_line(self, row: str, column: ColumnKey, value: CellType) -> None:
        """Change one cell and redraw its row's line only, never its column's width.
        DataTable.update_cell redraws the whole table: in screen-reader mode that wrote
        the line under the cursor again, unchanged, which a screen reader may read again."""
        key = RowKey(row)
        self._data[key][column] = value
        self._update_count += 1  # the render caches are keyed by it
        index = self.get_row_index(key)
        if not self.one_line_rows:
            self.refresh_row(index)
            return
        # refresh_row finds the row's line by summing every row above it (the row order
        # rebuilt after each change): with 10000 rows that was milliseconds a cell.
        width = max(self.size.width, self.virtual_size.width)
        self._refresh_region(Region(0, self.header_lines() + index, width, 1))

    def add_rows_at_once(self, rows: Iterable[tuple[str, Iterable[CellType]]]) -> int:
        """Add many one-line rows at the bottom; returns how many.

        DataTable.add_row re-sets the cursor (a reactive: validators, watchers, a
        refresh) and bumps the caches' counter for each row; a host's listing of 200
        rows did that 200 times, and at fifty hosts it was most of the UI's time to the
        last row. Here the bookkeeping add_row does is done per row and the rest once.
        """
        added = 0
        columns = self.ordered_columns
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            self._row_locations[row_key] = self.row_count
            self._data[row_key] = {
                column.key: cell for column, cell in zip_longest(columns, cells)
            }
            self.rows[row_key] = Row(row_key, 1, None, False)
            self._new_rows.add(row_key)
            added += 1
        if not added:
            return 0
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if self.row_count == added and columns and self.show_cursor \
                and self.cursor_type != "none":
            self._highlight_cursor()  # a cursor place opened where there was none
        self._update_count += 1
        self.check_idle()
        return added

    def remove_rows(self, keys: Iterable[str]) -> int:
        """Remove many rows in one pass; returns how many were there.

        DataTable.remove_row renumbers every remaining row on each call, so hiding 5000
        of 10000 rows one at a time (a state filter at fifty hosts) took 50 million steps
        and stalled the app for tens of seconds. Here the survivors are renumbered once,
        in their current order; the rest is what remove_row itself does.
        """
        gone = {RowKey(key) for key in keys if key in self.rows}
        if len(gone) <= 1:
            for key in gone:
                self.remove_row(key)
            return len(gone)
        locations = self._row_locations
        kept = sorted(
            (index, key)
            for key in locations
            if key not in gone and (index := locations.get(key)) is not None
        )
        self._row_locations = TwoWayDict({key: n for n, (_index, key) in enumerate(kept)})
        for key in gone:
            for column_key in self._data.pop(key, {}):
                self._updated_cells.discard(CellKey(key, column_key))
            del self.rows[key]
        self._require_update_dimensions = True
        self.check_idle()
        self.cursor_coordinate = self.cursor_coordinate
        self.hover_coordinate = self.hover_coordinate
        self._update_count += 1
        self.refresh(layout=True)
        return len(gone)
