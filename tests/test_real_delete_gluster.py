"""`tvirt delete --remove-storage` on a VM whose disk is a Gluster network disk, on the real
libvirtd and glusterd: a libvirt gluster pool that knows the file removes it; without one,
the command says the disk stays, never skipping it in silence.

The image is a small file of this test in a directory of its own on the test bed's volume
(so its pool's source is its own: libvirt refuses two pools on one source), written
through a FUSE mount of the volume and always removed."""

from __future__ import annotations

import contextlib
import os
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from loopdevs import have, sh

from conftest import Testbed, need
from tvirt.cli import main

pytestmark = pytest.mark.real
PID = os.getpid()


@contextlib.contextmanager
def volume_mount(testbed: Testbed, tmp: Path) -> Iterator[Path]:
    mnt = tmp / "gluster"
    mnt.mkdir(exist_ok=True)
    sh("mount", "-t", "glusterfs", f"{testbed.gluster_host}:/{testbed.gluster_volume}", str(mnt))
    try:
        yield mnt
    finally:
        sh("umount", str(mnt), check=False)


DIR = f"tvirt-test-delg-{PID}"


@pytest.fixture
def image(testbed: Testbed, tmp_path: Path) -> Iterator[str]:
    """A 1 MiB file of this test on the gluster volume; its path in the volume."""
    if missing := have("mount.glusterfs"):
        need(missing)
    name = f"{DIR}/disk.img"
    with volume_mount(testbed, tmp_path) as mnt:
        (mnt / DIR).mkdir(exist_ok=True)
        sh("truncate", "-s", "1M", str(mnt / name))
    yield name
    with volume_mount(testbed, tmp_path) as mnt:
        (mnt / name).unlink(missing_ok=True)
        (mnt / DIR).rmdir()


def on_volume(testbed: Testbed, tmp: Path, name: str) -> bool:
    with volume_mount(testbed, tmp) as mnt:
        return (mnt / name).exists()


@contextlib.contextmanager
def gluster_pool(testbed: Testbed) -> Iterator[None]:
    """A transient gluster pool on this test's directory of the volume."""
    conn = libvirt.open(testbed.qemu_uri)
    try:
        conn.storagePoolCreateXML(
            f"<pool type='gluster'><name>{DIR}</name><source>"
            f"<host name='{testbed.gluster_host}'/><dir path='/{DIR}'/>"
            f"<name>{testbed.gluster_volume}</name></source></pool>",
            0,
        )
    finally:
        conn.close()
    try:
        yield
    finally:
        # A connection of its own: libvirtd may have been restarted meanwhile by another
        # test, and a transient pool it restored would outlive this one.
        conn = libvirt.open(testbed.qemu_uri)
        try:
            conn.storagePoolLookupByName(DIR).destroy()  # transient: gone once destroyed
        finally:
            conn.close()


@pytest.fixture
def vm(testbed: Testbed, image: str) -> Iterator[str]:
    name = f"tvirt-test-delg-vm-{PID}"
    conn = libvirt.open(testbed.qemu_uri)
    try:
        conn.defineXML(f"""<domain type='qemu'><name>{name}</name><uuid>{uuidlib.uuid4()}</uuid>
          <memory unit='MiB'>64</memory><vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type></os>
          <devices><disk type='network' device='disk'><driver name='qemu' type='raw'/>
            <source protocol='gluster' name='{testbed.gluster_volume}/{image}'>
              <host name='{testbed.gluster_host}'/></source>
            <target dev='vda' bus='virtio'/></disk></devices></domain>""")
    finally:
        conn.close()
    yield name
    conn = libvirt.open(testbed.qemu_uri)  # a fresh one, as in gluster_pool
    try:
        with contextlib.suppress(libvirt.libvirtError):
            conn.lookupByName(name).undefine()  # deleted by the test, as it should be
    finally:
        conn.close()


def test_a_pool_that_knows_the_disk_removes_it(
    testbed: Testbed, vm: str, image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"gluster://{testbed.gluster_host}/{testbed.gluster_volume}/{image}"
    with gluster_pool(testbed):
        assert main(["-c", testbed.qemu_uri, "delete", vm, "--remove-storage", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"Removed storage: {url}." in out, out
    assert not on_volume(testbed, tmp_path, image)


def test_without_a_pool_the_disk_is_named_as_kept(
    testbed: Testbed, vm: str, image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"gluster://{testbed.gluster_host}/{testbed.gluster_volume}/{image}"
    assert main(["-c", testbed.qemu_uri, "delete", vm, "--remove-storage", "--yes"]) == 0
    out = capsys.readouterr().out
    kept = f"Storage not removed: {url} (no libvirt pool holds it, so it stays on the volume)"
    assert kept in out, out
    assert on_volume(testbed, tmp_path, image)
