"""Storage on the real libvirtd: a dir pool in a temp dir and a logical pool on a loop device.

Each pool is made for the test and removed in finally, along with the loop device and the
volume group; nothing the test did not create is touched. Every test runs locally and over
qemu+ssh.

Which tests exist is decided at collection: volumes in the logical pool are made and used
only where the kernel has device-mapper; without it, a separate test checks that creating
one is refused with libvirt's sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pytest

from conftest import Testbed, need, wait_for
from tvirt import progress, storage, transfers
from tvirt.cli import main
from tvirt.host import HostWorker
from tvirt.manager import HostManager
from tvirt.model import HostState
from tvirt.sizes import MIB

pytestmark = pytest.mark.real
PID = os.getpid()


@dataclass(frozen=True)
class Pool:
    name: str
    type: str
    uri: str


@pytest.fixture(params=["local", "ssh"])
def uri(request: pytest.FixtureRequest, testbed: Testbed) -> str:
    return testbed.qemu_uri if request.param == "local" else testbed.ssh_uri


@pytest.fixture
def worker(uri: str) -> Iterator[HostWorker]:
    manager = HostManager(lambda _update: None, reconnect=False)
    try:
        w = manager.add(uri)
        wait_for(lambda: w.info.state is HostState.CONNECTED, 30, f"{uri} to connect")
        yield w
    finally:
        manager.stop()


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def _remove_pool(uri: str, name: str) -> None:
    """Never raises: the cleanup after it (vgremove, losetup -d) must always run."""
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError:
        return  # libvirtd is down (another test restarts it): nothing to ask
    try:
        pool = conn.storagePoolLookupByName(name)
        if pool.isActive():
            pool.destroy()
        pool.undefine()
    except libvirt.libvirtError:
        pass  # never defined, or already gone
    finally:
        conn.close()


@pytest.fixture
def dir_pool(testbed: Testbed, tmp_path: Path, uri: str) -> Iterator[Pool]:
    name = f"tvirt-test-dir-{PID}"
    target = tmp_path / "pool"
    spec = storage.PoolSpec("dir", name, target=str(target))
    conn = libvirt.open(testbed.qemu_uri)
    try:
        _remove_pool(testbed.qemu_uri, name)
        assert "Defined pool" in storage.pool_define(conn, spec, build=True, start=True)
    finally:
        conn.close()
    try:
        yield Pool(name, "dir", uri)
    finally:
        _remove_pool(testbed.qemu_uri, name)


@pytest.fixture
def logical_pool(testbed: Testbed, tmp_path: Path, uri: str) -> Iterator[Pool]:
    """A VG on a loop device over a 256 MiB sparse file, all made here and removed here."""
    vg = f"tvirt-test-vg-{PID}"
    name = f"tvirt-test-lvm-{PID}"
    backing = tmp_path / "pv.img"
    _run("truncate", "-s", "256M", str(backing))
    loop = _run("losetup", "-f", "--show", str(backing))
    made_pv = made_vg = False
    try:
        _run("pvcreate", "-q", loop)
        made_pv = True
        _run("vgcreate", "-q", vg, loop)
        made_vg = True
        conn = libvirt.open(testbed.qemu_uri)
        try:
            spec = storage.PoolSpec("logical", name, source_name=vg, devices=(loop,))
            storage.pool_define(conn, spec, build=False, start=True)
        finally:
            conn.close()
        yield Pool(name, "logical", uri)
    finally:
        _remove_pool(testbed.qemu_uri, name)
        if made_vg:
            subprocess.run(["vgremove", "-q", "-f", vg], check=False, capture_output=True)
        if made_pv:
            subprocess.run(["pvremove", "-q", "-f", loop], check=False, capture_output=True)
        subprocess.run(["losetup", "-d", loop], check=False, capture_output=True)


def device_mapper() -> bool:
    """Logical volumes need the kernel's device-mapper; some sandboxes' kernels lack it."""
    return "device-mapper" in Path("/proc/misc").read_text()


# Decided at collection: a logical pool's volumes are tested only where the kernel can make
# them; elsewhere test_logical_volume_create_is_refused_without_device_mapper runs instead.
DEVICE_MAPPER = device_mapper()
POOL_TYPES = ["dir", "logical"] if DEVICE_MAPPER else ["dir"]


@pytest.fixture(params=POOL_TYPES)
def pool(request: pytest.FixtureRequest) -> Pool:
    found: Pool = request.getfixturevalue(f"{request.param}_pool")
    return found


def cancel_at_first_chunk(
    token: progress.CancelToken, events: list[progress.Event] | None = None
) -> progress.Report:
    """A report that cancels the transfer once the first chunk has moved (and keeps the
    events in a list, when given one)."""

    def report(event: progress.Event) -> None:
        if events is not None:
            events.append(event)
        if isinstance(event, progress.Advanced):
            token.cancel()

    return report


def _sha(path: Path, limit: int | None = None) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        digest.update(f.read() if limit is None else f.read(limit))
    return digest.hexdigest()


def _all_zero(path: str, size: int) -> bool:
    with open(path, "rb") as f:
        remaining = size
        while remaining:
            block = f.read(min(remaining, MIB))
            if not block or block.count(0) != len(block):
                return False
            remaining -= len(block)
    return True


if not DEVICE_MAPPER:

    def test_logical_volume_create_is_refused_without_device_mapper(
        worker: HostWorker, logical_pool: Pool
    ) -> None:
        """Without device-mapper, creating an LV is refused with libvirt's sentence: the
        refusal reaches the caller as a StorageError naming the cause, and the pool stays."""
        pool = logical_pool
        spec = storage.VolumeSpec(f"tvirt-test-nodm-{PID}", 8 * MIB, "raw", "full")
        with pytest.raises(storage.StorageError, match=r"Could not create volume .*device-mapper"):
            worker.call(lambda c: storage.volume_create(c, pool.name, spec)).result(60)
        info = worker.call(lambda c: storage.pool_info(c, pool.name)).result(30)
        assert info.state == "running" and info.capacity > 200 * MIB
        names = [v.name for v in worker.call(lambda c: storage.list_volumes(c, pool.name))
                 .result(30)]
        assert spec.name not in names


def test_volume_life_cycle(worker: HostWorker, pool: Pool, tmp_path: Path) -> None:
    name, clone = f"tvirt-test-vol-{PID}", f"tvirt-test-clone-{PID}"
    call = worker.call
    spec = storage.VolumeSpec(name, 8 * MIB, "raw", "full")
    vol = call(lambda c: storage.volume_create(c, pool.name, spec)).result(60)
    assert vol.capacity == 8 * MIB
    names = [v.name for v in call(lambda c: storage.list_volumes(c, pool.name)).result(30)]
    assert name in names

    # Grow only, unless shrinking is confirmed.
    call(lambda c: storage.volume_resize(c, pool.name, name, 16 * MIB)).result(60)
    assert call(lambda c: storage.volume_info(c, pool.name, name)).result(30).capacity == 16 * MIB
    with pytest.raises(storage.StorageError, match="smaller than the current"):
        call(lambda c: storage.volume_resize(c, pool.name, name, 4 * MIB)).result(30)

    # Upload a file as large as the volume, download it back: the same bytes.
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(16 * MIB))
    events: list[progress.Event] = []
    transfers.upload(worker, pool.name, name, source, progress=events.append)
    seen = [e.done for e in events if isinstance(e, progress.Advanced)]
    assert seen[-1] == 16 * MIB
    # One protocol: Started with the size, bytes in order, Finished with the sentence.
    assert events[0] == progress.Started(name, "uploaded", 16 * MIB)
    assert seen == sorted(seen) and len(seen) == len(events) - 2
    assert events[-1] == progress.Finished(f"Uploaded 16 MiB from {source} into volume {name}.")
    dest = tmp_path / "out.bin"
    transfers.download(worker, pool.name, name, dest)
    assert _sha(dest) == _sha(source)

    # Clone: the same bytes under a new name.
    copy = call(lambda c: storage.volume_clone(c, pool.name, name, clone)).result(120)
    transfers.download(worker, pool.name, clone, tmp_path / "clone.bin")
    assert _sha(tmp_path / "clone.bin") == _sha(source)

    # Wipe with zeros and read the volume back (file or LV) on this machine.
    message = call(lambda c: storage.volume_wipe(c, pool.name, name, "zero")).result(120)
    assert "Wiped" in message
    path = call(lambda c: storage.volume_info(c, pool.name, name)).result(30).path
    assert _all_zero(path, 16 * MIB)

    for victim in (name, copy.name):
        call(lambda c, v=victim: storage.volume_delete(c, pool.name, v)).result(60)
    names = [v.name for v in call(lambda c: storage.list_volumes(c, pool.name)).result(30)]
    assert name not in names and clone not in names


def test_in_use_volume_refuses_delete_wipe_and_upload(
    worker: HostWorker, pool: Pool, testbed: Testbed, tmp_path: Path
) -> None:
    name = f"tvirt-test-used-{PID}"
    vm = f"tvirt-test-storage-{PID}"
    vol = worker.call(
        lambda c: storage.volume_create(c, pool.name, storage.VolumeSpec(name, 4 * MIB, "raw",
                                                                           "full"))
    ).result(60)
    kind, attr = ("block", "dev") if pool.type == "logical" else ("file", "file")
    xml = f"""<domain type='qemu'><name>{vm}</name><uuid>{uuidlib.uuid4()}</uuid>
      <memory unit='MiB'>64</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type></os>
      <devices><disk type='{kind}' device='disk'><driver name='qemu' type='raw'/>
      <source {attr}='{vol.path}'/><target dev='vda' bus='virtio'/></disk></devices></domain>"""
    conn = libvirt.open(testbed.qemu_uri)
    dom = conn.defineXML(xml)
    try:
        info = worker.call(lambda c: storage.volume_info(c, pool.name, name)).result(30)
        assert info.used_by == (vm,)
        with pytest.raises(storage.StorageError, match=f"Refused to delete .*disk of {vm}"):
            worker.call(lambda c: storage.volume_delete(c, pool.name, name)).result(30)
        with pytest.raises(storage.StorageError, match=f"Refused to wipe .*disk of {vm}"):
            worker.call(lambda c: storage.volume_wipe(c, pool.name, name)).result(30)
        source = tmp_path / "in.bin"
        source.write_bytes(b"x" * MIB)
        with pytest.raises(storage.StorageError, match=f"Refused to upload to .*disk of {vm}"):
            transfers.upload(worker, pool.name, name, source)
        names = [v.name for v in worker.call(lambda c: storage.list_volumes(c, pool.name))
                 .result(30)]
        assert name in names
    finally:
        dom.undefine()
        conn.close()
    worker.call(lambda c: storage.volume_delete(c, pool.name, name)).result(60)


def test_cancelled_transfers_leave_nothing_half_written(
    worker: HostWorker, dir_pool: Pool, tmp_path: Path
) -> None:
    pool = dir_pool.name
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(12 * MIB))

    # A volume made for the upload is deleted when the upload is cancelled.
    made = f"tvirt-test-made-{PID}"
    worker.call(lambda c: storage.volume_create(
        c, pool, storage.VolumeSpec(made, 12 * MIB, "raw", "full"))).result(60)
    transfer = progress.CancelToken()
    with pytest.raises(transfers.Cancelled, match="created for this upload, was deleted"):
        transfers.upload(worker, pool, made, source, transfer=transfer, created=True,
                         progress=cancel_at_first_chunk(transfer))
    names = [v.name for v in worker.call(lambda c: storage.list_volumes(c, pool)).result(30)]
    assert made not in names

    # An existing volume, partly overwritten, is wiped with zeros.
    kept = f"tvirt-test-kept-{PID}"
    info = worker.call(lambda c: storage.volume_create(
        c, pool, storage.VolumeSpec(kept, 12 * MIB, "raw", "full"))).result(60)
    transfer = progress.CancelToken()
    with pytest.raises(transfers.Cancelled, match="wiped with zeros"):
        transfers.upload(worker, pool, kept, source, transfer=transfer,
                         progress=cancel_at_first_chunk(transfer))
    assert _all_zero(info.path, 12 * MIB)

    # A cancelled download leaves neither the destination nor a temp file.
    transfers.upload(worker, pool, kept, source)
    dest = tmp_path / "down" / "out.bin"
    dest.parent.mkdir()
    transfer = progress.CancelToken()
    events: list[progress.Event] = []
    with pytest.raises(transfers.Cancelled, match="was not written"):
        transfers.download(worker, pool, kept, dest, transfer=transfer,
                           progress=cancel_at_first_chunk(transfer, events))
    assert list(dest.parent.iterdir()) == []
    # The report heard the same sentence the exception carries, after the first chunk.
    assert isinstance(events[0], progress.Started) and isinstance(events[1], progress.Advanced)
    said = f"Download of {kept} cancelled; {dest} was not written."
    assert events[-1] == progress.Cancelled(said)
    worker.call(lambda c: storage.volume_delete(c, pool, kept)).result(60)


def test_qcow2_with_backing_volume(worker: HostWorker, dir_pool: Pool) -> None:
    pool = dir_pool.name
    base = worker.call(lambda c: storage.volume_create(
        c, pool, storage.VolumeSpec(f"base-{PID}.raw", 4 * MIB, "raw", "full"))).result(60)
    spec = storage.VolumeSpec(f"top-{PID}.qcow2", 4 * MIB, "qcow2", "sparse", base.path, "raw")
    top = worker.call(lambda c: storage.volume_create(c, pool, spec)).result(60)
    assert top.format == "qcow2"
    info = json.loads(_run("qemu-img", "info", "--output=json", "-U", top.path))
    assert info["backing-filename"] == base.path
    for name in (top.name, base.name):
        worker.call(lambda c, n=name: storage.volume_delete(c, pool, n)).result(60)


def test_plain_commands(dir_pool: Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["-c", dir_pool.uri]
    pool = dir_pool.name
    assert main([*base, "--json", "pools"]) == 0
    pools = json.loads(capsys.readouterr().out)
    mine = next(p for p in pools if p["name"] == pool)
    assert mine["state"] == "running" and mine["type"] == "dir"

    assert main([*base, "vol", "create", pool, "disk.qcow2", "10M", "--format", "qcow2",
                 "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["volume"]["format"] == "qcow2"

    assert main([*base, "vol", "create", pool, "disk.qcow2", "10M"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main([*base, "vol", "create", pool, "x", "0"]) == 2
    assert main([*base, "vol", "create", pool, "a/b", "1M"]) == 2
    assert main([*base, "vol", "create", pool, "huge", "1000G", "--allocation", "full"]) == 1
    assert "available" in capsys.readouterr().err

    assert main([*base, "vols", pool]) == 0
    assert capsys.readouterr().out.startswith("disk.qcow2: qcow2, 10 MiB capacity")

    assert main([*base, "vol", "resize", pool, "disk.qcow2", "20M"]) == 0
    assert main([*base, "vol", "resize", pool, "disk.qcow2", "5M"]) == 1
    assert "shrinking" in capsys.readouterr().err
    assert main([*base, "vol", "clone", pool, "disk.qcow2", "copy.qcow2"]) == 0

    raw = tmp_path / "raw.img"
    raw.write_bytes(os.urandom(3 * MIB))
    assert main([*base, "vol", "create", pool, "r.img", "3M", "--format", "raw"]) == 0
    assert main([*base, "vol", "upload", pool, "r.img", str(raw)]) == 0
    out = tmp_path / "back.img"
    assert main([*base, "vol", "download", pool, "r.img", str(out)]) == 0
    assert _sha(out) == _sha(raw)
    capsys.readouterr()
    assert main([*base, "--json", "vol", "wipe", pool, "r.img", "--algorithm", "zero",
                 "--yes"]) == 0
    assert json.loads(capsys.readouterr().out)["ok"] is True
    assert main([*base, "--readonly", "vol", "delete", pool, "r.img", "--yes"]) == 1
    assert "Read-only" in capsys.readouterr().err
    for name in ("disk.qcow2", "copy.qcow2", "r.img"):
        assert main([*base, "vol", "delete", pool, name, "--yes"]) == 0

    assert main([*base, "pool", "stop", pool]) == 0
    capsys.readouterr()
    assert main([*base, "--json", "pools"]) == 0
    states = {p["name"]: p["state"] for p in json.loads(capsys.readouterr().out)}
    assert states[pool] == "inactive"
    assert main([*base, "pool", "start", pool]) == 0
    assert main([*base, "pool", "autostart", pool, "on"]) == 0
    assert main([*base, "pool", "refresh", pool]) == 0
    assert main([*base, "pool", "delete", pool, "--yes"]) == 0
    capsys.readouterr()
    assert main([*base, "--json", "pools"]) == 0
    assert pool not in {p["name"] for p in json.loads(capsys.readouterr().out)}


def test_pool_delete_with_its_storage_is_all_or_nothing(
    dir_pool: Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--delete-storage on a pool that still holds volumes is refused before the pool is
    stopped; storage libvirt cannot remove all the same (a FIFO, which is no volume) leaves
    the pool running again. Only an empty pool goes, storage and all."""
    base, pool = ["-c", dir_pool.uri], dir_pool.name
    target = tmp_path / "pool"
    assert main([*base, "vol", "create", pool, "a.img", "1M"]) == 0
    capsys.readouterr()
    assert main([*base, "pool", "delete", pool, "--delete-storage", "--yes"]) == 1
    assert capsys.readouterr().err == (
        f"tvirt: Refused to delete the storage of pool {pool}: it still holds 1 volume "
        "(a.img). Delete them first, or delete the pool and keep its storage; nothing was "
        "changed.\n")
    assert main([*base, "--json", "pools"]) == 0
    states = {p["name"]: p["state"] for p in json.loads(capsys.readouterr().out)}
    assert states[pool] == "running"
    assert (target / "a.img").exists()

    assert main([*base, "vol", "delete", pool, "a.img", "--yes"]) == 0
    os.mkfifo(target / "fifo")
    capsys.readouterr()
    assert main([*base, "pool", "delete", pool, "--delete-storage", "--yes"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tvirt: Could not delete the storage of pool {pool}: "), err
    assert err.endswith(f"Pool {pool} was started again and is kept as it was.\n"), err
    assert main([*base, "--json", "pools"]) == 0
    states = {p["name"]: p["state"] for p in json.loads(capsys.readouterr().out)}
    assert states[pool] == "running"

    (target / "fifo").unlink()
    assert main([*base, "pool", "delete", pool, "--delete-storage", "--yes"]) == 0
    assert capsys.readouterr().out == f"Deleted pool {pool} and its storage.\n"
    assert not target.exists()


def test_define_pool_refuses_bad_fields(testbed: Testbed) -> None:
    conn = libvirt.open(testbed.qemu_uri)
    try:
        before = {p.name() for p in conn.listAllStoragePools(0)}
        bad = [
            storage.PoolSpec("dir", "../evil", target="/tmp/x"),
            storage.PoolSpec("dir", f"tvirt-test-x-{PID}", target="relative/path"),
            storage.PoolSpec("logical", f"tvirt-test-x-{PID}"),
            storage.PoolSpec("disk", f"tvirt-test-x-{PID}", devices=("sdb",)),
            storage.PoolSpec("netfs", f"tvirt-test-x-{PID}", target="/mnt/x", host="",
                             source_dir="/export"),
            storage.PoolSpec("gluster", f"tvirt-test-x-{PID}", host="127.0.0.1"),
            storage.PoolSpec("iscsi", f"tvirt-test-x-{PID}"),
        ]
        for spec in bad:
            with pytest.raises(storage.StorageError):
                storage.pool_define(conn, spec)
        assert {p.name() for p in conn.listAllStoragePools(0)} == before
    finally:
        conn.close()


def test_gluster_pool_defines_and_starts(testbed: Testbed) -> None:
    name = f"tvirt-test-gluster-{PID}"
    conn = libvirt.open(testbed.qemu_uri)
    try:
        spec = storage.PoolSpec("gluster", name, host=testbed.gluster_host,
                                source_name=testbed.gluster_volume)
        assert "started it" in storage.pool_define(conn, spec)
        info = storage.pool_info(conn, name)
        assert info.type == "gluster" and info.state == "running"
        assert "Deleted pool" in storage.pool_delete(conn, name)
    finally:
        conn.close()
        _remove_pool(testbed.qemu_uri, name)


def test_download_onto_a_full_filesystem_or_an_existing_file(
    dir_pool: Pool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC for real: a 1 MiB tmpfs cannot hold a 4 MiB volume. One sentence with the
    path, nothing left behind; an existing file is never replaced without --force."""
    base = ["-c", dir_pool.uri]
    pool = dir_pool.name
    data = tmp_path / "data.img"
    data.write_bytes(os.urandom(4 * MIB))
    assert main([*base, "vol", "create", pool, "big.img", "4M", "--format", "raw"]) == 0
    assert main([*base, "vol", "upload", pool, "big.img", str(data)]) == 0
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        need(f"cannot mount a small tmpfs: {mounted.stderr.strip()}")
    try:
        capsys.readouterr()
        out = small / "out.img"
        assert main([*base, "vol", "download", pool, "big.img", str(out)]) == 1
        err = capsys.readouterr().err.splitlines()
        assert err[-1] == (f"tvirt: Could not write {out}: No space left on device; "
                           "the partial copy was removed.")
        assert list(small.iterdir()) == []
        out.write_bytes(b"keep me")
        assert main([*base, "vol", "download", pool, "big.img", str(out), "--force"]) == 1
        assert capsys.readouterr().err.splitlines()[-1].endswith(
            f"the partial copy was removed and {out} is as it was."
        )
        assert list(small.iterdir()) == [out] and out.read_bytes() == b"keep me"
    finally:
        subprocess.run(["umount", str(small)], check=False, capture_output=True)
    kept = tmp_path / "kept.img"
    kept.write_bytes(b"mine")
    # No terminal to ask: an existing file needs --force, and stays as it was.
    assert main([*base, "vol", "download", pool, "big.img", str(kept)]) == 2
    assert capsys.readouterr().err == f"tvirt: {kept} exists; add --force to overwrite it.\n"
    assert kept.read_bytes() == b"mine"
    assert main([*base, "vol", "download", pool, "big.img", str(kept), "--force"]) == 0
    assert _sha(kept) == _sha(data)
    assert main([*base, "vol", "delete", pool, "big.img", "--yes"]) == 0
