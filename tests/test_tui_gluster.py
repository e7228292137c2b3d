"""Snapshots of the Gluster view and of each wizard step, on recorded real tool output."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest
from gluster_fixtures import RecordedOps, recorded_collect, recorded_devices, recorded_state
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tui_helpers import settled, until
from tvirt import bricks, disks, gluster, wipe
from tvirt import progress as pg
from tvirt.errors import TvirtError
from tvirt.ops.hostcmd import CommandHost
from tvirt.screens.app import TvirtApp
from tvirt.screens.brick_wizard import BrickWizard, StepChanged
from tvirt.screens.gluster_view import GlusterScreen
from tvirt.screens.progress import ProgressEvent
from tvirt.screens.wipe_wizard import WipeWizard
from tvirt.screens.wizard import RunFinished

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
SIZE = (130, 40)


def message(app: TvirtApp) -> str:
    return str(app.screen.query_one("#wizard-message", Static).render())


def test_recorded_state_reads_the_killed_brick_as_offline() -> None:
    state = recorded_state()
    snap = next(v for v in state.volumes if v.name == "tvirt-test-snap")
    assert [b.state for b in snap.bricks] == ["online", "offline", "online"]
    assert snap.state == "degraded, 1 of 3 bricks offline"
    devices = {d.path: d for d in recorded_devices()}
    assert devices["/dev/loop0"].safety is disks.Safety.SAFE
    assert "LVM physical volume" in devices["/dev/loop1"].reason
    assert "mounted on /srv/data" in devices["/dev/loop2"].reason
    assert "in use as swap" in devices["/dev/loop3"].reason


def test_gluster_view_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def open_view(pilot: Pilot[int]) -> None:
        app = pilot.app
        screen = GlusterScreen(RecordedOps(), interval=0, collect=recorded_collect)
        await app.push_screen(screen)
        await settled(pilot, lambda: screen.ticks_done == 1, "the first refresh")

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=(150, 40), run_before=open_view)


async def _wipe_wizard(pilot: Pilot[int]) -> WipeWizard:
    app = pilot.app
    wiz = WipeWizard(RecordedOps())
    await app.push_screen(wiz)
    await settled(pilot, lambda: wiz.devices, "the device list")
    return wiz


def test_wipe_step1_devices_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _wipe_wizard(pilot)
        table = wiz.query_one("#wizard-table", DataTable)
        table.move_cursor(row=table.get_row_index("/dev/loop2"))
        await pilot.press("enter")  # the mounted one: refused, with the reason
        await settled(pilot, lambda: "Refused" in message(pilot.app), "the refusal")  # type: ignore[arg-type]
        assert "Refused: /dev/loop2 is unsafe: it is mounted on /srv/data" in message(pilot.app)  # type: ignore[arg-type]
        assert wiz.step == 0

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


async def _to_method(pilot: Pilot[int]) -> WipeWizard:
    wiz = await _wipe_wizard(pilot)
    table = wiz.query_one("#wizard-table", DataTable)
    table.move_cursor(row=table.get_row_index("/dev/loop0"))
    await pilot.press("enter")
    await settled(pilot, lambda: wiz.step == 1, "step 2")
    return wiz


def test_wipe_step2_method_snapshot(snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=_to_method)


def test_wipe_step3_confirm_snapshot(
    snap_compare: Callable[..., bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The step names its log file; keep that path the same on every machine and run.
    monkeypatch.setenv("XDG_STATE_HOME", "/root/.local/state")
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _to_method(pilot)
        await pilot.press("down", "enter")  # zero fill
        await until(pilot, lambda: wiz.step == 2, "step 3")
        await pilot.press(*"/dev/loop", "enter")  # not the full path: refused
        await pilot.pause()
        assert "does not match /dev/loop0" in message(pilot.app)  # type: ignore[arg-type]
        assert wiz.step == 2
        await settled(pilot, lambda: wiz.step == 2, "step 3 still")

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


def test_wipe_step4_result_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _to_method(pilot)
        await pilot.press("down", "enter")
        await until(pilot, lambda: wiz.step == 2, "step 3")
        wiz._show_step(3)  # the wipe itself is tested for real in test_tui_gluster_real
        dev = wiz.device
        assert dev is not None
        report = wipe.WipeReport(
            "localhost",
            dev.path,
            wipe.Method.ZERO,
            [" ".join(c) for c in wipe.commands(dev, wipe.Method.ZERO)],
            found=[disks.Signature("loop0", "0x438", "ext4")],
            removed=[disks.Signature("loop0", "0x438", "ext4")],
            held=True,
            ok=True,
            verified=True,
            message=f"{dev.path} on localhost wiped (zero) and verified.",
            throughput="412 MB/s",
        )
        # what wipe.wipe reports before the wizard's thread posts the result
        for event in (
            pg.Started(dev.path, "zeroed", dev.size),
            pg.Advanced(dev.size, dev.size, elapsed=2.0),
            pg.Finished(report.message),
        ):
            wiz.post_message(ProgressEvent(event))
        wiz.post_message(RunFinished(report))
        await settled(pilot, lambda: wiz.report is not None, "the result")

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


async def _brick_wizard(pilot: Pilot[int]) -> BrickWizard:
    wiz = BrickWizard(RecordedOps("lsblk-clean.json"), volume="tvirt-test-vol")
    await pilot.app.push_screen(wiz)
    await settled(pilot, lambda: wiz.devices, "the device list")
    for _ in range(3):
        await pilot.press("space", "down")
    await settled(pilot, lambda: len(wiz.marked) == 3, "three disks marked")
    return wiz


def test_brick_step1_disks_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _brick_wizard(pilot)
        assert wiz.marked == ["/dev/loop0", "/dev/loop1", "/dev/loop2"]

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


async def _to_settings(pilot: Pilot[int]) -> BrickWizard:
    wiz = await _brick_wizard(pilot)
    await pilot.press("enter")
    await until(pilot, lambda: wiz.step == 1, "settings")
    await pilot.press("down", "enter")  # arbiter: yes
    await pilot.press("down", "enter")  # pool: gluster
    await settled(pilot, lambda: wiz.pool is bricks.PoolType.GLUSTER, "the pool type")
    return wiz


def test_brick_step2_settings_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _to_settings(pilot)
        assert wiz.arbiter and wiz.pool is bricks.PoolType.GLUSTER

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=SIZE, run_before=run)


async def _to_plan(pilot: Pilot[int]) -> BrickWizard:
    wiz = await _to_settings(pilot)
    await pilot.press("down", "enter")  # continue
    await settled(pilot, lambda: wiz.step == 2, "the plan")
    return wiz


def test_brick_step3_plan_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _to_plan(pilot)
        body = str(wiz.query_one("#wizard-body", Static).render())
        assert "pvcreate -y /dev/loop0" in body and "arbiter 1" in body

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=(130, 50), run_before=run)


def test_brick_step4_failure_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        wiz = await _to_plan(pilot)
        wiz.ops.readonly = False
        # Show the run screen without running: the real run is in test_tui_gluster_real.
        wiz._run = lambda: None  # type: ignore[method-assign]
        await pilot.press(*"tvirt-test-vol", "enter")
        await until(pilot, lambda: wiz.step == 3, "the run")
        steps = wiz.steps
        for i in range(2):
            wiz.post_message(StepChanged(i, "done"))
        wiz.post_message(StepChanged(2, "failed"))
        error = (
            f"{steps[2].command} failed on localhost: thin-pool: Required device-mapper "
            "target(s) not detected in your kernel."
        )
        wiz.post_message(RunFinished(bricks.Outcome(steps[:2], steps[2], steps[3:], error)))
        await settled(pilot, lambda: wiz.outcome is not None, "the outcome")

    assert snap_compare(TvirtApp(uris=[LAB]), terminal_size=(130, 50), run_before=run)


async def test_collections_never_overlap_and_a_failure_is_the_views_error() -> None:
    # Futures the test completes itself: when each collection ends is the test's choice.
    pending: list[Future[gluster.GlusterState]] = []

    def collect(_host: CommandHost) -> Future[gluster.GlusterState]:
        pending.append(Future())
        return pending[-1]

    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(150, 40)) as pilot:
        screen = GlusterScreen(RecordedOps(), interval=0, collect=collect)
        await app.push_screen(screen)
        await until(pilot, lambda: len(pending) == 1, "the first collection")
        await pilot.press("r", "r")  # asked while the first one runs
        await pilot.pause()
        assert len(pending) == 1 and screen.ticks_started == 3
        pending[0].set_result(recorded_state())
        await until(pilot, lambda: len(pending) == 2, "one more collection after it")
        assert screen.ticks_done == 1
        pending[1].set_exception(TvirtError("gluster is not installed on this machine."))
        await until(pilot, lambda: screen.ticks_done == 3, "the latest refresh")
        status = str(screen.query_one("#gluster-status", Static).render())
        assert "error: gluster is not installed on this machine." in status
        assert len(pending) == 2
