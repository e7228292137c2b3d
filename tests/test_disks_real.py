"""Disk inventory, classification and wiping on real loop devices with the real lsblk,
wipefs, dd and blkdiscard (no mocks: the point is what the real tools report)."""

from __future__ import annotations

import contextlib
import json
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from loopdevs import have, loop_devices, sh

from tvirt import disks, wipe
from tvirt import progress as pg
from tvirt.remote import Runner, runner_for

pytestmark = pytest.mark.real

LOCAL = Runner("localhost")


@pytest.fixture(autouse=True)
def _tools(need) -> None:  # type: ignore[no-untyped-def]
    missing = have(
        "lsblk", "wipefs", "losetup", "blkdiscard", "mkfs.ext4", "pvcreate", "mkswap", "sfdisk"
    )
    if missing:
        need(missing)


@pytest.fixture
def need():  # type: ignore[no-untyped-def]
    from conftest import need as need_fn

    return need_fn


def vm_disks() -> dict[str, str]:
    conn = libvirt.open("qemu:///system")
    try:
        return disks.vm_disks(conn)
    finally:
        conn.close()


def device(path: str, runner: Runner = LOCAL) -> disks.Device:
    found = disks.find(disks.inventory(runner, vm_disks()), path)
    assert found is not None, f"{path} not in lsblk"
    return found


def refused(path: str, match: str) -> None:
    dev = device(path)
    assert dev.safety is not disks.Safety.SAFE, dev.reason
    assert match in dev.reason
    for method in wipe.Method:
        with pytest.raises(wipe.WipeRefused, match=match):
            wipe.wipe(LOCAL, dev, path, method, confirm=path)


def test_mounted_filesystem_is_refused(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,):
        sh("mkfs.ext4", "-q", loop)
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        sh("mount", loop, str(mnt))
        try:
            refused(loop, f"is mounted on {mnt}")
        finally:
            sh("umount", str(mnt), check=False)


def test_lvm_pv_is_refused(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,):
        sh("pvcreate", "-q", loop)
        try:
            refused(loop, "is an LVM physical volume")
        finally:
            sh("pvremove", "-q", "-y", loop, check=False)


def test_swap_is_refused(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,):
        sh("mkswap", loop)
        sh("swapon", loop)
        try:
            refused(loop, "is in use as swap")
        finally:
            sh("swapoff", loop, check=False)


def test_mounted_partition_is_refused(tmp_path: Path) -> None:
    with loop_devices(tmp_path, partscan=True) as (loop,):
        part = subprocess_sfdisk(loop)
        sh("mkfs.ext4", "-q", part)
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        sh("mount", part, str(mnt))
        try:
            refused(loop, f"its partition {part} is mounted on {mnt}")
        finally:
            sh("umount", str(mnt), check=False)


def subprocess_sfdisk(loop: str) -> str:
    import subprocess

    subprocess.run(["sfdisk", "-q", loop], input="label: gpt\n,\n", text=True, check=True)
    sh("partx", "-u", loop, check=False)
    part = f"{loop}p1"
    assert Path(part).exists(), f"{part} did not appear after partitioning"
    return part


@contextlib.contextmanager
def vm_on(loop: str) -> Iterator[str]:
    name = f"tvirt-test-wipe-{uuidlib.uuid4().hex[:6]}"
    xml = (
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory>"
        "<os><type arch='x86_64'>hvm</type></os><devices>"
        f"<disk type='block' device='disk'><source dev='{loop}'/>"
        "<target dev='vda' bus='virtio'/></disk></devices></domain>"
    )
    conn = libvirt.open("qemu:///system")
    dom = conn.defineXML(xml)
    try:
        yield name
    finally:
        dom.undefine()
        conn.close()


def test_vm_disk_is_refused(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,), vm_on(loop) as name:
        refused(loop, f"is the disk of VM {name}")


def test_unreadable_vm_disks_make_every_device_unknown(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,):
        dev = disks.find(disks.inventory(LOCAL, None), loop)
        assert dev is not None and dev.safety is disks.Safety.UNKNOWN
        assert "the VM disks of this host could not be read" in dev.reason
        with pytest.raises(wipe.WipeRefused, match="is unknown"):
            wipe.wipe(LOCAL, dev, loop, wipe.Method.DISCARD, confirm=loop)


def test_confirmation_must_be_typed_exactly(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,):
        dev = device(loop)
        assert dev.safety is disks.Safety.SAFE, dev.reason
        for typed in ("", "yes", loop + " ", loop.upper()):
            with pytest.raises(wipe.WipeRefused, match="does not match"):
                wipe.wipe(LOCAL, dev, loop, wipe.Method.SIGNATURES, confirm=typed)
        with pytest.raises(wipe.WipeRefused, match="Read-only"):
            wipe.wipe(LOCAL, dev, loop, wipe.Method.ZERO, confirm=loop, readonly=True)


def test_dry_run_shows_exact_commands_and_changes_nothing(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,):
        sh("mkfs.ext4", "-q", loop)
        dev = device(loop)
        report = wipe.wipe(LOCAL, dev, loop, wipe.Method.ZERO, confirm="", dry_run=True)
        assert report.commands[0] == f"wipefs --json {loop}"
        # tvirt holds the local device exclusively, so wipefs must not try to as well
        assert report.commands[1] == f"wipefs --all --force {loop}"
        assert report.commands[2].startswith(f"dd if=/dev/zero of={loop} bs=4M count=67108864")
        assert [s.type for s in device(loop).signatures] == ["ext4"]


@pytest.mark.parametrize("method", list(wipe.Method))
def test_clean_device_is_wiped_and_verified(tmp_path: Path, method: wipe.Method) -> None:
    log = tmp_path / "wipe.log"
    progress: list[pg.Event] = []
    with loop_devices(tmp_path) as (loop,):
        sh("mkfs.ext4", "-q", loop)
        # Non-zero data in the middle too, which only the zero fill must clear.
        sh("dd", "if=/dev/urandom", f"of={loop}", "bs=1M", "seek=20", "count=4", "conv=fsync")
        dev = device(loop)
        assert dev.safety is disks.Safety.SAFE, dev.reason
        assert "old signatures: ext4" in dev.reason
        report = wipe.wipe(
            LOCAL,
            dev,
            loop,
            method,
            confirm=loop,
            current=lambda: device(loop),
            on_progress=progress.append,
            log=log,
        )
        assert report.ok and report.verified, report.message
        assert report.held
        assert [s.type for s in report.found] == ["ext4"]
        assert [s.type for s in report.removed] == ["ext4"]
        assert device(loop).signatures == []
        assert wipe.verify(LOCAL, dev, method) == []
        # One protocol: Started once the device is held, Finished with the message.
        zero = method is wipe.Method.ZERO
        assert progress[0] == (pg.Started(loop, "zeroed", dev.size) if zero
                               else pg.Started(loop, "wiped"))
        assert progress[-1] == pg.Finished(report.message)
        steps = [e for e in progress[1:-1] if isinstance(e, pg.Advanced)]
        assert len(steps) == len(progress) - 2
        if method is wipe.Method.ZERO:
            assert report.throughput, "dd reported no throughput"
            # dd's summary at the end is the last step: every byte, and its time
            assert steps[-1].done == dev.size and steps[-1].complete
            assert steps[-1].elapsed > 0
            # the sampled read-back really reads: put data back and it must complain
            sh("dd", "if=/dev/urandom", f"of={loop}", "bs=64K", "count=1", "conv=fsync")
            assert wipe.verify(LOCAL, dev, method) == ["the block at byte 0 is not zero"]
        else:
            assert steps == []  # wipefs and blkdiscard say nothing while they run
    lines = log.read_text().splitlines()
    assert all(f"host=localhost device={loop}" in line for line in lines)
    assert any(f"ran wipefs --all --force {loop} -> exit 0" in line for line in lines)
    assert lines[-1].endswith("verified.")


def test_over_ssh_the_same_inventory(testbed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = runner_for(testbed.ssh_uri)
    with loop_devices(tmp_path) as (loop,):
        sh("pvcreate", "-q", loop)
        try:
            remote = device(loop, runner)
            assert remote.safety is disks.Safety.UNSAFE
            assert "LVM physical volume" in remote.reason
        finally:
            sh("pvremove", "-q", "-y", loop, check=False)
        report = wipe.wipe(
            runner,
            device(loop, runner),
            loop,
            wipe.Method.ZERO,
            confirm=loop,
            current=lambda: device(loop, runner),
            log=tmp_path / "w.log",
        )
        assert report.ok and report.verified, report.message
        assert "host=127.0.0.1" in (tmp_path / "w.log").read_text()


def test_inventory_json_shape(tmp_path: Path) -> None:
    with loop_devices(tmp_path) as (loop,):
        record = device(loop).as_dict()
        assert list(record)[:4] == ["name", "path", "safety", "reason"]
        json.dumps(record)
