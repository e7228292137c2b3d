"""Screen-reader mode: the Gluster view and the cluster overview refresh on their tick,
yet a tick never rewrites the line under the cursor, nor does a VM changing state by
itself (issue 19); and a screen below the one shown never makes it redraw.

What the app writes is taken where Textual hands each screen update to the terminal
(App._display; the headless driver drops it) and rendered to the terminal's own bytes,
so "nothing written" and "which lines were written" are read off the real output. The
Gluster and cluster facts are recorded real output changed by hand (tests/fixtures):
the shared test bed's volumes cannot be changed on cue without disturbing other runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from gluster_fixtures import RecordedOps, recorded_state
from test_tui_cluster import collecting, fixed
from textual._compositor import CompositorUpdate
from textual.widgets import DataTable

from tui_helpers import host_loaded, settled, until
from tvirt import gluster
from tvirt.actions import Action
from tvirt.model import VMState
from tvirt.ops import vms as vm_ops
from tvirt.ops.hostcmd import CommandHost
from tvirt.screens.app import TvirtApp
from tvirt.screens.cluster_view import ClusterScreen
from tvirt.screens.gluster_view import GlusterScreen

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
MOVE = re.compile(r"\x1b\[(\d+);\d+H")


class Written:
    """Every screen update from now on, as the bytes a terminal would get."""

    def __init__(self, app: TvirtApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.chunks: list[str] = []
        real = app._display

        def display(screen: Any, renderable: Any) -> None:
            if isinstance(renderable, CompositorUpdate):
                self.chunks.append(renderable.render_segments(app.console))
                # What the terminal driver's path records after writing (skipped when
                # headless): where the update left the cursor, which place_cursor reads.
                app._previous_cursor_position = app.screen.outer_size.clamp_offset(
                    app.cursor_position)
            real(screen, renderable)

        monkeypatch.setattr(app, "_display", display)

    def lines(self) -> set[int]:
        """The screen lines (from 0) that were written to."""
        return {int(row) - 1 for chunk in self.chunks for row in MOVE.findall(chunk)}


def giving(states: list[gluster.GlusterState]) -> Callable[[CommandHost], Any]:
    """A collect that gives the states in turn, then the last again."""

    def collect(_host: CommandHost) -> Future[gluster.GlusterState]:
        done: Future[gluster.GlusterState] = Future()
        done.set_result(states.pop(0) if len(states) > 1 else states[0])
        return done

    return collect


def cells(table: DataTable[Any], row: int) -> list[str]:
    return [str(cell) for cell in table.get_row_at(row)]


async def test_gluster_tick_writes_nothing_unchanged_and_never_the_cursor_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    changed = recorded_state()
    first, second = changed.volumes[0], changed.volumes[1]
    first.pools, second.pools = ["vm"], ["vm"]  # narrower than the column: no widening
    changed.volumes[1].bricks[0].heal_pending = 5
    app = TvirtApp(uris=[LAB], screen_reader=True)
    async with app.run_test(size=(150, 40)) as pilot:
        screen = GlusterScreen(RecordedOps(), interval=0,
                               collect=giving([recorded_state(), recorded_state(), changed]))
        await app.push_screen(screen)
        await settled(pilot, lambda: screen.ticks_done == 1, "the first refresh")
        volumes = screen.query_one("#gluster-volumes", DataTable)
        volumes.focus()
        await settled(pilot, lambda: app.focused is volumes, "the volumes focused")
        await pilot.pause(0.6)  # the app's twice-a-second cursor check has run
        under, other = cells(volumes, 0), cells(volumes, 1)
        written = Written(app, monkeypatch)
        await pilot.pause(0.6)  # the cursor drawn once where place_cursor wants it
        written.chunks.clear()
        screen.tick()  # as the timer does: nobody asked
        await settled(pilot, lambda: screen.ticks_done == 2, "an unchanged tick")
        await pilot.pause(0.6)
        assert written.chunks == []
        before = len(app.messages)
        screen.tick()
        await settled(pilot, lambda: screen.ticks_done == 3, "a changed tick")
        await pilot.pause(0.6)
        cursor = app.cursor_position.y
        assert written.lines() and cursor not in written.lines()
        assert cells(volumes, 0) == under  # held: the cursor is on it
        assert cells(volumes, 1) == [*other[:4], "vm", other[5]]
        (note,) = app.messages[before:]
        assert note.startswith(f"Gluster on localhost qemu/system: volume {under[0]}: "
                               f"Pools {under[4]} -> vm; volume {other[0]}: Pools none -> vm;")
        assert "shows it when you move off it or press r" in note
        await pilot.press("down")
        await until(pilot, lambda: cells(volumes, 0)[4] == "vm", "the held change, shown")
        assert app.cursor_position.y == cursor + 1


async def test_cluster_tick_leaves_the_cursor_line_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    app = TvirtApp(uris=[LAB], screen_reader=True)
    async with app.run_test(size=(150, 40)) as pilot:
        views = [fixed(True, 0), fixed(True, 0), fixed(True, 3)]
        screen = ClusterScreen(hosts=list, interval=0, collect=collecting(views))
        await app.push_screen(screen)
        await settled(pilot, lambda: screen.ticks_done == 1, "the first refresh")
        hosts = screen.query_one("#cluster-hosts", DataTable)
        hosts.focus()
        await settled(pilot, lambda: app.focused is hosts, "the hosts focused")
        await pilot.pause(0.6)
        under, node2 = cells(hosts, 0), cells(hosts, 1)
        written = Written(app, monkeypatch)
        await pilot.pause(0.6)
        written.chunks.clear()
        screen.tick()
        await settled(pilot, lambda: screen.ticks_done == 2, "an unchanged tick")
        await pilot.pause(0.6)
        assert written.chunks == []
        screen.tick()
        await settled(pilot, lambda: screen.ticks_done == 3, "a changed tick")
        await pilot.pause(0.6)
        assert written.lines() and app.cursor_position.y not in written.lines()
        # Heal pending shows below; the hosts' brick words grew wider than their column,
        # which would move every line of the focused table: held, like the cursor's row.
        volumes = screen.query_one("#cluster-volumes", DataTable)
        assert cells(volumes, 0)[5] == "6"
        assert cells(hosts, 0) == under and cells(hosts, 1) == node2
        assert app.messages[-1].startswith("Cluster overview: host node1: Bricks ")
        await pilot.press("tab")  # the cursor leaves the hosts: they show it all
        await until(pilot, lambda: cells(hosts, 1) != node2, "the held change, shown")
        assert cells(hosts, 0) != under

async def test_a_screen_below_never_redraws_the_one_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The dashboard under the overview changes (a VM forced off through tvirt's own
    operation, as another host's event would): nothing is written."""
    app = TvirtApp(uris=[LAB], screen_reader=True)
    async with app.run_test(size=(150, 40)) as pilot:
        await until(pilot, lambda: any(
            vm.state is VMState.RUNNING for vm in app.dashboard.table.vms.values()), "the VMs")
        screen = ClusterScreen(hosts=list, interval=0, collect=collecting([fixed(True, 0)]))
        await app.push_screen(screen)
        await settled(pilot, lambda: screen.ticks_done == 1, "the first refresh")
        written = Written(app, monkeypatch)
        await pilot.pause(0.6)
        written.chunks.clear()
        running = sorted((vm for vm in app.dashboard.table.vms.values()
                          if vm.state is VMState.RUNNING), key=lambda vm: vm.name)
        app.perform(Action.FORCE_OFF, running[:1])
        table = app.dashboard.table
        key = running[0].key
        await until(pilot, lambda: table.vms[key].state is VMState.SHUTOFF, "the VM off")
        await settled(pilot, lambda: True, "the dashboard's tables")
        await pilot.pause(0.6)
        assert written.chunks == []



@pytest.mark.parametrize("reader", [True, False])
async def test_the_vm_under_the_cursor_stopped_by_someone_else(
    monkeypatch: pytest.MonkeyPatch, reader: bool
) -> None:
    """web01 is forced off through tvirt's operation from the test, not by a key: in
    screen-reader mode its line keeps 'running' until r; outside it the row follows."""
    app = TvirtApp(uris=[LAB], screen_reader=reader)
    async with app.run_test(size=(150, 40)) as pilot:
        await host_loaded(pilot, LAB, 6)
        table = app.dashboard.table
        table.focus()
        web01 = next(vm for vm in table.vms.values() if vm.name == "web01")
        table.move_cursor(row=table.get_row_index(web01.key))
        await settled(pilot, lambda: table.vm_at_cursor() == web01, "the cursor on web01")
        await pilot.pause(0.6)
        written = Written(app, monkeypatch)
        await pilot.pause(0.6)
        written.chunks.clear()
        y = app.cursor_position.y
        vm_ops.act(app.manager.workers[LAB], Action.FORCE_OFF, web01.uuid)
        await until(pilot, lambda: table.vms[web01.key].state is VMState.SHUTOFF, "the event")
        await settled(pilot, lambda: True, "the tables")
        await pilot.pause(0.6)
        assert any(m.startswith("web01 on ") and m.endswith("running -> shut off")
                   for m in app.messages)
        state = str(table.get_cell(web01.key, "state"))
        if not reader:
            assert state == "shut off"
            return
        assert state == "running" and y not in written.lines()
        await pilot.press("r")
        assert str(table.get_cell(web01.key, "state")) == "shut off"
