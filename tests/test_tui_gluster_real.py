"""The Gluster view and both wizards on the real glusterd, loop devices, LVM and libvirt."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
from glustervol import own_volume
from loopdevs import TOO_SMALL_FOR_THIN_POOL, have, loop_devices
from textual.widgets import DataTable, ProgressBar

from conftest import LocalHost, need
from tui_helpers import until, wipe_wizard_at_confirm
from tvirt import disks
from tvirt.remote import Runner
from tvirt.screens.app import TvirtApp
from tvirt.screens.brick_wizard import BrickWizard
from tvirt.screens.gluster_view import GlusterScreen
from tvirt.screens.progress import ProgressPanel

pytestmark = pytest.mark.real
LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"


def cell(table: DataTable[Any], row: str, column: int) -> str:
    return str(table.get_row(row)[column])


@pytest.fixture(autouse=True)
def _tools() -> None:
    if missing := have("gluster", "mkfs.xfs", "lsblk", "wipefs", "pvcreate"):
        need(missing)


async def test_killed_brick_is_offline_on_the_next_tick(
    tmp_path: Path, testbed, local_host: LocalHost  # type: ignore[no-untyped-def]
) -> None:
    with own_volume(tmp_path, testbed.gluster_host) as name:
        app = TvirtApp(uris=[LAB])
        async with app.run_test(size=(140, 40)) as pilot:
            screen = GlusterScreen(local_host(), interval=1.0)
            await app.push_screen(screen)
            await until(pilot, lambda: screen.state is not None, "the first refresh", timeout=60)
            assert screen.state is not None
            vol = next(v for v in screen.state.volumes if v.name == name)
            victim = vol.bricks[0]
            bricks = screen.query_one("#gluster-bricks", DataTable)
            assert cell(bricks, victim.name, 1) == "online"
            assert cell(bricks, victim.name, 4) == str(victim.pid)
            os.kill(victim.pid, signal.SIGKILL)
            after = screen.ticks_started  # ticks started before the kill may not see it
            await until(pilot, lambda: screen.ticks_done > after, "one tick after the kill", 60)
            assert cell(bricks, victim.name, 1) == "offline"
            assert cell(bricks, victim.name, 4) == "none"
            volumes = screen.query_one("#gluster-volumes", DataTable)
            assert cell(volumes, name, 1) == "degraded, 1 of 3 bricks offline"
            # the test bed's own volume stays as it was
            assert cell(volumes, testbed.gluster_volume, 1) == "started"


async def test_wipe_wizard_wipes_and_verifies(ext4_loop: str, local_host: LocalHost) -> None:
    loop = ext4_loop
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(130, 40)) as pilot:
        wiz = await wipe_wizard_at_confirm(app, pilot, local_host(), loop, ("down",))
        await pilot.press(*loop, "enter")
        await until(pilot, lambda: wiz.report is not None, "the wipe", timeout=60)
        assert wiz.report is not None
        assert wiz.report.ok and wiz.report.verified, wiz.report.message
        assert [s.type for s in wiz.report.found] == ["ext4"]
        assert [s.type for s in wiz.report.removed] == ["ext4"]
        # the wipe's progress events reached the panel: its start, then the end
        panel = wiz.query_one("#wizard-progress", ProgressPanel)
        assert panel.started.what == loop and panel.started.verb == "zeroed"
        assert wiz.query_one("#wizard-progress-bar", ProgressBar).percentage == 1.0
    dev = disks.find(disks.inventory(Runner("localhost"), {}), loop)
    assert dev is not None and dev.signatures == []


async def test_brick_wizard_failure_then_undo(
    tmp_path: Path, testbed, local_host: LocalHost  # type: ignore[no-untyped-def]
) -> None:
    with loop_devices(tmp_path, 3, size=TOO_SMALL_FOR_THIN_POOL) as loops:
        app = TvirtApp(uris=[LAB])
        async with app.run_test(size=(130, 50)) as pilot:
            wiz = BrickWizard(local_host(), volume="tvirt-test-tui")
            await app.push_screen(wiz)
            await until(pilot, lambda: wiz.devices, "the device list")
            table = wiz.query_one("#wizard-table", DataTable)
            for loop in loops:
                table.move_cursor(row=table.get_row_index(loop))
                await pilot.press("space")
            assert wiz.marked == loops
            await pilot.press("enter")
            await until(pilot, lambda: wiz.step == 1, "settings")
            await pilot.press("down", "down", "down", "enter")  # continue
            await until(pilot, lambda: wiz.step == 2, "the plan")
            await pilot.press(*"tvirt-test-tui", "enter")
            await until(pilot, lambda: wiz.outcome is not None, "the run", timeout=60)
            assert wiz.outcome is not None and not wiz.outcome.ok
            assert wiz.outcome.failed is not None and "thin pool" in wiz.outcome.failed.what
            run = wiz.query_one("#wizard-table", DataTable)
            assert [cell(run, str(i), 1) for i in range(4)] == [
                "done",
                "done",
                "failed",
                "not done",
            ]
            await pilot.press("U")
            await until(pilot, lambda: wiz.undo_finished, "the undo", timeout=60)
            assert wiz.outcome.undo_errors == []
        for loop in loops:
            dev = disks.find(disks.inventory(Runner("localhost"), {}), loop)
            assert dev is not None and dev.safety is disks.Safety.SAFE, dev.reason


async def test_g_on_the_dashboard_opens_the_view_for_the_real_host(testbed) -> None:  # type: ignore[no-untyped-def]
    app = TvirtApp(uris=[LAB, testbed.qemu_uri])
    async with app.run_test(size=(150, 40)) as pilot:
        await until(pilot, lambda: testbed.qemu_uri in app.manager.workers, "the host")
        await pilot.press("G")
        await until(pilot, lambda: isinstance(app.screen, GlusterScreen), "the Gluster view")
        screen = app.screen
        assert isinstance(screen, GlusterScreen)
        await until(pilot, lambda: screen.state is not None, "the first refresh", timeout=60)
        assert screen.state is not None and screen.state.error == ""
        volumes = screen.query_one("#gluster-volumes", DataTable)
        assert cell(volumes, testbed.gluster_volume, 1) == "started"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GlusterScreen), "back")
