"""Storage pools and volumes: records, validation, XML and the libvirt calls behind them.

No textual here. Every function that takes ``conn`` runs on the host's HostWorker thread
(``worker.call(lambda conn: list_pools(conn))``). Transfers (upload, download) run their
loop on the caller's thread and send each chunk as one worker job, so a long transfer
never holds the host's thread for more than one chunk and can be cancelled between chunks.
Wipe is one libvirt call with no progress callback: it holds the worker until it is done,
and the callers show "still working, N s" meanwhile.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import libvirt

from tvirt import validate
from tvirt.errors import EXIT_INTERRUPTED, TvirtError, explain
from tvirt.sizes import format_size

T = TypeVar("T")

POOL_STATES = {
    libvirt.VIR_STORAGE_POOL_INACTIVE: "inactive",
    libvirt.VIR_STORAGE_POOL_BUILDING: "building",
    libvirt.VIR_STORAGE_POOL_RUNNING: "running",
    libvirt.VIR_STORAGE_POOL_DEGRADED: "degraded",
    libvirt.VIR_STORAGE_POOL_INACCESSIBLE: "inaccessible",
}

# The pool types tvirt can define, and the volume formats each supports for new volumes.
POOL_TYPES = ("dir", "logical", "disk", "netfs", "gluster")
_FORMATS: dict[str, tuple[str, ...]] = {
    "dir": ("qcow2", "raw"),
    "fs": ("qcow2", "raw"),
    "netfs": ("qcow2", "raw"),
    "gluster": ("qcow2", "raw"),
    "logical": ("raw",),
    "disk": ("raw",),
}
# Logical volumes and partitions are always fully allocated: libvirt's "sparse" logical
# volume is an LVM snapshot with a virtual size, which is not what anyone means by sparse.
_SPARSE_OK = {"dir", "fs", "netfs", "gluster"}

WIPE_ALGORITHMS: dict[str, int] = {
    "zero": libvirt.VIR_STORAGE_VOL_WIPE_ALG_ZERO,
    "nnsa": libvirt.VIR_STORAGE_VOL_WIPE_ALG_NNSA,
    "dod": libvirt.VIR_STORAGE_VOL_WIPE_ALG_DOD,
    "bsi": libvirt.VIR_STORAGE_VOL_WIPE_ALG_BSI,
    "gutmann": libvirt.VIR_STORAGE_VOL_WIPE_ALG_GUTMANN,
    "schneier": libvirt.VIR_STORAGE_VOL_WIPE_ALG_SCHNEIER,
    "pfitzner7": libvirt.VIR_STORAGE_VOL_WIPE_ALG_PFITZNER7,
    "pfitzner33": libvirt.VIR_STORAGE_VOL_WIPE_ALG_PFITZNER33,
    "random": libvirt.VIR_STORAGE_VOL_WIPE_ALG_RANDOM,
    "trim": libvirt.VIR_STORAGE_VOL_WIPE_ALG_TRIM,
}

NAME_MAX = validate.NAME_DEFAULT_LONGEST
CHUNK = 4 * 1024 * 1024


class StorageError(TvirtError):
    """A refused or failed storage action, with a sentence for a person."""


class Cancelled(StorageError):
    """The person cancelled a transfer (exit status 130, as for Ctrl-C)."""

    exit_code = EXIT_INTERRUPTED


@dataclass(frozen=True)
class PoolInfo:
    name: str
    uuid: str
    type: str
    state: str
    autostart: bool
    persistent: bool
    capacity: int
    allocation: int
    available: int
    path: str

    @property
    def active(self) -> bool:
        return self.state in ("running", "degraded")

    @property
    def used_fraction(self) -> float:
        return self.allocation / self.capacity if self.capacity else 0.0

    @property
    def usage_text(self) -> str:
        if not self.capacity:
            return "unknown"
        return (
            f"{format_size(self.allocation)} of {format_size(self.capacity)} used "
            f"({self.used_fraction:.0%})"
        )


@dataclass(frozen=True)
class VolumeInfo:
    pool: str
    name: str
    path: str
    format: str
    type: str
    capacity: int
    allocation: int
    used_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolSpec:
    """The fields of a new pool; validate() says what is wrong with them."""

    type: str
    name: str
    target: str = ""  # dir, netfs, disk: the directory or device directory
    host: str = ""  # netfs, gluster
    source_dir: str = ""  # netfs: the export; gluster: the directory in the volume
    source_name: str = ""  # logical: the volume group; gluster: the gluster volume
    devices: tuple[str, ...] = ()  # logical: physical volumes; disk: the disk


@dataclass(frozen=True)
class VolumeSpec:
    name: str
    capacity: int
    format: str = "raw"
    allocation: str = "sparse"  # or "full"
    backing: str = ""  # path of a backing volume (qcow2 only)
    backing_format: str = ""


# -- validation -------------------------------------------------------------
def check_name(
    name: str, existing: set[str] | frozenset[str] = frozenset(), what: str = "volume"
) -> str:
    """The name if it is a fine pool or volume name; raises StorageError otherwise."""
    try:
        return validate.name(name, what, existing)
    except validate.Invalid as exc:
        raise StorageError(str(exc)) from None


def formats_for(pool_type: str) -> tuple[str, ...]:
    return _FORMATS.get(pool_type, ("raw",))


def allocations_for(pool_type: str) -> tuple[str, ...]:
    return ("sparse", "full") if pool_type in _SPARSE_OK else ("full",)


def check_capacity(capacity: int, available: int, allocation: str) -> str:
    """Refuses a preallocated volume larger than the pool's free space; returns a warning
    (or "") for a sparse one, which may fill the pool later."""
    if capacity <= 0:
        raise StorageError("A volume must have a capacity of at least one byte.")
    if capacity > available:
        if allocation == "full":
            raise StorageError(
                f"{format_size(capacity)} is more than the {format_size(available)} "
                "available in the pool."
            )
        return (
            f"Warning: {format_size(capacity)} is more than the {format_size(available)} "
            "available; the sparse volume will fail to write once the pool is full."
        )
    return ""


def check_spec(spec: VolumeSpec, pool_type: str) -> None:
    if spec.format not in formats_for(pool_type):
        raise StorageError(
            f"A {pool_type} pool makes volumes of format {', '.join(formats_for(pool_type))}, "
            f"not {spec.format}."
        )
    if spec.allocation not in allocations_for(pool_type):
        raise StorageError(f"A {pool_type} pool allocates volumes fully; sparse is not offered.")
    if spec.backing and spec.format != "qcow2":
        raise StorageError("Only a qcow2 volume can have a backing volume.")


def check_pool_spec(spec: PoolSpec, existing: set[str] | frozenset[str] = frozenset()) -> None:
    check_name(spec.name, existing, "pool")
    if spec.type not in POOL_TYPES:
        raise StorageError(f"tvirt defines pools of type {', '.join(POOL_TYPES)}, not {spec.type}.")
    if spec.type in ("dir", "netfs") and not spec.target.startswith("/"):
        raise StorageError("Give the target directory as an absolute path, such as /srv/images.")
    if spec.type == "logical" and not spec.source_name:
        raise StorageError("Give the name of the LVM volume group.")
    if spec.type == "disk" and (len(spec.devices) != 1 or not spec.devices[0].startswith("/dev/")):
        raise StorageError("Give one disk device, such as /dev/sdb.")
    if spec.type == "logical":
        for device in spec.devices:
            if not device.startswith("/dev/"):
                raise StorageError(f"{device} is not a device path under /dev.")
    if spec.type in ("netfs", "gluster") and not re.match(r"^[A-Za-z0-9.:_-]+$", spec.host or "-/"):
        raise StorageError("Give the server's host name or address.")
    if spec.type == "netfs" and not spec.source_dir.startswith("/"):
        raise StorageError("Give the exported directory as an absolute path, such as /export.")
    if spec.type == "gluster" and not spec.source_name:
        raise StorageError("Give the name of the gluster volume.")


# -- XML --------------------------------------------------------------------
def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def pool_xml(spec: PoolSpec) -> str:
    root = ET.Element("pool", {"type": spec.type})
    _text(root, "name", spec.name)
    source = ET.SubElement(root, "source")
    target_path = spec.target
    if spec.type == "logical":
        for device in spec.devices:
            ET.SubElement(source, "device", {"path": device})
        _text(source, "name", spec.source_name)
        ET.SubElement(source, "format", {"type": "lvm2"})
        target_path = f"/dev/{spec.source_name}"
    elif spec.type == "disk":
        ET.SubElement(source, "device", {"path": spec.devices[0]})
        target_path = spec.target or "/dev"
    elif spec.type == "netfs":
        ET.SubElement(source, "host", {"name": spec.host})
        ET.SubElement(source, "dir", {"path": spec.source_dir})
        ET.SubElement(source, "format", {"type": "auto"})
    elif spec.type == "gluster":
        ET.SubElement(source, "host", {"name": spec.host})
        ET.SubElement(source, "dir", {"path": spec.source_dir or "/"})
        _text(source, "name", spec.source_name)
        target_path = ""
    if not len(source):
        root.remove(source)
    if target_path:
        target = ET.SubElement(root, "target")
        _text(target, "path", target_path)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def volume_xml(spec: VolumeSpec) -> str:
    root = ET.Element("volume")
    _text(root, "name", spec.name)
    _text(root, "capacity", str(spec.capacity), unit="bytes")
    allocated = spec.capacity if spec.allocation == "full" else 0
    _text(root, "allocation", str(allocated), unit="bytes")
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", {"type": spec.format})
    if spec.backing:
        backing = ET.SubElement(root, "backingStore")
        _text(backing, "path", spec.backing)
        ET.SubElement(backing, "format", {"type": spec.backing_format or "raw"})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


# -- reading ----------------------------------------------------------------
def _pool_info(pool: libvirt.virStoragePool) -> PoolInfo:
    state, capacity, allocation, available = pool.info()
    root = ET.fromstring(pool.XMLDesc(0))
    try:
        autostart = bool(pool.autostart())
    except libvirt.libvirtError:
        autostart = False
    return PoolInfo(
        name=pool.name(),
        uuid=pool.UUIDString(),
        type=root.get("type", "?"),
        state=POOL_STATES.get(state, "unknown"),
        autostart=autostart,
        persistent=bool(pool.isPersistent()),
        capacity=int(capacity),
        allocation=int(allocation),
        available=int(available),
        path=root.findtext("target/path") or "",
    )


def list_pools(conn: libvirt.virConnect) -> list[PoolInfo]:
    return sorted((_pool_info(p) for p in conn.listAllStoragePools(0)), key=lambda p: p.name)


def pool_info(conn: libvirt.virConnect, name: str) -> PoolInfo:
    return _pool_info(_pool(conn, name))


def volume_users(conn: libvirt.virConnect) -> dict[str, list[str]]:
    """Which VMs use which volume, from every domain's disk sources.

    Keys are paths (``file``/``dev`` sources, and block ``name`` for network disks) and
    ``pool/volume`` pairs (``type='volume'`` disks); values are sorted VM names.
    """
    users: dict[str, set[str]] = {}
    for dom in conn.listAllDomains(0):
        try:
            root = ET.fromstring(dom.XMLDesc(0))
        except libvirt.libvirtError:
            continue
        name = root.findtext("name") or dom.name()
        for disk in root.iter("disk"):
            source = disk.find("source")
            if source is None:
                continue
            keys = [source.get("file"), source.get("dev")]
            if source.get("pool") and source.get("volume"):
                keys.append(f"{source.get('pool')}/{source.get('volume')}")
            for key in keys:
                if key:
                    users.setdefault(key, set()).add(name)
    return {key: sorted(names) for key, names in users.items()}


def _vol_info(
    pool_name: str, vol: libvirt.virStorageVol, users: dict[str, list[str]]
) -> VolumeInfo:
    root = ET.fromstring(vol.XMLDesc(0))
    kind, capacity, allocation = vol.info()
    path = vol.path()
    name = vol.name()
    who = set(users.get(path, [])) | set(users.get(f"{pool_name}/{name}", []))
    kinds = {0: "file", 1: "block", 2: "dir", 3: "network", 4: "netdir", 5: "ploop"}
    return VolumeInfo(
        pool=pool_name,
        name=name,
        path=path,
        format=root.find("target/format").get("type", "")  # type: ignore[union-attr]
        if root.find("target/format") is not None
        else "",
        type=kinds.get(kind, "?"),
        capacity=int(capacity),
        allocation=int(allocation),
        used_by=tuple(sorted(who)),
    )


def list_volumes(conn: libvirt.virConnect, pool_name: str) -> list[VolumeInfo]:
    pool = _pool(conn, pool_name)
    if not pool.isActive():
        raise StorageError(f"Pool {pool_name} is not running; start it to see its volumes.")
    users = volume_users(conn)
    return sorted(
        (_vol_info(pool_name, v, users) for v in pool.listAllVolumes(0)), key=lambda v: v.name
    )


def volume_info(conn: libvirt.virConnect, pool_name: str, name: str) -> VolumeInfo:
    return _vol_info(pool_name, _vol(conn, pool_name, name), volume_users(conn))


def _pool(conn: libvirt.virConnect, name: str) -> libvirt.virStoragePool:
    try:
        return conn.storagePoolLookupByName(name)
    except libvirt.libvirtError:
        raise StorageError(f"There is no storage pool named {name}.") from None


def _vol(conn: libvirt.virConnect, pool_name: str, name: str) -> libvirt.virStorageVol:
    pool = _pool(conn, pool_name)
    if not pool.isActive():
        raise StorageError(f"Pool {pool_name} is not running; start it first.")
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError:
        raise StorageError(f"Pool {pool_name} has no volume named {name}.") from None


def _call(what: str, fn: Callable[[], T]) -> T:
    """Run a libvirt call; its refusal becomes a StorageError sentence."""
    try:
        return fn()
    except libvirt.libvirtError as exc:
        raise StorageError(f"Could not {what}: {explain(exc)}") from None


# -- pool actions -----------------------------------------------------------
def pool_start(conn: libvirt.virConnect, name: str) -> str:
    pool = _pool(conn, name)
    if pool.isActive():
        return f"Pool {name} is already running."
    _call(f"start pool {name}", lambda: pool.create(0))
    return f"Started pool {name}."


def pool_stop(conn: libvirt.virConnect, name: str) -> str:
    pool = _pool(conn, name)
    if not pool.isActive():
        return f"Pool {name} is already stopped."
    _call(f"stop pool {name}", pool.destroy)
    return f"Stopped pool {name}."


def pool_refresh(conn: libvirt.virConnect, name: str) -> str:
    pool = _pool(conn, name)
    _call(f"refresh pool {name}", lambda: pool.refresh(0))
    return f"Refreshed pool {name}."


def pool_autostart(conn: libvirt.virConnect, name: str, on: bool) -> str:
    pool = _pool(conn, name)
    _call(f"change autostart of pool {name}", lambda: pool.setAutostart(1 if on else 0))
    return f"Pool {name} autostart is now {'on' if on else 'off'}."


def pool_delete(conn: libvirt.virConnect, name: str, delete_storage: bool = False) -> str:
    """Stop and undefine a pool; with delete_storage, also remove its directory or VG."""
    pool = _pool(conn, name)
    if pool.isActive():
        _call(f"stop pool {name}", pool.destroy)
    extra = ""
    if delete_storage:
        _call(f"delete the storage of pool {name}", lambda: pool.delete(0))
        extra = " and its storage"
    if pool.isPersistent():
        _call(f"undefine pool {name}", pool.undefine)
    return f"Deleted pool {name}{extra}."


def pool_define(
    conn: libvirt.virConnect, spec: PoolSpec, *, build: bool = False, start: bool = True
) -> str:
    existing = {p.name() for p in conn.listAllStoragePools(0)}
    check_pool_spec(spec, existing)
    xml = pool_xml(spec)
    pool = _call(f"define pool {spec.name}", lambda: conn.storagePoolDefineXML(xml, 0))
    words = f"Defined pool {spec.name}"
    try:
        if build:
            _call(f"build pool {spec.name}", lambda: pool.build(0))
            words += ", built it"
        if start:
            _call(f"start pool {spec.name}", lambda: pool.create(0))
            words += ", started it"
    except StorageError:
        pool.undefine()  # nothing half-made is left behind
        raise
    return words + "."


# -- volume actions ---------------------------------------------------------
def volume_create(conn: libvirt.virConnect, pool_name: str, spec: VolumeSpec) -> VolumeInfo:
    pool = _pool(conn, pool_name)
    if not pool.isActive():
        raise StorageError(f"Pool {pool_name} is not running; start it first.")
    info = _pool_info(pool)
    check_name(spec.name, set(pool.listVolumes()))
    check_spec(spec, info.type)
    check_capacity(spec.capacity, info.available, spec.allocation)
    xml = volume_xml(spec)
    vol = _call(f"create volume {spec.name}", lambda: pool.createXML(xml, 0))
    return _vol_info(pool_name, vol, {})


def volume_resize(
    conn: libvirt.virConnect, pool_name: str, name: str, capacity: int, *, shrink: bool = False
) -> str:
    vol = _vol(conn, pool_name, name)
    current = int(vol.info()[1])
    if capacity == current:
        return f"Volume {name} is already {format_size(capacity)}."
    flags = 0
    if capacity < current:
        if not shrink:
            raise StorageError(
                f"{format_size(capacity)} is smaller than the current {format_size(current)}; "
                "shrinking loses the data at the end, so confirm it explicitly (--shrink)."
            )
        flags |= libvirt.VIR_STORAGE_VOL_RESIZE_SHRINK
    _call(f"resize volume {name}", lambda: vol.resize(capacity, flags))
    return f"Resized volume {name} from {format_size(current)} to {format_size(capacity)}."


def volume_clone(conn: libvirt.virConnect, pool_name: str, name: str, new_name: str) -> VolumeInfo:
    pool = _pool(conn, pool_name)
    source = _vol(conn, pool_name, name)
    check_name(new_name, set(pool.listVolumes()))
    root = ET.fromstring(source.XMLDesc(0))
    clone = ET.Element("volume")
    _text(clone, "name", new_name)
    capacity = root.find("capacity")
    if capacity is not None:
        clone.append(capacity)
    fmt = root.find("target/format")
    if fmt is not None:
        ET.SubElement(ET.SubElement(clone, "target"), "format", {"type": fmt.get("type", "raw")})
    xml = ET.tostring(clone, encoding="unicode")
    vol = _call(f"clone volume {name}", lambda: pool.createXMLFrom(xml, source, 0))
    return _vol_info(pool_name, vol, {})


def _refuse_in_use(conn: libvirt.virConnect, pool_name: str, name: str, verb: str) -> None:
    info = volume_info(conn, pool_name, name)
    if info.used_by:
        raise StorageError(
            f"Refused to {verb} volume {name}: it is a disk of {', '.join(info.used_by)}. "
            "Remove it from the VM first, or force it."
        )


def volume_delete(
    conn: libvirt.virConnect, pool_name: str, name: str, *, force: bool = False
) -> str:
    vol = _vol(conn, pool_name, name)
    if not force:
        _refuse_in_use(conn, pool_name, name, "delete")
    _call(f"delete volume {name}", lambda: vol.delete(0))
    return f"Deleted volume {name} from pool {pool_name}."


def volume_wipe(
    conn: libvirt.virConnect,
    pool_name: str,
    name: str,
    algorithm: str = "zero",
    *,
    force: bool = False,
) -> str:
    if algorithm not in WIPE_ALGORITHMS:
        raise StorageError(f"Wipe algorithms are {', '.join(WIPE_ALGORITHMS)}; not {algorithm}.")
    vol = _vol(conn, pool_name, name)
    if not force:
        _refuse_in_use(conn, pool_name, name, "wipe")
    _call(f"wipe volume {name}", lambda: vol.wipePattern(WIPE_ALGORITHMS[algorithm], 0))
    return f"Wiped volume {name} ({algorithm})."


# -- transfers --------------------------------------------------------------
class Worker(Protocol):
    def call(self, fn: Callable[[libvirt.virConnect], T]) -> Future[T]: ...


@dataclass
class Progress:
    """What a transfer has done so far; handed to the progress callback after each chunk."""

    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-6)

    @property
    def rate(self) -> float:
        """Bytes per second since the start."""
        return self.done / self.elapsed

    def line(self, verb: str) -> str:
        percent = f" ({self.done / self.total:.0%})" if self.total else ""
        return (
            f"{verb} {format_size(self.done)} of {format_size(self.total)}{percent}, "
            f"{format_size(int(self.rate))}/s"
        )


class Transfer:
    """Cancel token for an upload or download: cancel() is safe from any thread."""

    def __init__(self) -> None:
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


def download(
    worker: Worker,
    pool_name: str,
    name: str,
    dest: Path,
    *,
    progress: Callable[[Progress], None] | None = None,
    transfer: Transfer | None = None,
) -> Progress:
    """Copy a volume's bytes into a local file through a libvirt stream.

    The bytes go to a hidden temp file beside dest, renamed onto dest only when the whole
    volume has arrived; on cancel or failure the temp file is removed and dest is untouched.
    """
    transfer = transfer or Transfer()

    def opening(conn: libvirt.virConnect) -> tuple[libvirt.virStream, int]:
        vol = _vol(conn, pool_name, name)
        try:
            total = int(vol.infoFlags(libvirt.VIR_STORAGE_VOL_GET_PHYSICAL)[2])
        except libvirt.libvirtError:
            total = int(vol.info()[1])
        if _vol_format(vol) == "raw":
            total = int(vol.info()[1])
        stream = conn.newStream(0)
        _call(f"download volume {name}", lambda: vol.download(stream, 0, 0, 0))
        return stream, total

    stream, total = worker.call(opening).result()
    state = Progress(total=total)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    except OSError as exc:
        _abort(worker, stream)
        raise StorageError(f"Could not write {dest}: {exc.strerror or exc}.") from None
    tmp = Path(tmp_name)
    finished = placed = False
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                if transfer.cancelled:
                    raise Cancelled(f"Download of {name} cancelled; {dest} was not written.")
                data = worker.call(lambda _c: stream.recv(CHUNK)).result()
                if isinstance(data, int) or not data:
                    if data == -2:
                        continue
                    break
                out.write(data)
                state.done += len(data)
                if progress:
                    progress(state)
            out.flush()
            os.fsync(out.fileno())
        worker.call(lambda _c: stream.finish()).result()
        finished = True
        os.replace(tmp, dest)
        placed = True
    except libvirt.libvirtError as exc:
        raise StorageError(f"Could not download volume {name}: {explain(exc)}") from None
    except KeyboardInterrupt:
        raise Cancelled(f"Download of {name} cancelled; {dest} was not written.") from None
    except OSError as exc:
        # A full disk, a quota, an I/O error: the partial copy is removed below.
        kept = f" and {dest} is as it was" if dest.exists() else ""
        raise StorageError(
            f"Could not write {dest}: {exc.strerror or exc}; the partial copy was removed{kept}."
        ) from None
    finally:
        if not finished:
            _abort(worker, stream)
        if not placed:
            tmp.unlink(missing_ok=True)
    return state


def upload(
    worker: Worker,
    pool_name: str,
    name: str,
    source: Path,
    *,
    progress: Callable[[Progress], None] | None = None,
    transfer: Transfer | None = None,
    created: bool = False,
    force: bool = False,
) -> Progress:
    """Write a local file into a volume through a libvirt stream.

    A cancelled or failed upload never leaves a half-written volume behind: a volume that
    was created for this upload (created=True) is deleted; an existing volume, whose old
    contents are already partly overwritten, is wiped with zeros and the caller is told.
    """
    transfer = transfer or Transfer()
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise StorageError(f"Could not read {source}: {exc.strerror or exc}.") from None
    if size == 0:
        raise StorageError(f"{source} is empty; there is nothing to upload.")

    def opening(conn: libvirt.virConnect) -> libvirt.virStream:
        vol = _vol(conn, pool_name, name)
        if not force:
            _refuse_in_use(conn, pool_name, name, "upload to")
        capacity = int(vol.info()[1])
        if _vol_format(vol) == "raw" and size > capacity:
            raise StorageError(
                f"{source} ({format_size(size)}) is larger than volume {name} "
                f"({format_size(capacity)}); resize the volume first."
            )
        stream = conn.newStream(0)
        _call(f"upload to volume {name}", lambda: vol.upload(stream, 0, size, 0))
        return stream

    stream = worker.call(opening).result()
    state = Progress(total=size)
    try:
        with source.open("rb") as src:
            while state.done < size:
                if transfer.cancelled:
                    raise Cancelled(f"Upload to {name} cancelled")
                data = src.read(CHUNK)
                if not data:
                    raise StorageError(f"{source} became shorter while it was being uploaded")
                _send_all(worker, stream, data)
                state.done += len(data)
                if progress:
                    progress(state)
        worker.call(lambda _c: stream.finish()).result()
    except BaseException as exc:
        # Stop the stream first: libvirt keeps the volume busy while it is open.
        _abort(worker, stream)
        undo = _undo(worker, pool_name, name, created)
        if isinstance(exc, KeyboardInterrupt):
            raise Cancelled(f"Upload to {name} cancelled.{undo}") from None
        if isinstance(exc, libvirt.libvirtError):
            raise StorageError(f"Could not upload to volume {name}: {explain(exc)}{undo}") from None
        if isinstance(exc, StorageError):
            raise type(exc)(str(exc).rstrip(".") + "." + undo) from None
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise StorageError(f"Could not read {source}: {reason}.{undo}") from None
        raise
    return state


def _send_all(worker: Worker, stream: libvirt.virStream, data: bytes) -> None:
    view = memoryview(data)
    while view:
        piece = bytes(view)

        def send(_conn: libvirt.virConnect, piece: bytes = piece) -> int:
            return int(stream.send(piece))

        sent = worker.call(send).result()
        if sent > 0:
            view = view[sent:]


def _undo(worker: Worker, pool_name: str, name: str, created: bool) -> str:
    try:
        if created:
            worker.call(lambda c: volume_delete(c, pool_name, name, force=True)).result()
            return f" Volume {name}, created for this upload, was deleted."
        worker.call(
            lambda c: _vol(c, pool_name, name).wipePattern(libvirt.VIR_STORAGE_VOL_WIPE_ALG_ZERO, 0)
        ).result()
        return f" Volume {name} was partly overwritten, so it was wiped with zeros."
    except (libvirt.libvirtError, StorageError) as exc:
        return f" Volume {name} is partly written and could not be cleaned: {exc}"


def _abort(worker: Worker, stream: libvirt.virStream) -> None:
    try:
        worker.call(lambda _c: stream.abort()).result()
    except libvirt.libvirtError:
        pass  # already finished or broken


def _vol_format(vol: libvirt.virStorageVol) -> str:
    fmt = ET.fromstring(vol.XMLDesc(0)).find("target/format")
    return fmt.get("type", "") if fmt is not None else ""
