"""Storage pools and volumes on a host: reading them, and every action on them.

No textual here. Every function that takes ``conn`` runs on the host's HostWorker thread
(``worker.call(lambda conn: list_pools(conn))``). The records, checks and XML they use are
in ``tvirt.storage_model`` and importable from here too; uploads and downloads, which run
on the caller's thread one chunk per worker job, are in ``tvirt.transfers``.
Wipe is one libvirt call with no progress callback: it holds the worker until it is done,
and the callers show "still working, N s" meanwhile.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import TypeVar

import libvirt

from tvirt import glusterpaths
from tvirt.errors import explain
from tvirt.sizes import format_size
from tvirt.storage_model import (
    NAME_MAX,
    POOL_TYPES,
    PoolInfo,
    PoolSpec,
    StorageError,
    VolumeInfo,
    VolumeSpec,
    allocations_for,
    check_capacity,
    check_name,
    check_pool_spec,
    check_spec,
    clone_xml,
    formats_for,
    pool_xml,
    volume_xml,
)

__all__ = [
    "NAME_MAX",
    "POOL_STATES",
    "POOL_TYPES",
    "WIPE_ALGORITHMS",
    "PoolInfo",
    "PoolSpec",
    "StorageError",
    "VolumeInfo",
    "VolumeSpec",
    "allocations_for",
    "check_capacity",
    "check_name",
    "check_pool_spec",
    "check_spec",
    "find_pool",
    "find_volume",
    "formats_for",
    "guarded",
    "list_pools",
    "list_volumes",
    "pool_autostart",
    "pool_define",
    "pool_delete",
    "pool_info",
    "pool_refresh",
    "pool_start",
    "pool_stop",
    "pool_xml",
    "refuse_in_use",
    "volume_clone",
    "volume_create",
    "volume_delete",
    "volume_info",
    "volume_resize",
    "volume_users",
    "volume_wipe",
    "volume_xml",
]

T = TypeVar("T")

POOL_STATES = {
    libvirt.VIR_STORAGE_POOL_INACTIVE: "inactive",
    libvirt.VIR_STORAGE_POOL_BUILDING: "building",
    libvirt.VIR_STORAGE_POOL_RUNNING: "running",
    libvirt.VIR_STORAGE_POOL_DEGRADED: "degraded",
    libvirt.VIR_STORAGE_POOL_INACCESSIBLE: "inaccessible",
}

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
    """Every pool, by name; one another client removes while it is read is left out."""
    found = []
    for pool in conn.listAllStoragePools(0):
        try:
            found.append(_pool_info(pool))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() != libvirt.VIR_ERR_NO_STORAGE_POOL:
                raise
    return sorted(found, key=lambda p: p.name)


def pool_info(conn: libvirt.virConnect, name: str) -> PoolInfo:
    return _pool_info(find_pool(conn, name))


def volume_users(conn: libvirt.virConnect) -> dict[str, list[str]]:
    """Which VMs use which volume, from every domain's disk sources.

    Keys are paths (``file``/``dev`` sources, and block ``name`` for network disks) and
    ``pool/volume`` pairs (``type='volume'`` disks); values are sorted VM names.
    """
    users: dict[str, set[str]] = {}
    where = glusterpaths.mounts(conn)
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
            keys = [source.get("file"), source.get("dev"), glusterpaths.network_key(source)]
            keys.append(glusterpaths.key(source.get("file") or "", where))
            if source.get("pool") and source.get("volume"):
                keys.append(f"{source.get('pool')}/{source.get('volume')}")
            for key in keys:
                if key:
                    users.setdefault(key, set()).add(name)
    return {key: sorted(names) for key, names in users.items()}


def _vol_info(
    pool_name: str,
    vol: libvirt.virStorageVol,
    users: dict[str, list[str]],
    where: glusterpaths.Mounts | None = None,
) -> VolumeInfo:
    root = ET.fromstring(vol.XMLDesc(0))
    kind, capacity, allocation = vol.info()
    path = vol.path()
    name = vol.name()
    who = set(users.get(path, [])) | set(users.get(f"{pool_name}/{name}", []))
    if gkey := glusterpaths.key(path, where or []):
        who |= set(users.get(gkey, []))  # the same file reached another way
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
    pool = find_pool(conn, pool_name)
    if not pool.isActive():
        raise StorageError(f"Pool {pool_name} is not running; start it to see its volumes.")
    if _shared(pool):
        # Other hosts add and remove files on a shared pool; libvirt lists what it last saw.
        with contextlib.suppress(libvirt.libvirtError):
            pool.refresh(0)
    users, where = volume_users(conn), glusterpaths.mounts(conn)
    return sorted(
        (_vol_info(pool_name, v, users, where) for v in pool.listAllVolumes(0)),
        key=lambda v: v.name,
    )


def _shared(pool: libvirt.virStoragePool) -> bool:
    kind = ET.fromstring(pool.XMLDesc(0)).get("type")
    return kind in {"netfs", "gluster"}


def volume_info(conn: libvirt.virConnect, pool_name: str, name: str) -> VolumeInfo:
    vol = find_volume(conn, pool_name, name)
    return _vol_info(pool_name, vol, volume_users(conn), glusterpaths.mounts(conn))


def find_pool(conn: libvirt.virConnect, name: str) -> libvirt.virStoragePool:
    try:
        return conn.storagePoolLookupByName(name)
    except libvirt.libvirtError:
        raise StorageError(f"There is no storage pool named {name}.") from None


def find_volume(conn: libvirt.virConnect, pool_name: str, name: str) -> libvirt.virStorageVol:
    pool = find_pool(conn, pool_name)
    if not pool.isActive():
        raise StorageError(f"Pool {pool_name} is not running; start it first.")
    try:
        return pool.storageVolLookupByName(name)
    except libvirt.libvirtError:
        raise StorageError(f"Pool {pool_name} has no volume named {name}.") from None


def guarded(what: str, fn: Callable[[], T]) -> T:
    """Run a libvirt call; its refusal becomes a StorageError sentence."""
    try:
        return fn()
    except libvirt.libvirtError as exc:
        raise StorageError(f"Could not {what}: {explain(exc)}") from None


# -- pool actions -----------------------------------------------------------
def pool_start(conn: libvirt.virConnect, name: str) -> str:
    pool = find_pool(conn, name)
    if pool.isActive():
        return f"Pool {name} is already running."
    guarded(f"start pool {name}", lambda: pool.create(0))
    return f"Started pool {name}."


def pool_stop(conn: libvirt.virConnect, name: str) -> str:
    pool = find_pool(conn, name)
    if not pool.isActive():
        return f"Pool {name} is already stopped."
    guarded(f"stop pool {name}", pool.destroy)
    return f"Stopped pool {name}."


def pool_refresh(conn: libvirt.virConnect, name: str) -> str:
    pool = find_pool(conn, name)
    guarded(f"refresh pool {name}", lambda: pool.refresh(0))
    return f"Refreshed pool {name}."


def pool_autostart(conn: libvirt.virConnect, name: str, on: bool) -> str:
    pool = find_pool(conn, name)
    guarded(f"change autostart of pool {name}", lambda: pool.setAutostart(1 if on else 0))
    return f"Pool {name} autostart is now {'on' if on else 'off'}."


def pool_delete(conn: libvirt.virConnect, name: str, delete_storage: bool = False) -> str:
    """Stop and undefine a pool; with delete_storage, also remove its directory or VG.

    All or nothing: storage that still holds volumes is refused before anything changes,
    and if removing it fails all the same, a pool that was running is started again."""
    pool = find_pool(conn, name)
    running = bool(pool.isActive())
    if delete_storage and running:
        _refuse_holding(pool, name)
    if running:
        guarded(f"stop pool {name}", pool.destroy)
    extra = ""
    if delete_storage:
        try:
            guarded(f"delete the storage of pool {name}", lambda: pool.delete(0))
        except StorageError as exc:
            raise StorageError(f"{str(exc).rstrip('.')}. {_kept(pool, name, running)}") from None
        extra = " and its storage"
    if pool.isPersistent():
        guarded(f"undefine pool {name}", pool.undefine)
    return f"Deleted pool {name}{extra}."


def _refuse_holding(pool: libvirt.virStoragePool, name: str) -> None:
    guarded(f"refresh pool {name}", lambda: pool.refresh(0))
    held = sorted(pool.listVolumes())
    if held:
        shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
        raise StorageError(
            f"Refused to delete the storage of pool {name}: it still holds {len(held)} "
            f"volume{'s' if len(held) != 1 else ''} ({shown}). Delete them first, or delete "
            "the pool and keep its storage; nothing was changed.")


def _kept(pool: libvirt.virStoragePool, name: str, running: bool) -> str:
    """After a failed delete of the storage: the pool as it was, in words."""
    if not running:
        return f"Pool {name} is kept as it was."
    try:
        pool.create(0)
    except libvirt.libvirtError as exc:
        return f"Pool {name} is kept but stopped; starting it again failed: {explain(exc)}"
    return f"Pool {name} was started again and is kept as it was."


def pool_define(
    conn: libvirt.virConnect, spec: PoolSpec, *, build: bool = False, start: bool = True
) -> str:
    existing = {p.name() for p in conn.listAllStoragePools(0)}
    check_pool_spec(spec, existing)
    xml = pool_xml(spec)
    pool = guarded(f"define pool {spec.name}", lambda: conn.storagePoolDefineXML(xml, 0))
    words = f"Defined pool {spec.name}"
    try:
        if build:
            guarded(f"build pool {spec.name}", lambda: pool.build(0))
            words += ", built it"
        if start:
            guarded(f"start pool {spec.name}", lambda: pool.create(0))
            words += ", started it"
    except StorageError:
        pool.undefine()  # nothing half-made is left behind
        raise
    return words + "."


# -- volume actions ---------------------------------------------------------
def volume_create(conn: libvirt.virConnect, pool_name: str, spec: VolumeSpec) -> VolumeInfo:
    pool = find_pool(conn, pool_name)
    if not pool.isActive():
        raise StorageError(f"Pool {pool_name} is not running; start it first.")
    info = _pool_info(pool)
    check_name(spec.name, set(pool.listVolumes()))
    check_spec(spec, info.type)
    check_capacity(spec.capacity, info.available, spec.allocation)
    xml = volume_xml(spec)
    vol = guarded(f"create volume {spec.name}", lambda: pool.createXML(xml, 0))
    return _vol_info(pool_name, vol, {})


def volume_resize(
    conn: libvirt.virConnect, pool_name: str, name: str, capacity: int, *, shrink: bool = False
) -> str:
    vol = find_volume(conn, pool_name, name)
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
    guarded(f"resize volume {name}", lambda: vol.resize(capacity, flags))
    return f"Resized volume {name} from {format_size(current)} to {format_size(capacity)}."


def volume_clone(conn: libvirt.virConnect, pool_name: str, name: str, new_name: str) -> VolumeInfo:
    pool = find_pool(conn, pool_name)
    source = find_volume(conn, pool_name, name)
    check_name(new_name, set(pool.listVolumes()))
    xml = clone_xml(source.XMLDesc(0), new_name)
    vol = guarded(f"clone volume {name}", lambda: pool.createXMLFrom(xml, source, 0))
    return _vol_info(pool_name, vol, {})


def refuse_in_use(conn: libvirt.virConnect, pool_name: str, name: str, verb: str) -> None:
    info = volume_info(conn, pool_name, name)
    if info.used_by:
        raise StorageError(
            f"Refused to {verb} volume {name}: it is a disk of {', '.join(info.used_by)}. "
            "Remove it from the VM first, or force it."
        )


def volume_delete(
    conn: libvirt.virConnect, pool_name: str, name: str, *, force: bool = False
) -> str:
    vol = find_volume(conn, pool_name, name)
    if not force:
        refuse_in_use(conn, pool_name, name, "delete")
    guarded(f"delete volume {name}", lambda: vol.delete(0))
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
    vol = find_volume(conn, pool_name, name)
    if not force:
        refuse_in_use(conn, pool_name, name, "wipe")
    guarded(f"wipe volume {name}", lambda: vol.wipePattern(WIPE_ALGORITHMS[algorithm], 0))
    return f"Wiped volume {name} ({algorithm})."
