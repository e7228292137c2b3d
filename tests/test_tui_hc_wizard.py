"""The brick wizard's start across hosts: choose three hosts (or one), then a disk on each,
with safe/unsafe and the reason per host. The hosts' disks are recorded lsblk/wipefs
output (tests/gluster_fixtures.py): a fake, since snapshots need the same disks on every
machine; the real run across the lab's hosts is tests/test_lab_hyperconverged.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gluster_fixtures import RecordedOps
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tui_helpers import settled
from tvirt import bricks
from tvirt.remote import Runner
from tvirt.screens.app import TvirtApp
from tvirt.screens.brick_wizard import BrickWizard

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
SIZE = (130, 40)


def node(n: int, devices: str = "lsblk-clean.json") -> RecordedOps:
    host = RecordedOps(devices)
    host.label, host.gluster_host, host.runner = f"node{n} qemu/system", f"node{n}", Runner(
        f"node{n}")
    return host


def message(wiz: BrickWizard) -> str:
    return str(wiz.query_one("#wizard-message", Static).render())


async def _hosts(pilot: Pilot[int]) -> BrickWizard:
    hosts = [node(1), node(2), node(3, "lsblk.json")]
    wiz = BrickWizard(hosts[0], volume="vmstore", hosts=hosts)
    await pilot.app.push_screen(wiz)
    await settled(pilot, lambda: wiz.query_one("#wizard-table", DataTable).row_count == 3,
                  "the hosts")
    for _ in range(3):
        await pilot.press("space", "down")
    await settled(pilot, lambda: len(wiz.host_marks) == 3, "three hosts marked")
    return wiz


def test_host_step_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _hosts(pilot)
        assert wiz.host_marks == [f"node{n} qemu/system" for n in (1, 2, 3)]
        assert message(wiz) == ("3 of 3 hosts marked: node1 qemu/system, node2 qemu/system, "
                                "node3 qemu/system.")

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


async def _disks(pilot: Pilot[int]) -> BrickWizard:
    wiz = await _hosts(pilot)
    await pilot.press("enter")
    table = wiz.query_one("#wizard-table", DataTable)
    await settled(pilot, lambda: len(wiz.listings) == 3 and table.row_count == 10, "the disks")
    return wiz


def test_disk_step_marks_one_safe_disk_per_host_snapshot(
    snap_compare: Callable[..., bool]
) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _disks(pilot)
        assert wiz.several and wiz.pool is bricks.PoolType.NETFS and wiz.auto
        table = wiz.query_one("#wizard-table", DataTable)

        async def mark(key: str) -> None:
            table.move_cursor(row=table.get_row_index(key))
            await pilot.press("space")

        await mark("node3 qemu/system|/dev/loop1")  # an LVM physical volume there
        assert message(wiz) == ("Refused: /dev/loop1 on node3 qemu/system is unsafe: it is an "
                                "LVM physical volume.")
        await mark("node1 qemu/system|/dev/loop0")
        await mark("node1 qemu/system|/dev/loop1")  # one disk per host: replaces loop0
        await mark("node2 qemu/system|/dev/loop2")
        await pilot.press("enter")  # two hosts have a disk: refused
        assert wiz.step == 0 and message(wiz) == (
            "Mark one safe disk on each host; 2 marked.")
        await mark("node3 qemu/system|/dev/loop0")
        assert wiz.disk_of == {"node1 qemu/system": "/dev/loop1",
                               "node2 qemu/system": "/dev/loop2",
                               "node3 qemu/system": "/dev/loop0"}
        assert table.get_row("node1 qemu/system|/dev/loop0")[0] == ""
        specs = wiz._wizard().bricks
        assert [(s.runner.host, s.device.path, s.gluster_host) for s in specs] == [
            ("node1", "/dev/loop1", "node1"), ("node2", "/dev/loop2", "node2"),
            ("node3", "/dev/loop0", "node3")]

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


async def test_one_host_marked_is_the_single_host_wizard() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=SIZE) as pilot:
        hosts = [node(1), node(2), node(3)]
        wiz = BrickWizard(hosts[0], hosts=hosts)
        await app.push_screen(wiz)
        await pilot.press("down", "space", "enter")
        table = wiz.query_one("#wizard-table", DataTable)
        await settled(pilot, lambda: wiz.devices and table.row_count == 3, "node2's disks")
        assert not wiz.several and wiz.ops is hosts[1]
        assert [str(c.label) for c in table.ordered_columns] == [
            "Mark", "Device", "Safety", "Size", "Reason"]
        assert wiz.what == "Bricks and volume on node2 qemu/system"
