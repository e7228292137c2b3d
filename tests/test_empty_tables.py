"""An empty table says so on its first line, and in screen-reader mode the cursor is there.

Before, an empty table drew blank lines only: on a host without VMs, a screen-reader
user's cursor sat on a blank line under the filter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_helpers import screen_text, until
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp

FIXTURES = Path(__file__).parent / "fixtures"
EMPTY = f"test://{FIXTURES / 'empty.xml'}"
LAB = f"test://{FIXTURES / 'lab.xml'}"
SIZE = (100, 30)


def connected(app: TvirtApp, uri: str) -> bool:
    host = app.hosts.get(uri)
    return host is not None and host.state is HostState.CONNECTED


def cursor_line(app: TvirtApp) -> str:
    return screen_text(app)[app.cursor_position.y][app.cursor_position.x :].rstrip()


async def test_host_without_vms_puts_the_cursor_on_no_vms() -> None:
    app = TvirtApp(uris=[EMPTY], screen_reader=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: connected(app, EMPTY), "the empty host connected")
        await pilot.pause(0.2)
        table = app.dashboard.table
        assert app.focused is table and table.row_count == 0
        await until(pilot, lambda: cursor_line(app) == "No VMs.", "the cursor on 'No VMs.'")


@pytest.mark.parametrize("reader", [False, True])
async def test_filter_matching_nothing_says_so_in_both_modes(reader: bool) -> None:
    app = TvirtApp(uris=[LAB], screen_reader=reader)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.dashboard.table.row_count == 6, "rows")
        await pilot.press("slash", *"nothing-is-called-this", "enter")
        await until(pilot, lambda: app.dashboard.table.row_count == 0, "no rows")
        await pilot.pause(0.2)
        said = "No VM matches the filter: press / to change it"
        assert any(said in line for line in screen_text(app))
        if reader:
            assert cursor_line(app).startswith(said)
