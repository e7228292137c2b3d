"""One worker thread per host. It alone touches that host's libvirt connection."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, NamedTuple, TypeVar

import libvirt

from tvirt import domains
from tvirt.actions import Action, ActionRefused, ActionResult
from tvirt.errors import TvirtError, explain, permanent
from tvirt.events import ensure_event_loop
from tvirt.model import HostInfo, HostState, VMInfo, format_version
from tvirt.opening import KEEPALIVE_COUNT, KEEPALIVE_INTERVAL, Opening, close_quietly
from tvirt.readonly import refusal
from tvirt.recheck import RecheckBudget
from tvirt.updates import (
    ActionDone,
    DomainChanged,
    DomainRemoved,
    DomainsDetailed,
    DomainsListed,
    HostChanged,
    Sink,
)
from tvirt.uri import ParsedURI

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["BACKOFF", "CONNECT_TIMEOUT", "KEEPALIVE_COUNT", "KEEPALIVE_INTERVAL", "HostWorker"]
BACKOFF = (1.0, 2.0, 4.0, 8.0, 10.0)
# Seconds an opening may go unanswered before the host is shown disconnected, with that
# reason in words (the attempt goes on: a frozen host that wakes up is taken back at once).
CONNECT_TIMEOUT = 15.0
# Seconds one fill job may hold the worker: a time, not a count, so a slow host's
# stats ticks and actions wait no longer than a fast host's (a 500 ms round trip
# reads one domain per job, a 20 ms one about 25).
FILL_SLICE = 0.5
# A host whose info() takes SLOW_CALL seconds or more (a far host: each call is a round
# trip) has its details read FILL_AT_ONCE calls at a time; one by one, two hosts at a
# 500 ms round trip took minutes to fill 200 VMs each. Near hosts stay one call at a time.
SLOW_CALL = 0.005
FILL_AT_ONCE = 16
# libvirt sends no event for some outside changes (virsh autostart, setmaxmem on a shut-off
# VM): every RECHECK_INTERVAL seconds a connected worker lists its domains again, four
# calls whatever the VM count, and reports what differs from what it last reported.
# With a RecheckBudget (the app's HostManager passes one) this is the shortest interval:
# many VMs in all make each host's recheck rarer (tvirt.recheck).
RECHECK_INTERVAL = 30.0

_CLOSE_REASONS = {
    libvirt.VIR_CONNECT_CLOSE_REASON_ERROR: "a connection error",
    libvirt.VIR_CONNECT_CLOSE_REASON_EOF: "the far end closed the connection",
    libvirt.VIR_CONNECT_CLOSE_REASON_KEEPALIVE: "no keepalive answer",
    libvirt.VIR_CONNECT_CLOSE_REASON_CLIENT: "the client closed it",
}


class Disconnected(TvirtError):
    """The host's connection is down; the job was not run."""


class _AttemptEnded:
    """The job that hands a connection attempt's outcome to the worker: never held."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self._fn = fn

    def __call__(self) -> None:
        self._fn()


class HostWorker:
    """Owns one connection: connects, keeps it alive, reconnects, runs jobs in order."""

    def __init__(
        self,
        uri: ParsedURI,
        sink: Sink,
        *,
        readonly: bool = False,
        reconnect: bool = True,
        progressive: bool = False,
        recheck_interval: float | None = RECHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        connect_timeout: float = CONNECT_TIMEOUT,
        rechecks: RecheckBudget | None = None,
    ) -> None:
        self.uri = uri
        self.connect_timeout = connect_timeout
        # The attempt to open the connection, while one runs on its own thread.
        self._opening: Opening | None = None
        self._opening_lock = threading.Lock()
        self._held: list[Callable[[], None]] = []
        # When to retry a connection is decided on this clock; a test passes a fake one to
        # step through the backoff without waiting it out.
        self._clock = clock
        self.recheck_interval = recheck_interval
        # Shared with the other hosts: when the next recheck is due (None: every interval).
        self._rechecks = rechecks
        self._next_recheck = 0.0
        # What the sink was last told of each domain (by UUID): the recheck compares with
        # it, and its size is the host's VM count.
        self._known: dict[str, VMInfo] = {}
        # Moved whenever that set of VMs may have changed: the stats sampler keeps its
        # listing while it stands still (tvirt.ticker).
        self._known_changes = 0
        # progressive: list names and states first (a few round trips), then read what
        # the bulk call lacked in FILL_SLICE jobs, so a big slow host shows its VMs at once.
        self.progressive = progressive
        self._fill_at_once = 1  # FILL_AT_ONCE once the host shows itself slow
        self.host_id = uri.uri
        self.readonly = readonly
        self._sink = sink
        self._reconnect = reconnect
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._conn: libvirt.virConnect | None = None
        self._callback_ids: list[int] = []
        self._failures = 0
        self._next_attempt = 0.0
        # A failure no retry can cure (a driver libvirt lacks): the host stays failed.
        self._given_up = False
        self._stopping = False
        self._generation = 0
        # Told once when the current connection goes: libvirt tells a stream nothing when
        # its connection dies, so an attached console learns it here.
        self._drop_lock = threading.Lock()
        self._drop_listeners: dict[int, Callable[[str], object]] = {}
        self._drop_ids = itertools.count()
        # The name screens and commands show: HostManager sets it from tvirt.labels, which
        # sees every host (a worker alone cannot tell that another shares its URI's name).
        self.label = uri.label
        self._info = HostInfo(
            host_id=self.host_id,
            uri=uri.uri,
            label=uri.label,
            state=HostState.CONNECTING,
            demo=uri.demo,
            readonly=readonly,
        )
        self._thread = threading.Thread(target=self._run, name=f"host {uri.label}", daemon=True)

    # -- public, thread-safe ------------------------------------------------
    @property
    def info(self) -> HostInfo:
        """What is known of the host, under its current label."""
        info = self._info
        return info if info.label == self.label else replace(info, label=self.label)

    @info.setter
    def info(self, info: HostInfo) -> None:
        self._info = info

    def known_changes(self) -> int:
        """A counter moved whenever the host's set of VMs may have changed (a listing,
        a VM added or removed); read on the worker thread by the stats sampler."""
        return self._known_changes

    def known_vcpus(self, uuid: str) -> int | None:
        """A VM's vCPUs as last listed (the stats ticker's light ticks lack them)."""
        vm = self._known.get(uuid)  # one dict read: safe from the worker thread
        return None if vm is None else vm.vcpus

    @property
    def next_recheck(self) -> float:
        """When the next slow recheck is due, on the worker's clock."""
        return self._next_recheck

    @property
    def far_name(self) -> str:
        """The far host's name in sentences that say what to check there."""
        return self.uri.host or "the host"

    def start(self) -> None:
        ensure_event_loop()
        self._thread.start()

    @property
    def opening(self) -> bool:
        """Whether an attempt to connect is under way (its result not yet taken)."""
        return self._opening is not None

    def stop(self, timeout: float = 5.0) -> None:
        with self._opening_lock:  # an attempt ending now closes its connection itself
            self._stopping = True
        self._jobs.put(None)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def call(self, fn: Callable[[libvirt.virConnect], T]) -> Future[T]:
        """Run fn(conn) on this host's thread; fails at once if disconnected."""
        future: Future[T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(self._require_conn()))
            except BaseException as exc:
                future.set_exception(exc)

        self._jobs.put(job)
        return future

    def on_drop(self, fn: Callable[[str], object]) -> Callable[[], None]:
        """Call fn(clause) once, on this host's thread, when the current connection is
        lost or closed (the clause says which, in words); returns a function that cancels."""
        with self._drop_lock:
            key = next(self._drop_ids)
            self._drop_listeners[key] = fn

        def cancel() -> None:
            with self._drop_lock:
                self._drop_listeners.pop(key, None)

        return cancel

    def act(
        self, action: Action, uuid: str, *, remove_storage: bool = False
    ) -> Future[ActionResult]:
        """Run a lifecycle action; the result is both returned and sent to the sink."""
        future: Future[ActionResult] = Future()

        def job() -> None:
            future.set_running_or_notify_cancel()
            result = self._do_action(action, uuid, remove_storage)
            self._emit(ActionDone(result))
            future.set_result(result)

        self._jobs.put(job)
        return future

    def recheck(self) -> None:
        """Re-read every domain now (what the slow tick does) and report what changed."""
        self._jobs.put(self._recheck)

    # -- worker thread ------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            waiting = self._conn is None and not self._given_up and self._opening is None
            if waiting and self._clock() >= self._next_attempt:
                self._connect()
            opening = self._opening
            if opening is not None and not opening.overdue and self._clock() >= opening.deadline:
                self._overdue(opening)
                self._release()
            # Checked before waiting, so a queue that is never empty cannot postpone it.
            if self._conn is not None and self.recheck_interval is not None:
                if self._clock() >= self._next_recheck:
                    self._recheck()
            timeout = None
            retrying = self._reconnect and not self._given_up
            if opening is not None:
                # Its end is a job; until then only its deadline needs a look.
                timeout = 3600.0 if opening.overdue else opening.deadline - self._clock()
                timeout = max(0.05, timeout)
            elif self._conn is None and retrying and not self._stopping:
                timeout = max(0.05, self._next_attempt - self._clock())
            elif self._conn is None:
                timeout = 3600.0
            elif self._conn is not None and self.recheck_interval is not None:
                timeout = max(0.05, self._next_recheck - self._clock())
            try:
                job = self._jobs.get(timeout=timeout)
            except queue.Empty:
                continue
            if job is None:
                break
            if self._holding() and not isinstance(job, _AttemptEnded):
                self._held.append(job)
                continue
            self._run_job(job)
        if self._opening is not None:
            self._opening.abandoned = True
        self._release()
        self._close()

    def _holding(self) -> bool:
        """Jobs wait for the first attempt (they were sent to a host being opened), up to
        its deadline; once a host was lost they fail at once with the reason instead."""
        opening = self._opening
        return opening is not None and not opening.overdue and self._failures == 0

    def _release(self) -> None:
        held, self._held = self._held, []
        for job in held:
            self._run_job(job)

    def _run_job(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            # A dying connection fails jobs; its close callback reports that.
            log.exception("job failed on %s", self.label)
        if self._held and not self._holding():
            self._release()

    def _connect(self) -> None:
        """Start an attempt on its own thread: jobs meanwhile fail at once (Disconnected)
        instead of waiting behind an ssh that waits for a frozen or cut-off host."""
        # Keep the last failure's sentence on screen while we retry.
        self._set_state(HostState.CONNECTING, error=self.info.error)
        opening = self._opening = Opening(
            self._clock() + self.connect_timeout, server=self.uri.host
        )
        uri = self.uri.uri

        def open_conn() -> libvirt.virConnect:
            if self.uri.remote:
                opening.take_slot()
                # The time spent waiting for a place is not the host's: its deadline
                # starts now (the worker re-reads it when it wakes).
                opening.deadline = self._clock() + self.connect_timeout
            try:
                if self.readonly:
                    return libvirt.openReadOnly(uri)
                return libvirt.openAuth(uri, [[], _no_auth, None], 0)
            finally:
                opening.give_slot()

        opening.start(open_conn, self._post_opened, f"connect {self.label}")

    def _post_opened(self, opening: Opening) -> bool:
        with self._opening_lock:
            if self._stopping:
                return False
            self._jobs.put(_AttemptEnded(lambda: self._opened(opening)))
            return True

    def _overdue(self, opening: Opening) -> None:
        opening.overdue = True
        opening.give_slot()
        seconds = f"{self.connect_timeout:g} s"
        if self._reconnect:
            self._set_state(
                HostState.DISCONNECTED,
                error=f"No answer from {self.far_name} within {seconds}; still trying.",
            )
            return
        # Nobody waits for a late answer: the attempt's connection is closed when it ends,
        # and a worker that does not reconnect makes no other.
        opening.abandoned = True
        self._opening = None
        self._given_up = True
        self._set_state(HostState.FAILED, error=f"No answer from {self.far_name} within {seconds}.")

    def _opened(self, opening: Opening) -> None:
        if opening is not self._opening or opening.abandoned:
            if opening.conn is not None:
                close_quietly(opening.conn)
            return
        try:
            self._take(opening)
        finally:
            # Cleared only now, so whoever sees no attempt under way sees its outcome too.
            self._opening = None

    def _take(self, opening: Opening) -> None:
        if opening.error is not None:
            self._given_up = permanent(opening.error)
            self._connect_failed(explain(opening.error, self.uri.host or "the local host"))
            return
        conn = opening.conn
        assert conn is not None  # an attempt ends with a connection or an error
        self._conn = conn
        self._generation += 1
        try:
            self._watch(conn)  # before the listing, so no change falls between the two
            # The host's facts and its domains at once: one round trip's wait, not eight.
            # The calls run on threads of at_once, which this worker waits for.
            info, pairs = domains.at_once(
                lambda: _describe(conn, self.info),
                lambda: domains.list_domains(conn, self.host_id, details=not self.progressive),
            )
        except libvirt.libvirtError as exc:
            self._drop_conn()
            self._connect_failed(explain(exc, self.uri.host or "the local host"))
            return
        self._failures = 0
        self._book_recheck(len(pairs))
        self.info = replace(info, state=HostState.CONNECTED, error="", vm_count=len(pairs))
        self._emit(HostChanged(self.info))
        self._emit(DomainsListed(self.host_id, tuple(vm for vm, _dom in pairs)))
        # The QEMU driver answers getVersion only after probing the emulator, which takes
        # seconds; ask for it after the VMs are on screen rather than before.
        generation = self._generation
        self._jobs.put(lambda: self._fetch_version(generation))
        # In the table's default order, so the rows on screen fill first.
        pending = sorted(
            ((vm, dom) for vm, dom in pairs if vm.vcpus is None), key=lambda p: p[0].name.lower()
        )
        if pending:
            self._jobs.put(lambda: self._fill(generation, pending))

    def _fill(self, generation: int, pending: list[tuple[VMInfo, libvirt.virDomain]]) -> None:
        """Read missing details for up to FILL_SLICE seconds, then queue the rest behind
        whatever jobs arrived meanwhile, so actions and stats ticks are never held up
        by a whole host's worth of round trips."""
        if self._conn is None or generation != self._generation:
            return
        start = time.monotonic()
        try:
            filled, used = domains.fill_details(pending, FILL_SLICE, self._fill_at_once)
        except libvirt.libvirtError:
            return  # The connection is going; the next listing reads everything again.
        if self._fill_at_once == 1 and (time.monotonic() - start) / used >= SLOW_CALL:
            self._fill_at_once = FILL_AT_ONCE
        if filled:
            self._emit(DomainsDetailed(self.host_id, tuple(filled)))
        rest = pending[used:]
        if rest:
            self._jobs.put(lambda: self._fill(generation, rest))

    def _fetch_version(self, generation: int) -> None:
        if self._conn is None or generation != self._generation:
            return
        try:
            version = format_version(self._conn.getVersion())
        except libvirt.libvirtError:
            return
        self.info = replace(self.info, hv_version=version)
        self._emit(HostChanged(self.info))

    def _watch(self, conn: libvirt.virConnect) -> None:
        generation = self._generation
        try:
            conn.registerCloseCallback(self._on_close, generation)
        except libvirt.libvirtError:
            pass
        self._callback_ids = [
            conn.domainEventRegisterAny(
                None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._on_lifecycle, generation
            )
        ]

    def _connect_failed(self, reason: str) -> None:
        self._failures += 1
        delay = BACKOFF[min(self._failures - 1, len(BACKOFF) - 1)]
        self._next_attempt = self._clock() + delay
        retrying = self._reconnect and not self._given_up
        state = HostState.DISCONNECTED if retrying else HostState.FAILED
        self._set_state(state, error=reason)

    def _set_state(self, state: HostState, error: str = "") -> None:
        if self.info.state == state and self.info.error == error:
            return
        self.info = replace(self.info, state=state, error=error)
        self._emit(HostChanged(self.info))

    def _emit(self, update: Any) -> None:
        self._track(update)
        try:
            self._sink(update)
        except Exception:
            log.exception("sink failed")
        count = len(self._known)
        if isinstance(update, DomainChanged | DomainRemoved) and self.info.vm_count != count:
            # A VM defined or undefined since the listing: the host's count follows.
            self.info = replace(self.info, vm_count=count)
            self._emit(HostChanged(self.info))

    def _track(self, update: Any) -> None:
        known = self._known
        if isinstance(update, DomainsListed):
            self._known = {vm.uuid: vm for vm in update.vms}
            self._known_changes += 1  # a new connection too: its handles are new
        elif isinstance(update, DomainsDetailed):
            if any(vm.uuid not in known for vm in update.vms):
                self._known_changes += 1
            known.update((vm.uuid, vm) for vm in update.vms)
        elif isinstance(update, DomainChanged):
            if update.vm.uuid not in known:
                self._known_changes += 1
            known[update.vm.uuid] = update.vm
        elif isinstance(update, DomainRemoved):
            if known.pop(update.uuid, None) is not None:
                self._known_changes += 1

    def _require_conn(self) -> libvirt.virConnect:
        if self._conn is None:
            why = self.info.error.rstrip(".")
            why = f" ({why[:1].lower()}{why[1:]})" if why else ""
            raise Disconnected(f"{self.label} is disconnected{why}.")
        return self._conn

    # -- callbacks from the libvirt event thread: hand off, never block -----
    def _on_lifecycle(
        self, _conn: Any, dom: libvirt.virDomain, event: int, detail: int, generation: int
    ) -> None:
        uuid, name = dom.UUIDString(), dom.name()
        incoming = (event == libvirt.VIR_DOMAIN_EVENT_STARTED
                    and detail == libvirt.VIR_DOMAIN_EVENT_STARTED_MIGRATED)
        self._jobs.put(lambda: self._refresh(uuid, name, generation, incoming))

    def _on_close(self, _conn: Any, reason: int, generation: int) -> None:
        why = _CLOSE_REASONS.get(reason, "an unknown reason")
        self._jobs.put(lambda: self._lost(generation, why))

    # -- jobs ---------------------------------------------------------------
    def _refresh(self, uuid: str, name: str, generation: int, incoming: bool = False) -> None:
        if self._conn is None or generation != self._generation:
            return
        try:
            dom = self._conn.lookupByUUIDString(uuid)
            vm = domains.read_vm(dom, self.host_id)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                self._emit(DomainRemoved(self.host_id, uuid, name))
                return
            raise
        self._emit(DomainChanged(vm, incoming))

    def _recheck(self) -> None:
        """List the domains again (a bounded number of calls) and report each difference
        from what was last reported: autostart, memory, vCPUs, state, added, removed."""
        self._book_recheck(len(self._known))
        if self._conn is None:
            return
        try:
            pairs = domains.list_domains(self._conn, self.host_id, details=False)
        except libvirt.libvirtError:
            return  # a dying connection: its close callback says so
        fresh = {vm.uuid: vm for vm, _dom in pairs}
        for uuid, old in list(self._known.items()):
            if uuid not in fresh:
                self._emit(DomainRemoved(self.host_id, uuid, old.name))
        for uuid, vm in fresh.items():
            known = self._known.get(uuid)
            if known is None:
                self._refresh(uuid, vm.name, self._generation)  # reads what bulk lacked
                continue
            # Drivers whose bulk stats lack vCPUs or memory: keep what was read before.
            vm = replace(
                vm,
                vcpus=known.vcpus if vm.vcpus is None else vm.vcpus,
                memory_kib=known.memory_kib if vm.memory_kib is None else vm.memory_kib,
            )
            if vm != known:
                self._emit(DomainChanged(vm))

    def _book_recheck(self, vms: int) -> None:
        if self.recheck_interval is None:
            return
        now = self._clock()
        if self._rechecks is None:
            self._next_recheck = now + self.recheck_interval
        else:
            self._next_recheck = self._rechecks.book(self.host_id, vms, now)

    def _lost(self, generation: int, why: str) -> None:
        if generation != self._generation or self._conn is None:
            return
        self._drop_conn(f"the connection to {self.label} was lost ({why})")
        # The first retry waits BACKOFF[0]; count it, so a failure after it waits the next
        # step (1, 2, 4, ... s) rather than repeating the first.
        self._failures = 1
        self._next_attempt = self._clock() + BACKOFF[0]
        self._set_state(HostState.DISCONNECTED, error=f"Connection lost: {why}.")

    def _drop_conn(self, clause: str = "") -> None:
        conn, self._conn = self._conn, None
        self._generation += 1
        if conn is None:
            return
        with self._drop_lock:
            listeners = list(self._drop_listeners.values())
            self._drop_listeners.clear()
        for listener in listeners:  # before close(), so their streams end cleanly
            try:
                listener(clause or f"the connection to {self.label} was closed")
            except Exception:
                log.exception("drop listener failed")
        for callback_id in self._callback_ids:
            try:
                conn.domainEventDeregisterAny(callback_id)
            except libvirt.libvirtError:
                pass
        self._callback_ids = []
        try:
            conn.unregisterCloseCallback()
        except libvirt.libvirtError:
            pass
        try:
            conn.close()
        except libvirt.libvirtError:
            pass

    def _close(self) -> None:
        self._drop_conn()

    def _do_action(self, action: Action, uuid: str, remove_storage: bool) -> ActionResult:
        name = uuid
        host = self.label
        try:
            conn = self._require_conn()
            dom = conn.lookupByUUIDString(uuid)
            name = dom.name()
            if self.readonly:
                raise ActionRefused(refusal(f"{action.verb} {name}", host))
            message = _perform(conn, dom, action, remove_storage)
        except (ActionRefused, Disconnected) as exc:
            return ActionResult(self.host_id, host, name, action, False, str(exc))
        except libvirt.libvirtError as exc:
            reason = explain(exc, self.uri.host or "the host")
            text = f"Could not {action.verb} {name} on {host}: {reason}"
            return ActionResult(self.host_id, host, name, action, False, text)
        if action is not Action.DELETE:
            self._refresh(uuid, name, self._generation)
        text = f"{action.past.capitalize()} {name} on {host}.{message}"
        return ActionResult(self.host_id, host, name, action, True, text)


def _perform(
    conn: libvirt.virConnect, dom: libvirt.virDomain, action: Action, remove_storage: bool
) -> str:
    """The libvirt call behind each action. Returns extra words for the result sentence."""
    if action is Action.START:
        dom.create()
    elif action is Action.SHUTDOWN:
        dom.shutdown()
    elif action is Action.REBOOT:
        dom.reboot(0)
    elif action is Action.FORCE_OFF:
        dom.destroy()
    elif action is Action.PAUSE:
        dom.suspend()
    elif action is Action.RESUME:
        dom.resume()
    elif action is Action.AUTOSTART_ON:
        dom.setAutostart(1)
    elif action is Action.AUTOSTART_OFF:
        dom.setAutostart(0)
    elif action is Action.DELETE:
        return _delete(conn, dom, remove_storage)
    return ""


def _delete(conn: libvirt.virConnect, dom: libvirt.virDomain, remove_storage: bool) -> str:
    disks = _disk_sources(dom.XMLDesc(0)) if remove_storage else []
    if dom.isActive():
        dom.destroy()
    flags = (
        libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
    )
    try:
        dom.undefineFlags(flags)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() not in (
            libvirt.VIR_ERR_NO_SUPPORT,
            libvirt.VIR_ERR_INVALID_ARG,
        ):
            raise
        dom.undefine()
    removed, kept = [], []
    for pool, path, removable in disks:
        if not removable:
            kept.append(f"{path} (a network disk; tvirt removes only pool volumes and files)")
            continue
        try:
            if pool:
                vol = conn.storagePoolLookupByName(pool).storageVolLookupByName(path)
                path = vol.path()
            else:
                vol = conn.storageVolLookupByPath(path)
            vol.delete(0)
            removed.append(path)
        except libvirt.libvirtError as exc:
            if path.startswith("gluster://") and (
                exc.get_error_code() == libvirt.VIR_ERR_NO_STORAGE_VOL
            ):
                kept.append(f"{path} (no libvirt pool holds it, so it stays on the volume)")
            else:
                kept.append(f"{path} ({explain(exc)})")
    words = ""
    if removed:
        words += f" Removed storage: {', '.join(removed)}."
    if kept:
        words += f" Storage not removed: {'; '.join(kept)}"
    return words


class _Storage(NamedTuple):
    pool: str  # "" for a path
    path: str  # a volume name in the pool, a path, or words for what cannot be removed
    removable: bool = True


def _disk_sources(xml: str) -> list[_Storage]:
    """The storage behind the VM's disks (not CD-ROMs, which are usually shared): (pool,
    volume) for a disk given by pool and volume name, ("", path) for a file or device,
    and for a Gluster network disk ("", its gluster:// URL), the path a libvirt gluster
    pool gives the volume, so a pool that knows it removes it. Other network disks are
    not removable: named as not removed, never skipped in silence."""
    found = []
    for disk in ET.fromstring(xml).iter("disk"):
        if disk.get("device", "disk") != "disk":
            continue
        source = disk.find("source")
        if source is None:
            continue
        if disk.get("type") == "volume" and source.get("pool") and source.get("volume"):
            found.append(_Storage(source.get("pool", ""), source.get("volume", "")))
        elif path := source.get("file") or source.get("dev"):
            found.append(_Storage("", path))
        elif disk.get("type") == "network":
            protocol, name = source.get("protocol", ""), source.get("name", "")
            host = source.find("host")
            server = host.get("name", "") if host is not None else ""
            if protocol == "gluster" and server and name:
                found.append(_Storage("", f"gluster://{server}/{name.lstrip('/')}"))
            else:
                what = f"{protocol or 'network'} disk {name or '(unnamed)'}"
                found.append(_Storage("", what, removable=False))
    return found


def _describe(conn: libvirt.virConnect, base: HostInfo) -> HostInfo:
    info, hostname, hv_type, lib_version = domains.at_once(
        conn.getInfo, lambda: _hostname(conn), conn.getType, conn.getLibVersion)
    return replace(
        base,
        hypervisor=hv_type,
        libvirt_version=format_version(lib_version),
        hostname=hostname,
        cpus=int(info[2]),
        memory_kib=int(info[1]) * 1024,
    )


def _hostname(conn: libvirt.virConnect) -> str:
    try:
        return str(conn.getHostname())
    except libvirt.libvirtError:
        return ""


def _no_auth(credentials: list[list[Any]], _opaque: Any) -> int:
    """Never prompt: tvirt stores no passwords and never asks on the app's terminal."""
    return -1
