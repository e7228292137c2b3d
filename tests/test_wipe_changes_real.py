"""A device that changes between the typed confirmation and the wipe is not wiped.

Each test classifies a real loop device (safe), makes one change from outside, as another
shell would while the person types the path, and only then calls the wipe with the device
as it was confirmed. Everything made here (mounts, swap, VGs, loop devices) is undone."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest
from loopdevs import have, loop_devices, sh
from pty_term import Terminal
from textual.widgets import DataTable, Static

from conftest import LocalHost, need
from tui_helpers import until, wipe_wizard_at_confirm
from tvirt import disks, wipe
from tvirt.remote import Runner, runner_for
from tvirt.screens.app import TvirtApp
from tvirt.screens.brick_wizard import BrickWizard

pytestmark = pytest.mark.real

LOCAL = Runner("localhost")


@pytest.fixture(autouse=True)
def _tools() -> None:
    if missing := have("lsblk", "wipefs", "losetup", "mkfs.ext4", "pvcreate", "mkswap", "sfdisk"):
        need(missing)


def vm_disks() -> dict[str, str]:
    conn = libvirt.open("qemu:///system")
    try:
        return disks.vm_disks(conn)
    finally:
        conn.close()


def device(path: str, runner: Runner = LOCAL) -> disks.Device | None:
    return disks.find(disks.inventory(runner, vm_disks()), path)


def signatures(path: str) -> list[str]:
    out = sh("wipefs", "--json", "--no-act", path).stdout
    return [s.type for s in disks.parse_wipefs(out)]


@contextlib.contextmanager
def mounted(loop: str, tmp: Path) -> Iterator[str]:
    mnt = tmp / "mnt"
    mnt.mkdir()
    sh("mount", loop, str(mnt))
    try:
        yield f"mounted on {mnt}"
    finally:
        sh("umount", str(mnt), check=False)


@contextlib.contextmanager
def physical_volume(loop: str, _tmp: Path) -> Iterator[str]:
    vg = f"tvirt_test_{uuidlib.uuid4().hex[:8]}"
    sh("pvcreate", "-q", "-y", loop)
    try:
        sh("vgcreate", "-q", vg, loop)  # metadata only: no device-mapper needed
        yield "new: signature LVM2_member"
    finally:
        sh("vgremove", "-q", "-y", vg, check=False)
        sh("pvremove", "-q", "-y", loop, check=False)


@contextlib.contextmanager
def swap(loop: str, _tmp: Path) -> Iterator[str]:
    sh("mkswap", loop)
    sh("swapon", loop)
    try:
        yield "in use as swap"
    finally:
        sh("swapoff", loop, check=False)


@contextlib.contextmanager
def partition_table(loop: str, _tmp: Path) -> Iterator[str]:
    subprocess.run(["sfdisk", "-q", loop], input="label: gpt\n,\n", text=True, check=True)
    sh("partx", "-u", loop, check=False)
    yield "new: signature gpt"


@contextlib.contextmanager
def grown(loop: str, tmp: Path) -> Iterator[str]:
    sh("truncate", "-s", "96M", str(tmp / "tvirt-test-loop0.img"))
    sh("losetup", "-c", loop)
    yield "its size changed from 67108864 to 100663296 bytes"


Change = Callable[[str, Path], contextlib.AbstractContextManager[str]]


@pytest.mark.parametrize("change", [mounted, physical_volume, swap, partition_table, grown])
@pytest.mark.parametrize("method", [wipe.Method.SIGNATURES, wipe.Method.ZERO])
def test_a_change_after_confirmation_stops_the_wipe(
    tmp_path: Path, change: Change, method: wipe.Method
) -> None:
    with loop_devices(tmp_path, partscan=True) as (loop,):
        sh("mkfs.ext4", "-q", loop)
        confirmed = device(loop)
        assert confirmed is not None and confirmed.safety is disks.Safety.SAFE, confirmed
        log = tmp_path / "wipe.log"
        with change(loop, tmp_path) as words:
            before = signatures(loop)
            with pytest.raises(wipe.WipeRefused) as refused:
                wipe.wipe(
                    LOCAL, confirmed, loop, method, loop, current=lambda: device(loop), log=log
                )
            text = str(refused.value)
            assert text.startswith(f"{loop} changed since it was confirmed: ")
            assert words in text
            assert text.endswith("nothing was wiped.")
            assert signatures(loop) == before  # nothing was touched
        assert "ran wipefs --all" not in log.read_text()


@contextlib.contextmanager
def held_by_another_program(path: str) -> Iterator[None]:
    """An exclusive open that lsblk cannot see (as a program with the disk open would)."""
    fd = os.open(path, os.O_RDONLY | os.O_EXCL)
    try:
        yield
    finally:
        os.close(fd)


def test_locally_a_device_held_elsewhere_is_refused(tmp_path: Path, ext4_loop: str) -> None:
    loop = ext4_loop
    confirmed = device(loop)
    assert confirmed is not None and confirmed.safety is disks.Safety.SAFE
    with held_by_another_program(loop):
        with pytest.raises(wipe.WipeRefused, match="cannot be opened exclusively"):
            wipe.wipe(
                LOCAL,
                confirmed,
                loop,
                wipe.Method.SIGNATURES,
                loop,
                current=lambda: device(loop),
                log=tmp_path / "w.log",
            )
    assert signatures(loop) == ["ext4"]


def test_over_ssh_a_failed_wipefs_reports_nothing_removed(  # type: ignore[no-untyped-def]
    testbed, tmp_path: Path, ext4_loop: str
) -> None:
    """Over ssh nothing is held, so wipefs's own exclusive open meets the other holder and
    fails: the report must say so and claim no removed signature."""
    runner = runner_for(testbed.ssh_uri)
    loop = ext4_loop
    confirmed = device(loop, runner)
    assert confirmed is not None and confirmed.safety is disks.Safety.SAFE
    with held_by_another_program(loop):
        report = wipe.wipe(
            runner,
            confirmed,
            loop,
            wipe.Method.SIGNATURES,
            loop,
            current=lambda: device(loop, runner),
            log=tmp_path / "w.log",
        )
    assert not report.ok and not report.verified and not report.held
    assert f"wipefs --all {loop} failed" in report.message
    assert [s.type for s in report.found] == ["ext4"]
    assert report.removed == []
    assert signatures(loop) == ["ext4"]


# ----- the same seam in the wizards and the command ---------------------------------------

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"


async def test_wipe_wizard_refuses_a_device_that_became_a_pv_while_typing(
    tmp_path: Path, ext4_loop: str, local_host: LocalHost
) -> None:
    """The reported case: safe at step 1, pvcreate + vgcreate from another shell while step 3
    waits for the path; typing it must not wipe the new PV."""
    loop = ext4_loop
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(130, 40)) as pilot:
        wiz = await wipe_wizard_at_confirm(app, pilot, local_host(), loop, ())
        with physical_volume(loop, tmp_path):
            await pilot.press(*loop, "enter")
            await until(pilot, lambda: wiz.report is not None, "the wipe", timeout=60)
            body = str(wiz.query_one("#wizard-body", Static).render())
            assert "Signatures removed: none" in body
            assert f"{loop} changed since it was confirmed" in body
            assert "new: signature LVM2_member" in body
            assert "Result: failed." in body
            assert "LVM2_member" in signatures(loop)


async def test_brick_wizard_stops_before_any_step_when_a_disk_changed(
    tmp_path: Path, local_host: LocalHost
) -> None:
    with loop_devices(tmp_path, 3, partscan=True) as loops:
        app = TvirtApp(uris=[LAB])
        async with app.run_test(size=(130, 50)) as pilot:
            wiz = BrickWizard(local_host(), volume="tvirt-test-changed")
            await app.push_screen(wiz)
            await until(pilot, lambda: wiz.devices, "the device list")
            table = wiz.query_one("#wizard-table", DataTable)
            for loop in loops:
                table.move_cursor(row=table.get_row_index(loop))
                await pilot.press("space")
            await pilot.press("enter")
            await until(pilot, lambda: wiz.step == 1, "settings")
            await pilot.press("down", "down", "down", "enter")  # continue
            await until(pilot, lambda: wiz.step == 2, "the plan")
            with swap(loops[1], tmp_path):
                await pilot.press(*"tvirt-test-changed", "enter")
                await until(pilot, lambda: wiz.outcome is not None, "the run", timeout=60)
                assert wiz.outcome is not None
                assert wiz.outcome.done == [] and wiz.outcome.failed is None
                assert f"{loops[1]} on localhost: new: {loops[1]} in use as swap" in (
                    wiz.outcome.error
                )
                body = str(wiz.query_one("#wizard-body", Static).render())
                assert body.startswith("Nothing was run: changed since the plan was confirmed")
                run = wiz.query_one("#wizard-table", DataTable)
                assert {str(run.get_row(str(i))[1]) for i in range(run.row_count)} == {"not done"}
                # nothing was made on the other two disks either
                assert signatures(loops[0]) == [] and signatures(loops[2]) == []


def test_wipe_command_refuses_a_device_swapped_on_at_the_prompt(
    tmp_path: Path, ext4_loop: str
) -> None:
    loop = ext4_loop
    term = Terminal(
        [str(Path(sys.executable).with_name("tvirt")), "wipe", "localhost", loop,
         "--method", "zero"],
        env={"XDG_STATE_HOME": str(tmp_path / "state"), "NO_COLOR": "1"},
    )
    try:
        term.wait_for(lambda: f"Type {loop} to wipe it" in term.text(), what="the prompt")
        with swap(loop, tmp_path):
            term.send(loop + "\r")
            code = term.proc.wait(120)
            text = term.text()
            assert code == 1, text
            assert f"{loop} changed since it was confirmed" in text
            assert "in use as swap" in text and "nothing was wiped." in text
            assert signatures(loop) == ["swap"]
    finally:
        term.close()
