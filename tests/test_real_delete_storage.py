"""Deleting a VM with or without its storage, on the real libvirtd.

A dir pool in a temp dir holds one volume; a VM (never started) uses it as its disk, by
path (``<disk type='file'>``) or by pool and volume name (``<disk type='volume'>``). Then
`tvirt delete` or the dashboard's D deletes the VM, and the volume is gone or kept.
"""

from __future__ import annotations

import os
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pytest
from test_tui_dashboard import SIZE, select, table
from textual.widgets import Checkbox

from conftest import Testbed
from tui_helpers import until
from tvirt import storage
from tvirt.cli import main
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.sizes import MIB

pytestmark = pytest.mark.real
PID = os.getpid()


@dataclass(frozen=True)
class Disk:
    pool: str
    volume: str
    path: str


@pytest.fixture
def conn(testbed: Testbed) -> Iterator[libvirt.virConnect]:
    c = libvirt.open(testbed.qemu_uri)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def disk(conn: libvirt.virConnect, tmp_path: Path) -> Iterator[Disk]:
    """A dir pool of this test with one 4 MiB raw volume."""
    name = f"tvirt-test-del-{PID}"
    storage.pool_define(conn, storage.PoolSpec("dir", name, target=str(tmp_path / "pool")),
                        build=True)
    try:
        vol = storage.volume_create(
            conn, name, storage.VolumeSpec(f"disk-{PID}.img", 4 * MIB, "raw", "full"))
        yield Disk(name, vol.name, vol.path)
    finally:
        pool = conn.storagePoolLookupByName(name)
        if pool.isActive():
            pool.destroy()
        pool.undefine()


def define_vm(conn: libvirt.virConnect, name: str, disk: Disk, kind: str) -> None:
    if kind == "file":
        source = f"<disk type='file' device='disk'><source file='{disk.path}'/>"
    else:
        source = (f"<disk type='volume' device='disk'>"
                  f"<source pool='{disk.pool}' volume='{disk.volume}'/>")
    conn.defineXML(f"""<domain type='qemu'><name>{name}</name><uuid>{uuidlib.uuid4()}</uuid>
      <memory unit='MiB'>64</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type></os>
      <devices>{source}<driver name='qemu' type='raw'/><target dev='vda' bus='virtio'/></disk>
      </devices></domain>""")


def vm_exists(conn: libvirt.virConnect, name: str) -> bool:
    try:
        conn.lookupByName(name)
    except libvirt.libvirtError:
        return False
    return True


def volume_exists(conn: libvirt.virConnect, disk: Disk) -> bool:
    pool = conn.storagePoolLookupByName(disk.pool)
    pool.refresh(0)
    return disk.volume in pool.listVolumes() and Path(disk.path).exists()


@pytest.fixture
def vm_name(conn: libvirt.virConnect) -> Iterator[str]:
    name = f"tvirt-test-del-vm-{PID}"
    try:
        yield name
    finally:
        try:
            conn.lookupByName(name).undefine()
        except libvirt.libvirtError:
            pass  # deleted by the test, as it should be


@pytest.mark.parametrize("kind", ["file", "volume"])
def test_delete_with_remove_storage_removes_the_volume(
    testbed: Testbed, conn: libvirt.virConnect, disk: Disk, vm_name: str, kind: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    define_vm(conn, vm_name, disk, kind)
    assert main(["-c", testbed.qemu_uri, "delete", vm_name, "--remove-storage", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"Removed storage: {disk.path}." in out, out
    assert not vm_exists(conn, vm_name)
    assert not volume_exists(conn, disk)


@pytest.mark.parametrize("kind", ["file", "volume"])
def test_delete_without_the_option_keeps_the_volume(
    testbed: Testbed, conn: libvirt.virConnect, disk: Disk, vm_name: str, kind: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    define_vm(conn, vm_name, disk, kind)
    assert main(["-c", testbed.qemu_uri, "delete", vm_name, "--yes"]) == 0
    assert "Removed storage" not in capsys.readouterr().out
    assert not vm_exists(conn, vm_name)
    assert volume_exists(conn, disk)


@pytest.mark.parametrize("remove", [True, False])
async def test_dashboard_delete_with_and_without_storage(
    testbed: Testbed, conn: libvirt.virConnect, disk: Disk, vm_name: str, remove: bool
) -> None:
    define_vm(conn, vm_name, disk, "volume")
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any(vm.name == vm_name for vm in table(app).vms.values()),
                    "the VM listed", 60)
        select(app, vm_name)
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the dialog")
        box = app.screen.query_one("#remove-storage", Checkbox)
        if remove:
            # Keyboard only: the confirm button has the focus; the box is just before it.
            await pilot.press("shift+tab", "space")
            await until(pilot, lambda: box.value, "the box ticked")
        await pilot.press("y")
        await until(pilot, lambda: any(f"Deleted {vm_name}" in m for m in app.messages),
                    "the result", 30)
        assert any(("Removed storage" in m) is remove for m in app.messages
                   if f"Deleted {vm_name}" in m), app.messages
        await until(pilot, lambda: all(vm.name != vm_name for vm in table(app).vms.values()),
                    "the row removed")
    assert not vm_exists(conn, vm_name)
    assert volume_exists(conn, disk) is not remove
