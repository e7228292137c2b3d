"""Moving a VM to another host with libvirt's peer-to-peer migration, with progress.

The migration call blocks its host's worker thread until it ends, so progress is read,
and a cancel sent (`abort`), on a second connection to the same host, owned by its own
worker, never on the busy one. Proven on the lab's two hosts (tests/test_lab_migrate.py).

Where the memory goes: with no migration URI, the destination's libvirtd names the
address the source's QEMU connects to, its own hostname (or `migration_address` /
`migration_host` in its qemu.conf). That is the sound default: only the destination
knows which of its addresses the source can reach, and the name it reports is the one
its administrator set. The lab's nodes resolve each other's hostnames, so the default
works there; a host whose hostname does not resolve from the others needs
`migration_host` in its qemu.conf, not a guess from the connection URI here (an ssh URI
may name a jump host or an ssh alias, which QEMU cannot connect to).
"""

from __future__ import annotations

import posixpath
import xml.etree.ElementTree as ET
from typing import Any

import libvirt

from tvirt.errors import TvirtError
from tvirt.progress import Advanced
from tvirt.sizes import format_size
from tvirt.vmspec import name_problem

FLAGS = (
    libvirt.VIR_MIGRATE_PEER2PEER
    | libvirt.VIR_MIGRATE_PERSIST_DEST
    | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
)


class MigrateError(TvirtError):
    """One sentence: why the VM was not moved."""


def flags_for(active: bool, *, live: bool, copy_storage: bool) -> int:
    """Live only for a running VM that is to keep running; a shut-off VM moves offline
    (its definition only: libvirt copies no disks then, so copy_storage is refused)."""
    flags: int = FLAGS
    if not active:
        if copy_storage:
            raise MigrateError(
                "Copying storage needs the VM running; a shut-off VM moves its definition only."
            )
        return flags | int(libvirt.VIR_MIGRATE_OFFLINE)
    if live:
        flags |= libvirt.VIR_MIGRATE_LIVE
    if copy_storage:
        flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    return flags


def migrate(
    dom: libvirt.virDomain,
    dest_uri: str,
    *,
    live: bool = True,
    copy_storage: bool = False,
    dest_label: str = "",
) -> str:
    """Runs on the source host's worker; returns when libvirt has finished or failed.

    live=False pauses a running VM while its memory is copied (faster, no dirty pages
    sent again). copy_storage: the disks are not on storage both hosts share, so libvirt
    copies them; the destination needs a pool with the same target path (libvirt
    creates the volumes in it)."""
    name = dom.name()
    if name_problem(name):
        raise MigrateError(f"{name!r} is not a name tvirt can migrate.")
    flags = flags_for(bool(dom.isActive()), live=live, copy_storage=copy_storage)
    where = dest_label or dest_uri
    try:
        dom.migrateToURI3(dest_uri, {}, flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_POOL and copy_storage:
            raise MigrateError(no_pool(name, where, [_pool_words(exc)])) from exc
        if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_ABORTED:
            raise MigrateError(f"Cancelled: {name} was not migrated and stays here.") from exc
        raise
    return f"Migrated {name} to {where}."


def disk_places(dom: libvirt.virDomain) -> list[str]:
    """Where copy_storage puts each disk on the destination: the directory of a file
    disk (libvirt looks for a pool with that target path) or the pool of a volume disk
    ("pool NAME")."""
    places: list[str] = []
    for disk in ET.fromstring(dom.XMLDesc(0)).iterfind("./devices/disk[@device='disk']"):
        source = disk.find("source")
        if source is None:
            continue
        if disk.get("type") == "file" and source.get("file"):
            place = posixpath.dirname(source.get("file", ""))
        elif disk.get("type") == "volume" and source.get("pool"):
            place = f"pool {source.get('pool')}"
        else:
            continue
        if place not in places:
            places.append(place)
    return places


def missing_places(conn: libvirt.virConnect, places: list[str]) -> list[str]:
    """The places of `disk_places` that no storage pool on this (destination) host
    provides. Asked before the migration: libvirt's own refusal, when the destination
    lacks the pool, sometimes arrives as a closed connection instead of its sentence."""
    names, paths = set(), set()
    for pool in conn.listAllStoragePools(0):
        names.add(pool.name())
        path = ET.fromstring(pool.XMLDesc(0)).findtext("./target/path")
        if path:
            paths.add(posixpath.normpath(path))
    return [p for p in places
            if p.removeprefix("pool ") not in names and posixpath.normpath(p) not in paths]


def no_pool(name: str, where: str, missing: list[str]) -> str:
    return (f"{where} has no storage pool for {name}'s disks (none at {', '.join(missing)}); "
            f"define the same pool on {where} to copy them there.")


def _pool_words(exc: libvirt.libvirtError) -> str:
    """libvirt's 'no storage pool with matching target path '/x'' as '/x'."""
    text = str(exc.get_error_message() or exc)
    return text.rsplit("'", 2)[-2] if text.count("'") >= 2 else text.rstrip(".")


def progress(conn: libvirt.virConnect, uuid: str) -> Advanced | None:
    """The running migration job's progress, read on a second connection; None if none."""
    try:
        stats = conn.lookupByUUIDString(uuid).jobStats(0)
    except libvirt.libvirtError:
        return None
    return job_progress(stats)


def abort(conn: libvirt.virConnect, uuid: str) -> bool:
    """Ask libvirt to abort the VM's running job, on a second connection (the first is
    inside the migration call); the migration call then fails as aborted and the VM
    keeps running here. False when no job was running (it had just ended)."""
    dom = conn.lookupByUUIDString(uuid)
    try:
        dom.abortJob()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_INVALID:
            return False  # "no job is active on the domain"
        raise
    return True


def job_progress(stats: dict[str, Any]) -> Advanced | None:
    """libvirt's job statistics as a progress event: bytes sent of the total (None until
    libvirt knows it), elapsed time, and what is still to go (dirty memory is sent again,
    so it is not the total less what was sent)."""
    if stats.get("type", libvirt.VIR_DOMAIN_JOB_NONE) == libvirt.VIR_DOMAIN_JOB_NONE:
        return None
    total = int(stats.get("data_total", 0))
    remaining = int(stats.get("data_remaining", 0))
    return Advanced(
        int(stats.get("data_processed", 0)),
        total or None,
        elapsed=int(stats.get("time_elapsed", 0)) / 1000,
        detail=f"{format_size(remaining)} to go" if total else "starting",
    )
