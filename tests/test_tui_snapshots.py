"""Snapshot tests: the dashboard, the help screen and a confirm dialog, at a fixed size.

The fixture host is a private test-driver node, so every cell is deterministic: fixed
UUIDs, no clock, and the demo host's hostname (this machine's) is never shown.
Regenerate with `pytest tests/test_tui_snapshots.py --snapshot-update` and review them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot

from tui_helpers import host_loaded, table_settled, until
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.help import HelpScreen

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
SIZE = (120, 36)


async def loaded(pilot: Pilot[int]) -> None:
    app = await host_loaded(pilot, LAB, 6)
    await until(pilot, lambda: table_settled(app), "the table's column widths")
    await pilot.pause()


def select(app: TvirtApp, name: str) -> None:
    table = app.dashboard.table
    key = next(vm.key for vm in table.vms.values() if vm.name == name)
    table.move_cursor(row=table.get_row_index(key))


def test_dashboard_snapshot(snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=loaded)


def test_help_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def open_help(pilot: Pilot[int]) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")
        await pilot.pause()

    # Tall enough for every key without scrolling.
    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=(120, 50), run_before=open_help)


def test_force_off_dialog_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def ask(pilot: Pilot[int]) -> None:
        await loaded(pilot)
        app = pilot.app
        assert isinstance(app, TvirtApp)
        select(app, "web01")
        await pilot.press("space")
        select(app, "web02")
        await pilot.press("space", "F")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.pause()

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=ask)


def test_delete_dialog_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def ask(pilot: Pilot[int]) -> None:
        await loaded(pilot)
        app = pilot.app
        assert isinstance(app, TvirtApp)
        select(app, "db01")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.pause()

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=ask)
