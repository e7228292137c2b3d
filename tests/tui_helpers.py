"""Waiting helpers shared by the Pilot tests."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TextArea

from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.table import Table
from tvirt.screens.wipe_wizard import WipeWizard


async def until(
    pilot: Pilot[int], predicate: Callable[[], object], what: str, timeout: float = 30.0
) -> None:
    """Let the app run until predicate() holds; fail with what we waited for."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def tables_settled(app: App[Any]) -> bool:
    """Every table on every screen of the stack (a modal shows the screen below it) has
    measured its rows: no column-width work waits for a table's idle. Table then redraws
    itself, so nothing stays drawn at the old widths."""
    return all(table.settled for screen in app.screen_stack for table in screen.query(Table))


async def settled(pilot: Pilot[int], ready: Callable[[], object], what: str) -> None:
    """Wait until ready() holds (the data is in) and every table has settled, then let the
    screen apply the layout and repaint those asked for: a snapshot taken or a screen read
    after this sees the final form, however loaded the machine is."""
    await until(pilot, lambda: bool(ready()) and tables_settled(pilot.app), f"{what}, settled")
    await pilot.pause()


def hold_still(app: App[Any]) -> None:
    """Stop the cursors that blink (inputs, text areas) on every screen shown; they stay
    visible, as in screen-reader mode. A snapshot then no longer depends on which half of
    the 0.5 s blink it was taken in, which on a loaded machine is luck."""
    for screen in app.screen_stack:
        for widget in [*screen.query(Input), *screen.query(TextArea)]:
            widget.cursor_blink = False


def listed(app: TvirtApp, uri: str, count: int) -> bool:
    """The host is connected, its `count` VMs are rows, and each row's vCPUs and memory
    have been read (they arrive after the listing), so the table is in its final form."""
    host = app.hosts.get(uri)
    if host is None or host.state is not HostState.CONNECTED:
        return False  # checked first: before then the dashboard may not be mounted
    rows = [vm for vm in app.dashboard.table.vms.values() if vm.host_id == uri]
    return len(rows) == count and all(
        vm.vcpus is not None and vm.memory_kib is not None for vm in rows
    )


def screen_text(app: TvirtApp) -> list[str]:
    """The screen as plain text lines, as the terminal shows it (dialogs over screens)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


def table_settled(app: TvirtApp) -> bool:
    """The dashboard's VM table has measured its rows (see tables_settled)."""
    return app.dashboard.table.settled


async def host_loaded(pilot: Pilot[int], uri: str, count: int) -> TvirtApp:
    """Wait until listed(app, uri, count) and the tables have settled; returns the app."""
    app = pilot.app
    assert isinstance(app, TvirtApp)
    await settled(pilot, lambda: listed(app, uri, count), f"{uri} listed with {count} VMs")
    return app


async def wipe_wizard_at_confirm(
    app: TvirtApp, pilot: Pilot[int], host: Any, device: str, method: tuple[str, ...]
) -> WipeWizard:
    """The wipe wizard on host with device chosen and the method picked by the keys in
    method (none: the first, signatures only), waiting at the typed confirmation."""
    wiz = WipeWizard(host)
    await app.push_screen(wiz)
    await until(pilot, lambda: wiz.devices, "the device list")
    table = wiz.query_one("#wizard-table", DataTable)
    table.move_cursor(row=table.get_row_index(device))
    await pilot.press("enter")
    await until(pilot, lambda: wiz.step == 1, "the method step")
    await pilot.press(*method, "enter")
    await until(pilot, lambda: wiz.step == 2, "the confirm step")
    return wiz

