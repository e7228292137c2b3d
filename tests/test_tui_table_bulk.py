"""Table.remove_rows and add_rows_at_once: many rows out or in at once, in order.

The state filter and a host's removal hide thousands of rows at fifty hosts; DataTable's
remove_row renumbers every row per call, so they go through remove_rows instead. These
tests check it leaves the table exactly as the same removals one by one would.
"""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets.data_table import DuplicateKey

from tvirt.screens.table import Table

ROWS = 40


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield Table[str]()

    def on_mount(self) -> None:
        table = self.query_one(Table)
        table.add_column("Name", key="name")
        for n in range(ROWS):
            table.add_row(f"row{n:02d}", key=f"k{n:02d}")


def keys(table: Table[str]) -> list[str]:
    return [row.key.value or "" for row in table.ordered_rows]


async def test_remove_rows_keeps_the_rest_in_order() -> None:
    app = OneTable()
    async with app.run_test(size=(30, 20)) as pilot:
        table = app.query_one(Table)
        table.sort("name", reverse=True)  # an order that is not insertion order
        table.move_cursor(row=30)  # on k09
        gone = [f"k{n:02d}" for n in range(ROWS) if n % 3 == 0] + ["missing"]
        assert table.remove_rows(gone) == 14
        await pilot.pause()
        expected = [f"k{n:02d}" for n in reversed(range(ROWS)) if n % 3]
        assert keys(table) == expected
        assert [table.get_row_index(key) for key in expected] == list(range(len(expected)))
        assert [table.get_row_at(i)[0] for i in range(3)] == ["row38", "row37", "row35"]
        assert table.row_count == len(expected)
        assert table.cursor_row == len(expected) - 1  # clamped, as remove_row does
        table.move_cursor(row=0, animate=False)
        await pilot.pause()
        lines = [s.text for s in table.render_lines(Region(0, 0, *table.outer_size))]
        assert "row39" not in "".join(lines)
        assert lines[1].strip() == "row38"


async def test_remove_rows_of_one_row_and_of_none() -> None:
    app = OneTable()
    async with app.run_test(size=(30, 20)) as pilot:
        table = app.query_one(Table)
        assert table.remove_rows([]) == 0
        assert table.remove_rows(["k05"]) == 1
        await pilot.pause()
        assert "k05" not in keys(table)
        assert table.get_row_index("k06") == 5
        assert table.row_count == ROWS - 1


class CountingTable(Table[str]):
    """Counts how often the cursor is re-set (what add_row does once per row)."""

    cursor_sets = 0

    def validate_cursor_coordinate(self, value: Coordinate) -> Coordinate:
        self.cursor_sets += 1
        return super().validate_cursor_coordinate(value)


class TwoTables(App[None]):
    def compose(self) -> ComposeResult:
        yield CountingTable(id="one")
        yield CountingTable(id="bulk")

    def on_mount(self) -> None:
        for table in self.query(CountingTable):
            table.add_column("Name", key="name")
            table.add_column("Note", key="note")


async def test_add_rows_at_once_matches_add_row_one_by_one() -> None:
    app = TwoTables()
    rows = [(f"k{n:02d}", [f"row{n:02d}", "x" * (n % 7)]) for n in range(ROWS)]
    async with app.run_test(size=(60, 30)) as pilot:
        one = app.query_one("#one", CountingTable)
        bulk = app.query_one("#bulk", CountingTable)
        one.cursor_sets = bulk.cursor_sets = 0
        for key, cells in rows:
            one.add_row(*cells, key=key)
        assert bulk.add_rows_at_once(rows) == ROWS
        assert bulk.add_rows_at_once([]) == 0
        # The per-row cost it saves: the cursor is re-set once, not once per row.
        assert one.cursor_sets == ROWS
        assert bulk.cursor_sets == 1
        await pilot.pause()
        assert keys(bulk) == keys(one) == [key for key, _cells in rows]
        assert [bulk.get_row_at(i) for i in range(ROWS)] == [cells for _key, cells in rows]
        assert bulk.get_row_index("k17") == 17
        assert [c.width for c in bulk.ordered_columns] == [c.width for c in one.ordered_columns]
        region = Region(0, 0, *bulk.outer_size)
        assert [s.text for s in bulk.render_lines(region)] == [
            s.text for s in one.render_lines(region)]
        with pytest.raises(DuplicateKey):
            bulk.add_rows_at_once([("k03", ["again", ""])])
