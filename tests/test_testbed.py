"""Each real component of the test bed answers; a missing one fails the run (conftest.need)."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from conftest import Testbed

pytestmark = pytest.mark.real


def test_libvirtd_with_qemu_answers(testbed: Testbed) -> None:
    conn = libvirt.open(testbed.qemu_uri)
    try:
        assert conn.getType() == "QEMU"
        caps = ET.fromstring(conn.getDomainCapabilities(None, "x86_64", None, "qemu", 0))
        assert caps.findtext("domain") == "qemu"  # TCG: software emulation
    finally:
        conn.close()


def test_sshd_serves_libvirt(testbed: Testbed) -> None:
    conn = libvirt.open(testbed.ssh_uri)
    try:
        assert conn.getType() == "QEMU"
    finally:
        conn.close()


def test_guest_images_are_built(testbed: Testbed) -> None:
    kernel, initrd = Path(testbed.guest_kernel), Path(testbed.guest_initrd)
    assert kernel.stat().st_size > 1_000_000
    assert initrd.read_bytes()[:2] == b"\x1f\x8b"  # gzip


def test_gluster_replica_3_volume_is_started(testbed: Testbed) -> None:
    out = subprocess.run(
        ["gluster", "--mode=script", "volume", "info", testbed.gluster_volume, "--xml"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout
    volume = ET.fromstring(out).find("./volInfo/volumes/volume")
    assert volume is not None
    assert volume.findtext("name") == testbed.gluster_volume
    assert volume.findtext("statusStr") == "Started"
    assert volume.findtext("replicaCount") == "3"
    bricks = [b.findtext("name") for b in volume.iter("brick")]
    assert len(bricks) == 3
    assert all(name and name.startswith(f"{testbed.gluster_host}:") for name in bricks)
