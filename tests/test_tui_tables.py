"""Tables show their cells in full once their data is in, whatever the machine's load.

DataTable measures new rows on its next idle. On a loaded machine the screen often paints
a table before that idle, at the old column widths, and DataTable kept those cut-short
rows in its caches after widening the columns: in screen-reader mode, where nothing
redraws by itself, VM names stayed cut to the Name header's width for good. Here every
table idle paints the table first, so that order is the only one, not a matter of luck.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import DataTable

from tui_helpers import host_loaded, settled
from tvirt.screens.app import TvirtApp
from tvirt.screens.storage import StorageScreen
from tvirt.screens.table import Table
from tvirt.screens.vm_table import VMTable

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
SCREENS = Path(__file__).parent.parent / "screens"


@pytest.fixture
def paint_before_idle(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Paint each table, as the screen would, just before the idle that measures it.

    Not a fake: the real DataTable runs; only the order the event loop picks under load
    (the screen's paint first) is made the only order. Yields a count of those paints,
    so a test can tell that the order was exercised.
    """
    original: Callable[[DataTable[Any], events.Idle], Awaitable[None]] = DataTable._on_idle
    paints: list[int] = [0]

    async def painted_first(self: DataTable[Any], event: events.Idle) -> None:
        # The two fields DataTable's idle reads to know it has widths to measure.
        if (self._updated_cells or self._require_update_dimensions) and self.size.area:
            painted(self)
            paints[0] += 1
        await original(self, event)

    monkeypatch.setattr(DataTable, "_on_idle", painted_first)
    yield paints


def painted(table: DataTable[Any]) -> list[str]:
    """The table's lines as it paints them for the screen (through its render caches)."""
    return [strip.text for strip in table.render_lines(Region(0, 0, *table.outer_size))]


def cut_cells(table: DataTable[Any]) -> list[str]:
    """The cells of the rows on screen that the table paints shorter than their text."""
    lines = painted(table)
    top = table.gutter.top + (table.header_height if table.show_header else 0)
    cut = []
    for index in range(min(table.row_count, len(lines) - top)):
        line = lines[top + index]
        cut += [str(c) for c in table.get_row_at(index) if str(c) and str(c) not in line]
    return cut


async def test_vm_names_show_in_full_in_screen_reader_mode(paint_before_idle: list[int]) -> None:
    app = TvirtApp(uris=[LAB], screen_reader=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await host_loaded(pilot, LAB, 6)
        table = app.dashboard.table
        assert paint_before_idle[0] > 0, "no paint came before a table's idle"
        assert cut_cells(table) == []
        line = next((line for line in painted(table) if " build01 " in line), "")
        # Name and state first (the 80x24 layout), then the host.
        assert re.search(r" build01 +shut off +demo lab\.xml ", line), painted(table)


async def test_storage_tables_show_in_full(paint_before_idle: list[int]) -> None:
    app = TvirtApp(uris=[LAB], screen_reader=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await host_loaded(pilot, LAB, 6)
        await pilot.press("S")
        storage = await until_storage(pilot)
        for table in (storage.pool_table, storage.volume_table):
            assert table.row_count and cut_cells(table) == [], table.id
        line = next((line for line in painted(storage.volume_table) if "db01" in line), "")
        assert re.search(r" db01\.qcow2 .* /lab-pool/db01\.qcow2 ", line), line


async def until_storage(pilot: Pilot[int]) -> StorageScreen:
    app = pilot.app

    def loaded() -> bool:
        screen = app.screen
        return isinstance(screen, StorageScreen) and bool(screen.volumes)

    await settled(pilot, loaded, "the storage view with the lab pool's volumes")
    screen = app.screen
    assert isinstance(screen, StorageScreen)
    return screen


def test_every_table_in_the_app_is_a_table_that_redraws_after_settling() -> None:
    """A plain DataTable would bring the cut-short rows back: screens make Tables."""
    plain = [
        f"{path.name}:{number}"
        for path in sorted(SCREENS.glob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\bDataTable\(", line)
    ]
    assert plain == []
    assert issubclass(VMTable, Table)
