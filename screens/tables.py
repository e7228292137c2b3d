"""A DataTable that never shows rows cut to column widths that have since grown."""

from __future__ import annotations

from typing import TypeVar

from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable

CellT = TypeVar("CellT")


class SettledTable(DataTable[CellT]):
    """DataTable measures new rows on its next idle, but caches each drawn line under a
    key that measuring does not change. A line drawn between add_row and that idle (a
    busy machine, a first start compiling .pyc files) was then reused at the old, narrow
    widths ("buil" for "build01") until some cell changed; in screen-reader mode, where
    nothing changes by itself, for ever. So the caches are dropped whenever the widths
    differ from those of the last drawing."""

    _drawn_widths: tuple[int, ...] = ()

    def render_lines(self, crop: Region) -> list[Strip]:
        widths = tuple(column.get_render_width(self) for column in self.ordered_columns)
        if widths != self._drawn_widths:
            self._drawn_widths = widths
            self._clear_caches()
        return super().render_lines(crop)
