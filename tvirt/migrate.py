"""Moving a VM to another host with libvirt's peer-to-peer migration, with progress.

The migration call blocks its host's worker thread until it ends, so progress is read on
a second connection to the same host, owned by its own worker (`progress_worker`), never
from the busy one. Not exercised end to end in the tests: this machine has a single
libvirtd, and libvirt refuses to migrate a VM to the host it runs on.
"""

from __future__ import annotations

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


def migrate(
    dom: libvirt.virDomain, dest_uri: str, *, live: bool = True, copy_storage: bool = False
) -> str:
    """Runs on the source host's worker; returns when libvirt has finished or failed.

    copy_storage: the disks are not on storage both hosts share, so libvirt copies them
    (the destination needs the same pools; libvirt creates the volumes there)."""
    if name_problem(dom.name()):
        raise MigrateError(f"{dom.name()!r} is not a name tvirt can migrate.")
    flags = FLAGS | (libvirt.VIR_MIGRATE_LIVE if live and dom.isActive() else 0)
    if not dom.isActive():
        flags |= libvirt.VIR_MIGRATE_OFFLINE
    if copy_storage:
        flags |= libvirt.VIR_MIGRATE_NON_SHARED_DISK
    dom.migrateToURI3(dest_uri, {}, flags)
    return f"Migrated {dom.name()} to {dest_uri}."


def progress(conn: libvirt.virConnect, uuid: str) -> Advanced | None:
    """The running migration job's progress, read on a second connection; None if none."""
    try:
        stats = conn.lookupByUUIDString(uuid).jobStats(0)
    except libvirt.libvirtError:
        return None
    return job_progress(stats)


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
