"""Screen-reader mode: changes the user did not ask for never touch the cursor line
(issue 19). A stats tick that was already on its way when `P` paused the stats, and
another VM changing state by itself while the table is sorted by state.

What the app writes is read off its real output (`Written`, as in
tests/test_screen_reader_ticks.py).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import libvirt
import pytest
from test_screen_reader_ticks import Written

from conftest import Testbed
from tui_helpers import settled, until
from tvirt.model import VMState
from tvirt.screens.app import TvirtApp


def _started(uri: str, name: str) -> libvirt.virConnect:
    """A second connection, as another client: it starts the guest."""
    other = libvirt.open(uri)
    other.lookupByName(name).create()
    return other


@pytest.mark.real
async def test_a_tick_on_its_way_when_p_pauses_is_not_drawn(
    monkeypatch: pytest.MonkeyPatch, testbed: Testbed, guest: str
) -> None:
    """The tick is queued behind a slow job on the host's worker when P pauses the stats
    (a real job holds the worker; the tick is the ticker's own): once the job ends, the
    tick must not reach the screen, so the cursor row's CPU cell keeps its figure."""
    uri = testbed.qemu_uri
    other = _started(uri, guest)
    try:
        app = TvirtApp(uris=[uri], screen_reader=True)
        async with app.run_test(size=(150, 40)) as pilot:
            table = app.dashboard.table
            await until(pilot, lambda: any(vm.name == guest and vm.state is VMState.RUNNING
                                           for vm in table.vms.values()), "the guest", 60)
            key = next(k for k, vm in table.vms.items() if vm.name == guest)
            table.set_text_filter(guest)  # other runs' VMs come and go on this host
            table.focus()
            await settled(pilot, lambda: table.vm_at_cursor() is not None, "the guest's row")
            await pilot.press("P")
            await until(pilot, lambda: "%" in str(table.get_cell(key, "cpu")),
                        "a CPU figure", 60)
            await settled(pilot, lambda: True, "the CPU column's width")
            worker, ticker = app.manager.workers[uri], app.manager.tickers[uri]
            gate = threading.Event()
            worker.call(lambda _conn: gate.wait(60))
            ticks = ticker.ticks
            await until(pilot, lambda: ticker.ticks > ticks, "a tick queued behind the job")
            await pilot.press("P")
            await settled(pilot, lambda: not ticker.due, "the stats paused")
            written = Written(app, monkeypatch)
            await pilot.pause(0.6)  # the first update places the cursor: not counted
            written.chunks.clear()
            seq, cell = app.latest[uri].seq, str(table.get_cell(key, "cpu"))
            y = app.cursor_position.y
            gate.set()
            assert await asyncio.to_thread(ticker.wait_idle, 30), "the tick did not end"
            await pilot.pause(0.6)
            assert app.latest[uri].seq == seq, "a tick reached the app after P"
            assert str(table.get_cell(key, "cpu")) == cell
            assert y not in written.lines()
            assert app.messages[-1] == "Live stats paused."
    finally:
        dom = other.lookupByName(guest)
        if dom.isActive():
            dom.destroy()
        other.close()


@pytest.fixture
def demo_vms() -> Iterator[tuple[libvirt.virConnect, list[str]]]:
    """Three shut-off VMs beside test:///default's own running 'test', defined through a
    second connection of this process (the test driver's default host is shared within
    a process, so the app sees them and their events)."""
    other = libvirt.open("test:///default")
    names = [f"sr-sort-{os.getpid()}-{n}" for n in ("a", "b", "c")]
    xml = ("<domain type='test'><name>{}</name><memory>65536</memory><vcpu>1</vcpu>"
           "<os><type>hvm</type></os></domain>")
    for name in names:
        other.defineXML(xml.format(name))
    try:
        yield other, names
    finally:
        for name in names:
            dom = other.lookupByName(name)
            if dom.isActive():
                dom.destroy()
            dom.undefine()
        other.close()


async def test_sorted_by_state_another_vm_changing_keeps_the_cursor_line(
    monkeypatch: pytest.MonkeyPatch, demo_vms: tuple[libvirt.virConnect, list[str]]
) -> None:
    """Sorted by state (o twice), the cursor on a shut-off VM; another VM is started by a
    second connection, which would sort it above the cursor's: the cursor stays on its VM
    and on its line, that line is not written, and the event log has the change. The
    next key that moves the cursor sorts the table; the cursor is on the VM it went to."""
    other, (first, second, third) = demo_vms
    uri = "test:///default"
    app = TvirtApp(uris=[uri], screen_reader=True)
    async with app.run_test(size=(150, 40)) as pilot:
        table = app.dashboard.table
        await until(pilot, lambda: {first, second, third} <= {
            vm.name for vm in table.vms.values()}, "the three VMs")
        keys = {vm.name: key for key, vm in table.vms.items()}
        table.focus()
        await pilot.press("o", "o")
        assert table.sort_column == "state"
        table.move_cursor(row=table.get_row_index(keys[first]))
        await settled(pilot, lambda: table.vm_at_cursor() == table.vms[keys[first]],
                      "the cursor on the first VM")
        written = Written(app, monkeypatch)
        await pilot.pause(0.6)  # the first update places the cursor: not counted
        written.chunks.clear()
        y, row = app.cursor_position.y, table.cursor_row
        other.lookupByName(third).create()
        await until(pilot, lambda: table.vms[keys[third]].state is VMState.RUNNING,
                    "the start's event")
        await settled(pilot, lambda: True, "the table")
        await pilot.pause(0.6)
        at = table.vm_at_cursor()
        assert at is not None and at.name == first
        assert (table.cursor_row, app.cursor_position.y) == (row, y)
        assert y not in written.lines(), sorted(written.lines())
        assert f"{third} on demo default: shut off -> running" in app.messages
        assert str(table.get_cell(keys[third], "state")) == "running"  # on its own line
        await pilot.press("down")
        await settled(pilot, lambda: True, "the sort")
        at = table.vm_at_cursor()
        assert at is not None and at.name == second
        states = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert states == sorted(states, key=["running", "shut off"].index)
