"""Waiting helpers shared by the Pilot tests."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable

from tvirt.model import HostState
from tvirt.screens.app import TvirtApp


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


def settled(table: DataTable[Any]) -> bool:
    """The table has measured its columns and redrawn at those widths. DataTable measures
    on its next idle, so on a busy machine a snapshot taken right after rows arrive may
    catch them cut to the old widths (screens/table.py)."""
    return not (table._require_update_dimensions or table._updated_cells
                or getattr(table, "remeasure_pending", False))


def table_settled(app: TvirtApp) -> bool:
    return settled(app.dashboard.table)


def tables_settled(app: TvirtApp) -> bool:
    """Every table of every screen on the stack (a dialog leaves the one under it seen)."""
    return all(settled(t) for screen in app.screen_stack for t in screen.query(DataTable))


async def host_loaded(pilot: Pilot[int], uri: str, count: int) -> TvirtApp:
    """Wait until listed(app, uri, count); returns the app."""
    app = pilot.app
    assert isinstance(app, TvirtApp)
    await until(pilot, lambda: listed(app, uri, count), f"{uri} listed with {count} VMs")
    return app
