"""Storage operations: pools, volumes, and the uploads and downloads of volume bytes.

Each returns a Future; the domain functions (tvirt.storage, tvirt.transfers) do the work.
libvirt failures are explained for the host (what to check there), as the storage screen
and commands always said them. A StorageError is the domain's own sentence and passes
through as it is.

Uploads and downloads send one chunk per job to the host's worker, so they cannot run on
it: each runs on a thread of its own, started here after the read-only refusal, and its
Future resolves when the transfer ends. Progress goes to the caller's report (called on
that thread); a CancelToken stops it between chunks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import libvirt

from tvirt import progress as pg
from tvirt import storage, transfers
from tvirt.errors import explain
from tvirt.ops.run import Failed, Host, on_host, refused
from tvirt.storage_model import PoolInfo, PoolSpec, VolumeInfo, VolumeSpec


# -- reading ----------------------------------------------------------------
def list_pools(host: Host) -> Future[list[PoolInfo]]:
    return on_host(host, storage.list_pools, explained=True)


def pool_info(host: Host, name: str) -> Future[PoolInfo]:
    return on_host(host, lambda c: storage.pool_info(c, name), explained=True)


def list_volumes(host: Host, pool: str) -> Future[list[VolumeInfo]]:
    return on_host(host, lambda c: storage.list_volumes(c, pool), explained=True)


def volume_info(host: Host, pool: str, name: str) -> Future[VolumeInfo]:
    return on_host(host, lambda c: storage.volume_info(c, pool, name), explained=True)


def volume_users(host: Host) -> Future[dict[str, list[str]]]:
    """Which VMs use which volume (keys: paths and pool/volume pairs)."""
    return on_host(host, storage.volume_users, explained=True)


# -- pools ------------------------------------------------------------------
def pool_define(
    host: Host, spec: PoolSpec, *, build: bool = False, start: bool = True
) -> Future[str]:
    return on_host(
        host,
        lambda c: storage.pool_define(c, spec, build=build, start=start),
        change=f"define pool {spec.name}",
        explained=True,
    )


def pool_start(host: Host, name: str) -> Future[str]:
    return _pool(host, "start", name, storage.pool_start)


def pool_stop(host: Host, name: str) -> Future[str]:
    return _pool(host, "stop", name, storage.pool_stop)


def pool_refresh(host: Host, name: str) -> Future[str]:
    return _pool(host, "refresh", name, storage.pool_refresh)


def pool_autostart(host: Host, name: str, on: bool) -> Future[str]:
    return _pool(host, "autostart", name, lambda c, n: storage.pool_autostart(c, n, on))


def pool_delete(host: Host, name: str, *, delete_storage: bool = False) -> Future[str]:
    """Stop and undefine; with delete_storage also remove its directory or VG, all or
    nothing (tvirt.storage.pool_delete)."""
    return _pool(host, "delete", name, lambda c, n: storage.pool_delete(c, n, delete_storage))


def _pool(
    host: Host, verb: str, name: str, job: Callable[[libvirt.virConnect, str], str]
) -> Future[str]:
    return on_host(host, lambda c: job(c, name), change=f"{verb} pool {name}", explained=True)


# -- volumes ----------------------------------------------------------------
def volume_create(host: Host, pool: str, spec: VolumeSpec) -> Future[VolumeInfo]:
    return on_host(
        host,
        lambda c: storage.volume_create(c, pool, spec),
        change=f"create volume {spec.name}",
        explained=True,
    )


def volume_delete(host: Host, pool: str, name: str, *, force: bool = False) -> Future[str]:
    return on_host(
        host,
        lambda c: storage.volume_delete(c, pool, name, force=force),
        change=f"delete volume {name}",
        explained=True,
    )


def volume_resize(
    host: Host, pool: str, name: str, capacity: int, *, shrink: bool = False
) -> Future[str]:
    return on_host(
        host,
        lambda c: storage.volume_resize(c, pool, name, capacity, shrink=shrink),
        change=f"resize volume {name}",
        explained=True,
    )


def volume_clone(host: Host, pool: str, name: str, new_name: str) -> Future[VolumeInfo]:
    return on_host(
        host,
        lambda c: storage.volume_clone(c, pool, name, new_name),
        change=f"clone volume {name}",
        explained=True,
    )


def volume_wipe(
    host: Host, pool: str, name: str, algorithm: str = "zero", *, force: bool = False
) -> Future[str]:
    """One libvirt call with no progress: it holds the host's worker until done."""
    return on_host(
        host,
        lambda c: storage.volume_wipe(c, pool, name, algorithm, force=force),
        change=f"wipe volume {name}",
        explained=True,
    )


# -- transfers --------------------------------------------------------------
def upload(
    host: Host,
    pool: str,
    name: str,
    source: Path,
    *,
    progress: pg.Report = pg.ignore,
    transfer: pg.CancelToken | None = None,
    created: bool = False,
    force: bool = False,
) -> Future[pg.Advanced]:
    """Write a local file into a volume (refused read-only); resolves to the last progress.
    A cancel raises transfers.Cancelled, after the volume was deleted (created=True) or
    wiped with zeros."""
    refusal = refused(host, f"upload to volume {name}")
    if refusal is not None:
        return _failed(refusal)
    return _in_thread(
        host,
        f"upload to {name}",
        lambda: transfers.upload(
            host, pool, name, source, progress=progress, transfer=transfer,
            created=created, force=force,
        ),
    )


def download(
    host: Host,
    pool: str,
    name: str,
    dest: Path,
    *,
    progress: pg.Report = pg.ignore,
    transfer: pg.CancelToken | None = None,
) -> Future[pg.Advanced]:
    """Copy a volume into a local file (a read: allowed read-only); dest is replaced only
    once the whole volume has arrived."""
    return _in_thread(
        host,
        f"download of {name}",
        lambda: transfers.download(
            host, pool, name, dest, progress=progress, transfer=transfer
        ),
    )


def _in_thread(host: Host, what: str, run: Callable[[], pg.Advanced]) -> Future[pg.Advanced]:
    future: Future[pg.Advanced] = Future()
    future.set_running_or_notify_cancel()
    label, far = host.label, host.far_name

    def body() -> None:
        try:
            future.set_result(run())
        except libvirt.libvirtError as exc:  # a lookup outside the domain's own sentences
            future.set_exception(Failed(explain(exc, far), host=label))
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=body, name=f"tvirt {what}", daemon=True).start()
    return future


def _failed(exc: BaseException) -> Future[pg.Advanced]:
    future: Future[pg.Advanced] = Future()
    future.set_exception(exc)
    return future
