"""Storage core without a daemon: checks, XML, and the test driver's lab node."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from tvirt import storage
from tvirt.sizes import GIB

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"


@pytest.mark.parametrize(
    ("spec", "paths"),
    [
        (storage.PoolSpec("dir", "p", target="/srv/p"), {"target/path": "/srv/p"}),
        (storage.PoolSpec("logical", "p", source_name="vg0", devices=("/dev/sdb",)),
         {"source/name": "vg0", "target/path": "/dev/vg0"}),
        (storage.PoolSpec("disk", "p", devices=("/dev/sdc",)), {"target/path": "/dev"}),
        (storage.PoolSpec("netfs", "p", target="/mnt/p", host="nfs1", source_dir="/export"),
         {"target/path": "/mnt/p"}),
        (storage.PoolSpec("gluster", "p", host="g1", source_name="gv0"), {"source/name": "gv0"}),
    ],
)
def test_pool_xml_per_type(spec: storage.PoolSpec, paths: dict[str, str]) -> None:
    storage.check_pool_spec(spec)
    root = ET.fromstring(storage.pool_xml(spec))
    assert root.get("type") == spec.type and root.findtext("name") == "p"
    for path, text in paths.items():
        assert root.findtext(path) == text


def test_volume_xml_is_built_not_concatenated() -> None:
    spec = storage.VolumeSpec("a&b<c>", GIB, "qcow2", "full", "/p/base'\".img", "raw")
    root = ET.fromstring(storage.volume_xml(spec))
    assert root.findtext("name") == "a&b<c>"
    assert root.findtext("allocation") == str(GIB)
    assert root.findtext("backingStore/path") == "/p/base'\".img"


def test_capacity_checks() -> None:
    assert storage.check_capacity(GIB, 2 * GIB, "full") == ""
    assert "Warning" in storage.check_capacity(3 * GIB, 2 * GIB, "sparse")
    with pytest.raises(storage.StorageError, match="more than the 2 GiB available"):
        storage.check_capacity(3 * GIB, 2 * GIB, "full")
    assert storage.formats_for("logical") == ("raw",)
    assert storage.allocations_for("logical") == ("full",)


def test_lab_volume_is_used_by_db01() -> None:
    conn = libvirt.open(LAB)
    try:
        vols = storage.list_volumes(conn, "lab-pool")
        assert [(v.name, v.used_by) for v in vols] == [("db01.qcow2", ("db01",))]
        with pytest.raises(storage.StorageError, match="disk of db01"):
            storage.volume_delete(conn, "lab-pool", "db01.qcow2")
    finally:
        conn.close()


def test_libvirt_refusal_is_a_sentence() -> None:
    # The test driver has no volume wipe: libvirt's refusal reaches the user as a sentence.
    conn = libvirt.open("test:///default")
    try:
        spec = storage.VolumeSpec("w.img", 1024 * 1024, "raw", "full")
        storage.volume_create(conn, "default-pool", spec)
        with pytest.raises(storage.StorageError) as err:
            storage.volume_wipe(conn, "default-pool", "w.img")
        message = str(err.value)
        assert message.startswith("Could not wipe volume w.img: ") and message.endswith(".")
        assert "not supported" in message
    finally:
        conn.close()


class VanishingPools:
    """A real test-driver connection whose pool listing is followed, before any pool is
    read, by another client's undefine of one of them. That race cannot be timed into a
    real run, so this stands between list_pools and the connection for that one call."""

    def __init__(self, conn: libvirt.virConnect, vanishing: str) -> None:
        self.conn, self.vanishing = conn, vanishing

    def listAllStoragePools(self, flags: int) -> list[libvirt.virStoragePool]:
        pools: list[libvirt.virStoragePool] = self.conn.listAllStoragePools(flags)
        gone = self.conn.storagePoolLookupByName(self.vanishing)
        gone.destroy()
        gone.undefine()
        return pools


def test_a_pool_removed_while_listing_is_left_out() -> None:
    conn = libvirt.open(LAB)
    try:
        storage.pool_define(conn, storage.PoolSpec("dir", "brief", target="/pool/brief"))
        racing = VanishingPools(conn, "brief")
        listed = storage.list_pools(racing)  # type: ignore[arg-type]
        assert [p.name for p in listed] == ["lab-pool"]
    finally:
        conn.close()
