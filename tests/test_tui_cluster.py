"""The cluster overview screen (C): reached from the dashboard, left with Escape, the
rows of real test-driver hosts, event-log lines only when a word changes, and a snapshot
on fixed data (a live cluster's usage and heal counts change from run to run)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tui_helpers import settled, until
from tvirt import cluster
from tvirt.ops.hostcmd import CommandHost
from tvirt.screens.app import TvirtApp
from tvirt.screens.cluster_view import ClusterScreen
from tvirt.screens.dashboard import DashboardScreen

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
NODES = ("node1", "node2", "node3")


def fixed(node3_up: bool, heal: int) -> cluster.Overview:
    """Three hosts of a replica-3 volume; node3 lost or not, heal pending on the others."""
    hosts = []
    for name in NODES:
        lost = name == "node3" and not node3_up
        brick = cluster.BrickHealth(
            "vmstore", f"{name}:/gluster/bricks/vmstore", name, not lost,
            None if lost else heal, "transport endpoint is not connected" if lost else "")
        hosts.append(cluster.HostOverview(
            name, f"qemu+ssh://root@{name}/system", "lost" if lost else "up",
            "Connection lost: no keepalive answer." if lost else "",
            {} if lost else {"running": 2 if name == "node1" else 0, "shut off": 1},
            () if lost else (cluster.PoolUsage("vmstore", "running", 100 << 30, 37 << 30),
                             cluster.PoolUsage("default", "running", 50 << 30, 5 << 30)),
            (brick,), "disconnected" if lost else "connected"))
    vol = cluster.VolumeHealth("vmstore", "started", 3, 3 if node3_up else 2, 3, "met",
                               2 * heal)
    return cluster.Overview(tuple(hosts), (vol,), "node1")


def collecting(views: list[cluster.Overview]) -> Callable[[Sequence[CommandHost]], Any]:
    """A collect that gives the views in turn, then the last again."""

    def collect(_hosts: Sequence[CommandHost]) -> Future[cluster.Overview]:
        done: Future[cluster.Overview] = Future()
        done.set_result(views.pop(0) if len(views) > 1 else views[0])
        return done

    return collect


def cell(table: DataTable[Any], row: str, column: int) -> str:
    return str(table.get_row(row)[column])


async def test_c_opens_the_overview_of_the_hosts_and_escape_leaves() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(150, 40)) as pilot:
        await until(pilot, lambda: LAB in app.manager.workers and app.manager.workers[LAB].label,
                    "the lab host", 30)
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ClusterScreen), "the overview")
        screen = app.screen
        assert isinstance(screen, ClusterScreen)
        await until(pilot, lambda: screen.view is not None, "the first refresh", 30)
        assert screen.view is not None
        (host,) = screen.view.hosts
        hosts = screen.query_one("#cluster-hosts", DataTable)
        assert cell(hosts, LAB, 1) == "up"
        running = host.vms["running"]
        assert running > 0 and cell(hosts, LAB, 2).startswith(f"{running} running")
        # No gluster on a demo host; its pools by how full they are.
        assert cell(hosts, LAB, 3) == "none" and cell(hosts, LAB, 4) == "none"
        assert cell(hosts, LAB, 5) == "; ".join(f"{p.name} {p.percent}" for p in host.pools)
        assert host.pools and cell(hosts, LAB, 6) == ""
        status = str(screen.query_one("#cluster-status", Static).render())
        assert status.startswith("Cluster overview: 1 host, 0 lost, 0 bricks offline;")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")


async def test_a_change_is_one_event_log_line_not_one_per_tick() -> None:
    views = [fixed(True, 0), fixed(False, 4), fixed(False, 7), fixed(True, 0)]
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(150, 40)) as pilot:
        screen = ClusterScreen(hosts=list, interval=0, collect=collecting(views))
        await app.push_screen(screen)
        await until(pilot, lambda: screen.ticks_done == 1, "the first refresh")
        before = len(app.messages)
        for tick in (2, 3, 4):
            await pilot.press("r")
            await until(pilot, lambda t=tick: screen.ticks_done == t, f"refresh {tick}")
        lines = [m for m in app.messages[before:] if m.startswith("Cluster: ")]
        assert lines == [
            "Cluster: node3: host lost: Connection lost: no keepalive answer.",
            "Cluster: node3: Gluster peer disconnected",
            "Cluster: Brick node3:/gluster/bricks/vmstore of vmstore: offline "
            "(transport endpoint is not connected)",
            "Cluster: Volume vmstore: heal pending 8",
            "Cluster: node3: host up",
            "Cluster: node3: Gluster peer connected",
            "Cluster: Brick node3:/gluster/bricks/vmstore of vmstore: online",
            "Cluster: Volume vmstore: healed, heal pending 0",
        ]
        volumes = screen.query_one("#cluster-volumes", DataTable)
        assert [cell(volumes, "vmstore", i) for i in range(6)] == [
            "vmstore", "started", "3 of 3", "3", "met", "0"]


def test_cluster_overview_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def open_view(pilot: Pilot[int]) -> None:
        screen = ClusterScreen(hosts=list, interval=0, collect=collecting([fixed(False, 6)]))
        await pilot.app.push_screen(screen)
        await settled(pilot, lambda: screen.ticks_done == 1, "the first refresh")

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=(150, 24), run_before=open_view)


async def test_screen_reader_hears_no_tick_that_changed_nothing() -> None:
    app = TvirtApp(uris=[LAB], screen_reader=True)
    async with app.run_test(size=(150, 40)) as pilot:
        screen = ClusterScreen(hosts=list, interval=0, collect=collecting([fixed(True, 0)]))
        await app.push_screen(screen)
        await until(pilot, lambda: screen.ticks_done == 1, "the first refresh")
        status = screen.query_one("#cluster-status", Static)
        first = str(status.render())
        await pilot.press("r")
        await until(pilot, lambda: screen.ticks_done == 2, "the second refresh")
        assert str(status.render()) == first
        assert first == ("Cluster overview: 3 hosts, 0 lost, 0 bricks offline; "
                         "Gluster asked on node1; refreshed on r")


async def test_thirty_hosts_are_thirty_lines() -> None:
    hosts = tuple(cluster.HostOverview(f"host{i:02d}", f"qemu+ssh://root@host{i:02d}/system",
                                       "up", "", {"running": i % 3})
                  for i in range(30))
    view = cluster.Overview(hosts)
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(150, 40)) as pilot:
        screen = ClusterScreen(hosts=list, interval=0, collect=collecting([view]))
        await app.push_screen(screen)
        await settled(pilot, lambda: screen.ticks_done == 1, "the first refresh")
        table = screen.query_one("#cluster-hosts", DataTable)
        assert table.row_count == 30
        assert {row.height for row in table.ordered_rows} == {1}
        assert cell(table, "qemu+ssh://root@host00/system", 2) == "none"
