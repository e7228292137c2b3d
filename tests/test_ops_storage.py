"""Storage operations (tvirt.ops.storage): pools and volumes on libvirt's test driver
(a lab node of its own per test), uploads and downloads on the real libvirtd (the test
driver has no volume streams, so there they fail, which is tested too)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from ops_hosts import opened

from conftest import Testbed, dir_pool
from tvirt import progress, storage, transfers
from tvirt.host import HostWorker
from tvirt.ops import storage as ops
from tvirt.ops.run import Refused
from tvirt.readonly import refusal
from tvirt.sizes import MIB

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'vmlab.xml'}"
OPS_URI = LAB  # the conftest fixtures host and readonly_host connect here
PID = os.getpid()


def names(host: HostWorker, pool: str = "labpool") -> list[str]:
    return [v.name for v in ops.list_volumes(host, pool).result(10)]


def test_pool_and_volume_operations_run_on_the_host(host: HostWorker) -> None:
    vol = ops.volume_create(host, "labpool", storage.VolumeSpec("a.qcow2", MIB, "qcow2")).result(10)
    assert (vol.name, vol.path, vol.format) == ("a.qcow2", "/lab/pool/a.qcow2", "qcow2")
    assert ops.volume_clone(host, "labpool", "a.qcow2", "b.qcow2").result(10).name == "b.qcow2"
    assert names(host) == ["a.qcow2", "b.qcow2"]
    assert ops.volume_info(host, "labpool", "b.qcow2").result(10).capacity == MIB
    assert ops.volume_users(host).result(10) == {"/lab/pool/db01.qcow2": ["db01"]}
    assert ops.volume_delete(host, "labpool", "b.qcow2").result(10) == (
        "Deleted volume b.qcow2 from pool labpool.")
    assert names(host) == ["a.qcow2"]

    assert ops.pool_autostart(host, "labpool", True).result(10) == (
        "Pool labpool autostart is now on.")
    assert ops.pool_stop(host, "labpool").result(10) == "Stopped pool labpool."
    assert ops.pool_info(host, "labpool").result(10).state == "inactive"
    assert ops.pool_start(host, "labpool").result(10) == "Started pool labpool."
    assert ops.pool_refresh(host, "labpool").result(10) == "Refreshed pool labpool."
    spec = storage.PoolSpec("dir", "p2", target="/pool/p2")
    assert ops.pool_define(host, spec, build=True).result(10) == (
        "Defined pool p2, built it, started it.")
    assert [p.name for p in ops.list_pools(host).result(10)] == ["labpool", "p2"]
    assert ops.pool_delete(host, "p2", delete_storage=True).result(10) == (
        "Deleted pool p2 and its storage.")
    assert [p.name for p in ops.list_pools(host).result(10)] == ["labpool"]


def test_read_only_refuses_every_change_before_the_host_is_asked(
    readonly_host: HostWorker, tmp_path: Path
) -> None:
    host = readonly_host
    spec = storage.VolumeSpec("new.qcow2", MIB, "qcow2")
    changes = [
        (ops.volume_create(host, "labpool", spec), "create volume new.qcow2"),
        (ops.volume_delete(host, "labpool", "x"), "delete volume x"),
        (ops.volume_resize(host, "labpool", "x", MIB), "resize volume x"),
        (ops.volume_clone(host, "labpool", "x", "y"), "clone volume x"),
        (ops.volume_wipe(host, "labpool", "x"), "wipe volume x"),
        (ops.pool_define(host, storage.PoolSpec("dir", "p3", target="/pool/p3")), "define pool p3"),
        (ops.pool_start(host, "labpool"), "start pool labpool"),
        (ops.pool_stop(host, "labpool"), "stop pool labpool"),
        (ops.pool_refresh(host, "labpool"), "refresh pool labpool"),
        (ops.pool_autostart(host, "labpool", True), "autostart pool labpool"),
        (ops.pool_delete(host, "labpool"), "delete pool labpool"),
        # A source that does not exist: refused before the file is even looked at.
        (ops.upload(host, "labpool", "x", tmp_path / "nothing"), "upload to volume x"),
    ]
    for future, what in changes:
        with pytest.raises(Refused) as caught:
            future.result(10)
        assert str(caught.value) == refusal(what, host.label), what
        assert caught.value.host == host.label
    # Nothing reached the host; reads still run.
    (pool,) = ops.list_pools(host).result(10)
    assert (pool.name, pool.state, pool.autostart) == ("labpool", "running", False)
    assert names(host) == []


def test_failures_are_one_sentence(host: HostWorker, tmp_path: Path) -> None:
    with pytest.raises(storage.StorageError) as caught:
        ops.list_volumes(host, "nope").result(10)
    assert str(caught.value) == "There is no storage pool named nope."
    ops.volume_create(host, "labpool", storage.VolumeSpec("a.img", MIB, "raw")).result(10)
    with pytest.raises(storage.StorageError) as caught:
        ops.volume_resize(host, "labpool", "a.img", 2 * MIB).result(10)
    assert str(caught.value) == (
        "Could not resize volume a.img: This function is not supported by the connection "
        "driver: virStorageVolResize.")
    # A transfer fails on its own thread and its future carries the sentence.
    source = tmp_path / "src.img"
    source.write_bytes(b"x" * 1000)
    with pytest.raises(storage.StorageError) as caught:
        ops.upload(host, "labpool", "a.img", source).result(30)
    assert str(caught.value).startswith("Could not upload to volume a.img: ")
    assert "\n" not in str(caught.value) and str(caught.value).endswith(".")
    with pytest.raises(storage.StorageError, match=r"^Could not download volume a\.img: "):
        ops.download(host, "labpool", "a.img", tmp_path / "out.img").result(30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.img"]


# -- uploads and downloads on the real libvirtd --------------------------------------
@pytest.fixture
def real_host(testbed: Testbed) -> Iterator[HostWorker]:
    with opened(testbed.qemu_uri) as host:
        yield host.worker


@pytest.fixture
def real_pool(testbed: Testbed, tmp_path: Path) -> Iterator[str]:
    name = f"tvirt-test-opsst-{PID}"
    conn = libvirt.open(testbed.qemu_uri)
    try:
        with dir_pool(conn, name, tmp_path / "pool"):
            yield name
    finally:
        conn.close()


@pytest.mark.real
def test_upload_and_download_run_through_ops_with_progress(
    real_host: HostWorker, real_pool: str, tmp_path: Path
) -> None:
    host, pool = real_host, real_pool
    ops.volume_create(host, pool, storage.VolumeSpec("v.img", 6 * MIB, "raw")).result(60)
    source = tmp_path / "source.img"
    data = os.urandom(6 * MIB)
    source.write_bytes(data)
    events: list[progress.Event] = []
    done = ops.upload(host, pool, "v.img", source, progress=events.append).result(120)
    assert done.done == 6 * MIB
    assert events[0] == progress.Started("v.img", "uploaded", 6 * MIB)
    assert [e.done for e in events if isinstance(e, progress.Advanced)] == [4 * MIB, 6 * MIB]
    assert events[-1] == progress.Finished(f"Uploaded 6 MiB from {source} into volume v.img.")
    dest = tmp_path / "back.img"
    assert ops.download(host, pool, "v.img", dest).result(120).done == 6 * MIB
    assert dest.read_bytes() == data

    # Cancelled at the first chunk: a volume made for the upload is deleted again.
    ops.volume_create(host, pool, storage.VolumeSpec("made.img", 6 * MIB, "raw")).result(60)
    token = progress.CancelToken()

    def cancel(event: progress.Event) -> None:
        if isinstance(event, progress.Advanced):
            token.cancel()

    future = ops.upload(host, pool, "made.img", source, progress=cancel, transfer=token,
                        created=True)
    with pytest.raises(transfers.Cancelled, match=r"made\.img, created for this upload, was"):
        future.result(120)
    assert names(host, pool) == ["v.img"]
