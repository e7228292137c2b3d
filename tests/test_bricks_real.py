"""The brick and volume wizard on real loop devices, real LVM/XFS, real glusterd and libvirt.

Disks too small for a thin pool make the LVM thin layout fail at the thin pool on every
kernel: that is the real stop-report-undo path. The XFS layout completes end to end.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import libvirt
import pytest
from loopdevs import TOO_SMALL_FOR_THIN_POOL, have, loop_devices, sh

from conftest import need
from tvirt import bricks, disks, gluster
from tvirt.remote import Runner

pytestmark = pytest.mark.real
LOCAL = Runner("localhost")


def _specs(loops: list[str], host: str) -> list[bricks.BrickSpec]:
    devices = disks.inventory(LOCAL, _call(disks.vm_disks))
    specs = []
    for loop in loops:
        dev = disks.find(devices, loop)
        assert dev is not None and dev.safety is disks.Safety.SAFE, dev and dev.reason
        specs.append(bricks.BrickSpec(LOCAL, dev, host))
    return specs


def _call(fn):  # type: ignore[no-untyped-def]
    conn = libvirt.open("qemu:///system")
    try:
        return fn(conn)
    finally:
        conn.close()


def _volumes() -> set[str]:
    return {v.name for v in gluster.collect(LOCAL, heal=False).volumes}


def _fstab_marks() -> list[str]:
    return [ln for ln in Path("/etc/fstab").read_text().splitlines() if bricks.FSTAB_MARK in ln]


@pytest.fixture
def name() -> str:
    return f"tvirt-test-w{uuid.uuid4().hex[:6]}"


def test_plan_refuses_unsafe_disks_and_bad_names(tmp_path: Path, testbed) -> None:  # type: ignore[no-untyped-def]
    with loop_devices(tmp_path, 3) as loops:
        specs = _specs(loops, testbed.gluster_host)
        with pytest.raises(bricks.PlanError, match="not a usable volume name"):
            bricks.Wizard("bad name; $(x)", specs).plan()
        with pytest.raises(bricks.PlanError, match="exactly 3 bricks"):
            bricks.Wizard("tvirt-test-x", specs[:2]).plan()
        with pytest.raises(bricks.PlanError, match="Read-only"):
            bricks.Wizard("tvirt-test-x", specs, readonly=True).plan()
        sh("pvcreate", "-q", loops[0])
        try:
            fresh = _specs(loops[1:], testbed.gluster_host)
            pv = disks.find(disks.inventory(LOCAL, {}), loops[0])
            assert pv is not None
            bad = [bricks.BrickSpec(LOCAL, pv, testbed.gluster_host), *fresh]
            with pytest.raises(bricks.PlanError, match="LVM physical volume"):
                bricks.Wizard("tvirt-test-x", bad).plan()
        finally:
            sh("pvremove", "-q", "-y", loops[0], check=False)


def test_dry_run_lists_every_command(tmp_path: Path, testbed, name: str) -> None:  # type: ignore[no-untyped-def]
    with loop_devices(tmp_path, 3) as loops:
        wiz = bricks.Wizard(name, _specs(loops, "vm"), pool=bricks.PoolType.GLUSTER)
        text = [s.command for s in wiz.plan()]
    assert text[0] == f"pvcreate -y {loops[0]}"
    assert text[1].startswith("vgcreate gluster_vg_")
    assert "--type thin-pool" in text[2] and "--type thin " in text[3]
    # 64 MiB disks: under XFS's 300 MB minimum, so mkfs.xfs is told --unsupported.
    assert text[4].startswith("mkfs.xfs --unsupported -f -i size=512 /dev/gluster_vg_")
    assert text[5] == f"mkdir -p /gluster_bricks/{name}-1"
    assert text[6].startswith("tee -a /etc/fstab <<< ")
    assert text[7].startswith("mount -t xfs -o inode64,noatime,nodiratime /dev/gluster_vg_")
    assert text[7].endswith(f" /gluster_bricks/{name}-1")
    assert text[-3] == (
        f"gluster --mode=script volume create {name} replica 3 "
        f"vm:/gluster_bricks/{name}-1/brick vm:/gluster_bricks/{name}-2/brick "
        f"vm:/gluster_bricks/{name}-3/brick force"
    )
    assert text[-2] == f"gluster --mode=script volume start {name}"
    assert text[-1].startswith('libvirt: define and start pool: <pool type="gluster">')


def test_failure_stops_reports_and_undo_removes_it(tmp_path: Path, testbed, name: str) -> None:  # type: ignore[no-untyped-def]
    if missing := have("pvcreate", "lvcreate", "mkfs.xfs"):
        need(missing)
    with loop_devices(tmp_path, 3, size=TOO_SMALL_FOR_THIN_POOL) as loops:
        wiz = bricks.Wizard(name, _specs(loops, testbed.gluster_host))
        outcome = bricks.execute(wiz.plan(), log=tmp_path / "b.log", subject=name)
        assert not outcome.ok
        assert outcome.failed is not None and "thin pool" in outcome.failed.what
        assert [s.what for s in outcome.done] == [
            f"make {loops[0]} an LVM physical volume",
            f"create volume group gluster_vg_{name.replace('-', '_')}_0",
        ]
        lines = outcome.summary()
        assert lines[0].startswith("done: localhost: make")
        assert lines[2].startswith("failed: localhost: create thin pool")
        assert any(ln.startswith("not done: ") and "volume create" not in ln for ln in lines)
        assert lines[-1] == f"not done: localhost: start volume {name}"
        undone = bricks.undo(outcome, log=tmp_path / "b.log", subject=name)
        assert undone.undo_errors == []
        assert len(undone.undone) == 2
        for loop in loops:
            dev = disks.find(disks.inventory(LOCAL, {}), loop)
            assert dev is not None and dev.safety is disks.Safety.SAFE, dev.reason
            assert dev.signatures == []
    log = (tmp_path / "b.log").read_text()
    assert f"host=localhost wizard={name} ran pvcreate -y {loops[0]} -> ok" in log
    assert "undo ran vgremove -y" in log


@pytest.mark.parametrize("pool", [bricks.PoolType.GLUSTER, bricks.PoolType.NETFS])
def test_full_wizard_then_undo(tmp_path: Path, testbed, name: str, pool: bricks.PoolType) -> None:  # type: ignore[no-untyped-def]
    if missing := have("mkfs.xfs", "gluster", "mount.glusterfs"):
        need(missing)
    before_marks = _fstab_marks()
    root_existed = Path(bricks.BRICK_ROOT).exists()
    with loop_devices(tmp_path, 3, size="320M") as loops:
        wiz = bricks.Wizard(
            name,
            _specs(loops, testbed.gluster_host),
            layout=bricks.Layout.XFS,
            pool=pool,
            pool_name=f"{name}-pool",
        )
        outcome = bricks.execute(wiz.plan(), _call, log=tmp_path / "b.log", subject=name)
        try:
            assert outcome.ok, outcome.summary()
            state = gluster.collect(LOCAL)
            (vol,) = [v for v in state.volumes if v.name == name]
            assert (vol.type, vol.status, vol.replica) == ("Replicate", "Started", 3)
            assert [b.state for b in vol.bricks] == ["online"] * 3
            assert {b.filesystem for b in vol.bricks} == {"xfs"}
            assert _call(gluster.pools_by_volume)[name] == [f"{name}-pool"]
            assert len(_fstab_marks()) == len(before_marks) + 3
            for mount in wiz.mountpoints():
                assert sh("findmnt", "-n", mount, check=False).returncode == 0
        finally:
            undone = bricks.undo(outcome, _call, log=tmp_path / "b.log", subject=name)
        assert undone.undo_errors == []
        assert name not in _volumes()
        assert name not in _call(gluster.pools_by_volume)
        assert not Path(f"/var/lib/libvirt/images/{name}-pool").exists()
        assert _fstab_marks() == before_marks
        for mount in wiz.mountpoints():
            assert not Path(mount).exists()
        for loop in loops:
            dev = disks.find(disks.inventory(LOCAL, {}), loop)
            assert dev is not None and dev.signatures == [], dev and dev.signatures
    if not root_existed:  # the wizard leaves the shared parent directory; we made it
        Path(bricks.BRICK_ROOT).rmdir()
