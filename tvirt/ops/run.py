"""How every operation runs: refuse, submit to the host's worker, translate failures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol, TypeVar

import libvirt

from tvirt.errors import TvirtError, explain, libvirt_sentence
from tvirt.readonly import refusal

T = TypeVar("T")


class Refused(TvirtError):
    """Read-only mode refused a change before anything was sent to the host."""


class Failed(TvirtError):
    """The host refused or failed the operation; str() is libvirt's reason as a sentence."""


class Place(Protocol):
    """What a refusal needs of a host: its label and whether it is read-only."""

    @property
    def label(self) -> str: ...

    @property
    def readonly(self) -> bool: ...


class Host(Protocol):
    """What an operation needs of a host: tvirt.host.HostWorker is one."""

    host_id: str
    readonly: bool

    @property
    def label(self) -> str: ...

    @property
    def far_name(self) -> str: ...

    def call(self, fn: Callable[[libvirt.virConnect], T]) -> Future[T]: ...


def refused(host: Place, what: str) -> Refused | None:
    """The refusal a change would meet, or None: a screen or command asks this before
    any question or form, so read-only mode never asks first and refuses after."""
    if host.readonly:
        return Refused(refusal(what, host.label), host=host.label)
    return None


def _refused_future(host: Place, change: str) -> Future[T] | None:
    refusal_error = refused(host, change) if change else None
    if refusal_error is None:
        return None
    failed: Future[T] = Future()
    failed.set_exception(refusal_error)
    return failed


def _failed(exc: libvirt.libvirtError, label: str, far: str, explained: bool) -> Failed:
    """A libvirt failure as one sentence naming the host: explained for the host (what to
    check there) or in libvirt's own words."""
    words = explain(exc, far) if explained else libvirt_sentence(exc)
    failure = Failed(words, host=label)
    failure.__cause__ = exc
    return failure


def on_host(
    host: Host,
    job: Callable[[libvirt.virConnect], T],
    *,
    change: str = "",
    explained: bool = False,
) -> Future[T]:
    """Run job(conn) on the host's worker. `change` names a change ("start network
    default"): read-only mode refuses it. `explained`: a libvirt failure is explained for
    the host (what to check), not quoted in libvirt's own words."""
    failed: Future[T] | None = _refused_future(host, change)
    if failed is not None:
        return failed
    label, far = host.label, host.far_name

    def translated(conn: libvirt.virConnect) -> T:
        try:
            return job(conn)
        except libvirt.libvirtError as exc:
            raise _failed(exc, label, far, explained) from exc

    return host.call(translated)


def on_vm(
    host: Host,
    uuid: str,
    job: Callable[[libvirt.virConnect, libvirt.virDomain], T],
    *,
    change: str = "",
    explained: bool = False,
) -> Future[T]:
    """Run job(conn, dom) for the VM with this UUID (looked up on the worker, so a VM
    renamed meanwhile is still found; one removed meanwhile fails with a sentence)."""
    return on_host(
        host,
        lambda conn: job(conn, conn.lookupByUUIDString(uuid)),
        change=change,
        explained=explained,
    )


def in_thread(
    host: Place, job: Callable[[], T], *, change: str = "", explained: bool = False
) -> Future[T]:
    """Run a blocking job that is not a libvirt call (external commands through a
    tvirt.remote.Runner, which may wait minutes on ssh or dd) on a thread of its own, so
    neither the event loop nor the host's libvirt worker waits for it. `change` is refused
    in read-only mode as for on_host. The job's TvirtError (RemoteError, GlusterError, a
    refusal) is the future's exception as it is; a libvirt failure of a libvirt call the
    job makes becomes a Failed sentence naming the host (`explained` as for on_host).
    Uploads and downloads run here too: their chunks are worker jobs, their wait is not."""
    failed: Future[T] | None = _refused_future(host, change)
    if failed is not None:
        return failed
    future: Future[T] = Future()
    label = host.label
    far = str(getattr(host, "far_name", "the host"))

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(job())
        except libvirt.libvirtError as exc:
            future.set_exception(_failed(exc, label, far, explained))
        except BaseException as exc:
            future.set_exception(exc)

    # A daemon thread: a command still waiting on ssh must not keep tvirt from exiting.
    threading.Thread(target=run, name=f"tvirt-run {label}", daemon=True).start()
    return future
