"""Stats ticks: one scheduler thread for all hosts, each tick a job on its host's worker.

The scheduler never calls libvirt and never waits for a host: at each due time it puts a
job on the host's queue with HostWorker.call() and moves on. If that host's previous tick
has not finished, the new one is skipped and counted, so ticks never overlap or pile up
behind a slow host, and a slow host never delays another host's ticks.

Each tick makes one getAllDomainStats call for every domain on the host, plus
getCPUStats and getMemoryStats for the host itself. With StatsTiers (the app passes one)
and more VMs watched in all than its limit, that call asks only for the light groups,
and a domainListGetStats call adds the heavy ones for the VMs someone is looking at.
Drivers without bulk stats (VIR_ERR_NO_SUPPORT) are marked unsupported and get state
only, from four filtered listings: a per-domain loop would be thousands of round trips
per tick on a big host.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from typing import Any, Protocol, TypeVar

import libvirt
import psutil

from tvirt.host import HostWorker
from tvirt.model import VMState
from tvirt.rolling import VMLast, rolling_snapshot
from tvirt.stats import (
    CPUTimes,
    DomainSample,
    HostSample,
    StatsSnapshot,
    node_memory_used,
    parse_cpu_times,
    parse_domain,
)
from tvirt.tiers import StatsTiers
from tvirt.uri import ParsedURI

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_INTERVAL = 2.0
# What the VM table needs of every VM every tick: state, CPU time, memory.
LIGHT_GROUPS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
    | libvirt.VIR_DOMAIN_STATS_BALLOON
)
# Per-vCPU, disk and network: the VM details' graphs. Read for every VM only while the
# app watches at most StatsTiers.limit VMs (see tvirt.tiers), else for the watched ones.
HEAVY_GROUPS = (
    libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_BLOCK
    | libvirt.VIR_DOMAIN_STATS_INTERFACE
)
FULL_GROUPS = LIGHT_GROUPS | HEAVY_GROUPS
STATS_GROUPS = FULL_GROUPS
VCPUS_KEY = "vcpu.current"
# NOWAIT: a domain busy in a long job (migration, snapshot) answers with what it has
# instead of stalling the whole call until the job ends.
NOWAIT = libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT
_FLAG_REFUSED = {
    libvirt.VIR_ERR_INVALID_ARG,
    libvirt.VIR_ERR_NO_SUPPORT,
    libvirt.VIR_ERR_ARGUMENT_UNSUPPORTED,
}
_STATE_LISTINGS = (
    (libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING, VMState.RUNNING),
    (libvirt.VIR_CONNECT_LIST_DOMAINS_PAUSED, VMState.PAUSED),
    (libvirt.VIR_CONNECT_LIST_DOMAINS_SHUTOFF, VMState.SHUTOFF),
)

Sampler = Callable[[Any], HostSample]
# A VM's vCPU count as the host's listing read it (uuid -> count or None): light ticks
# have no VCPU group, and a VM's CPU % is of its own vCPUs.
KnownVCPUs = Callable[[str], int | None]
# A counter the host's worker moves whenever its set of VMs changes (listing, event,
# recheck): while it stands still a round reuses the last listing (HostWorker.known_changes).
KnownChanges = Callable[[], int]
OnSample = Callable[[StatsSnapshot], object]
# Monotonic seconds. Due times are on the scheduler's clock; a test passes a fake one and
# calls wake() after moving it, as the thread still sleeps in real seconds.
Clock = Callable[[], float]


class Worker(Protocol):
    """What a ticker needs of a HostWorker (tests pass fakes)."""

    host_id: str

    def call(self, fn: Callable[[Any], T]) -> Future[T]: ...


def is_local(uri: ParsedURI) -> bool:
    """psutil describes this machine: only right for a real driver without a host part."""
    return not uri.remote and not uri.demo


def _code(exc: libvirt.libvirtError) -> int | None:
    code: int | None = exc.get_error_code()
    return code


class HostSampler:
    """Reads one host once per call. Only ever runs on that host's worker thread."""

    def __init__(
        self,
        *,
        local: bool = False,
        tiers: StatsTiers | None = None,
        host_id: str = "",
        known_vcpus: KnownVCPUs | None = None,
        known_changes: KnownChanges | None = None,
    ) -> None:
        self.local = local
        self.tiers = tiers  # None: every group for every VM (the command line, tests)
        self.host_id = host_id
        self._known_vcpus = known_vcpus
        self.nowait = True  # cleared for good if the driver refuses the flag
        self.bulk = True  # cleared for good on VIR_ERR_NO_SUPPORT
        self._node_cpu = True
        self._node_memory = True
        self._cpus = 0
        # uuid -> (last bulk record, its DomainSample), for _parsed.
        self._last: dict[str, tuple[dict[str, Any], DomainSample]] = {}
        # Above the tick budget: the round's VMs (the listing at its start), the tick's
        # place in it and its length; a tick reads doms[step::every] and the watched.
        self._doms: list[Any] = []
        self._by_uuid: dict[str, Any] = {}
        self._listed: frozenset[str] = frozenset()
        # What the round's listing was taken with: the worker's counter and connection.
        self._known_changes = known_changes
        self._listing_mark: tuple[int, Any] | None = None
        self._step = 0
        self._every = 1
        # This tick's: (read only some VMs, the listing if it listed them); light groups.
        self._partial: tuple[bool, frozenset[str] | None] = (False, None)
        self._light = False

    def __call__(self, conn: Any) -> HostSample:
        self._partial = (False, None)
        domains = self._domains(conn)
        now, wall = time.monotonic(), time.time()
        cpu = self._cpu_times(conn)
        memory = self._memory(conn)
        load: tuple[float, float, float] | None = None
        if self.local:
            load = os.getloadavg()
            vm = psutil.virtual_memory()
            # MemAvailable is a better "free" than libvirt's free+buffers+cached.
            memory = (vm.total // 1024, (vm.total - vm.available) // 1024)
            if cpu is None:
                cpu = _psutil_cpu_times()
        return HostSample(
            time=now,
            wall=wall,
            cpus=self._host_cpus(conn),
            domains=domains,
            bulk=self.bulk,
            cpu=cpu,
            memory_total_kib=memory[0] if memory else None,
            memory_used_kib=memory[1] if memory else None,
            load=load,
            partial=self._partial[0],
            listed=self._partial[1],
        )

    def _domains(self, conn: Any) -> tuple[DomainSample, ...]:
        if self.bulk:
            try:
                records = self._bulk(conn)
            except libvirt.libvirtError as exc:
                if _code(exc) != libvirt.VIR_ERR_NO_SUPPORT:
                    raise
                log.info("no bulk stats on this driver; showing state only")
                self.bulk = False
            else:
                # Each record's UUID once: a wrapper call per record per tick adds up.
                uuids = [dom.UUIDString() for dom, _record in records]
                if self._light:
                    self._add_heavy(conn, records, uuids)
                return self._parsed(records, uuids)
        return _states_only(conn)

    def _parsed(
        self, records: list[tuple[Any, dict[str, Any]]], uuids: list[str]
    ) -> tuple[DomainSample, ...]:
        """Each record as a DomainSample; a record equal to the VM's last one gives back
        the same object (a shut-off VM, or a driver with state only, changes nothing),
        which also lets the snapshot keep its rates. Parsing 10000 records every tick was
        a large share of the idle CPU at fifty hosts."""
        last, seen = self._last, {}
        partial, listed = self._partial
        out: list[DomainSample] = []
        light, known = self._light, self._known_vcpus
        for (dom, record), uuid in zip(records, uuids, strict=True):
            before = last.get(uuid)
            if light and VCPUS_KEY not in record:
                # No VCPU group: the vCPU count from the VM's last record or the host's
                # listing (a VM's CPU % is of its own vCPUs).
                vcpus = before[1].vcpus if before is not None else None
                if vcpus is None and known is not None:
                    vcpus = known(uuid)
                if vcpus is not None:
                    record[VCPUS_KEY] = vcpus
            name, dom_id = dom.name(), dom.ID()
            if before is not None and before[0] == record and before[1].name == name and (
                before[1].dom_id == dom_id
            ):
                sample = before[1]
            else:
                sample = parse_domain(uuid, name, record, dom_id)
            seen[uuid] = (record, sample)
            out.append(sample)
        if not partial:
            self._last = seen
        else:  # the VMs not read this tick keep their last record
            if listed is not None:
                self._last = {u: v for u, v in last.items() if u in listed}
            self._last.update(seen)
        return tuple(out)

    def _bulk(self, conn: Any) -> list[tuple[Any, dict[str, Any]]]:
        tiers = self.tiers
        self._light = False
        if tiers is None:
            return self._all_stats(conn, FULL_GROUPS)
        every = tiers.every()
        if every > 1 or self._step:  # a round, once begun, is finished
            return self._slice(conn, every)
        self._light = not tiers.full()
        records = self._all_stats(conn, LIGHT_GROUPS if self._light else FULL_GROUPS)
        tiers.count(self.host_id, len(records))
        return records

    def _slice(self, conn: Any, every: int) -> list[tuple[Any, dict[str, Any]]]:
        """One tick of a round: the host's listing at its start, then each tick every
        `every`-th VM from the tick's own place, so each VM is read once in the round;
        the watched VMs every tick."""
        assert self.tiers is not None
        listed: frozenset[str] | None = None
        if self._step == 0:
            # Listing every round was a call and a UUIDString per VM every few ticks; the
            # worker knows when its VMs changed, so an unchanged host keeps its listing.
            mark = None if self._known_changes is None else (self._known_changes(), conn)
            if mark is None or mark != self._listing_mark or not self._doms:
                self._doms = conn.listAllDomains(0)
                self._by_uuid = {dom.UUIDString(): dom for dom in self._doms}
                self._listed = frozenset(self._by_uuid)
                self._listing_mark = mark
            listed = self._listed
            self.tiers.count(self.host_id, len(self._doms))
            self._every = max(every, self.tiers.every())
        doms = {id(d): d for d in self._doms[self._step :: self._every]}
        for uuid in self.tiers.watched_on(self.host_id):
            dom = self._by_uuid.get(uuid)
            if dom is not None:
                doms[id(dom)] = dom
        self._step = (self._step + 1) % self._every
        self._partial = (True, listed)
        self._light = not self.tiers.full()
        if not doms:  # a host with fewer VMs than ticks in the round; libvirt refuses []
            return []
        groups = LIGHT_GROUPS if self._light else FULL_GROUPS
        try:
            if self.nowait:
                try:
                    records: list[tuple[Any, dict[str, Any]]] = conn.domainListGetStats(
                        list(doms.values()), groups, NOWAIT
                    )
                    return records
                except libvirt.libvirtError as exc:
                    if _code(exc) not in _FLAG_REFUSED:
                        raise
                self.nowait = False  # as in _all_stats: asked again without the flag
            records = conn.domainListGetStats(list(doms.values()), groups, 0)
            return records
        except libvirt.libvirtError:
            self._step = 0  # list again next tick (a VM undefined since, say)
            self._listing_mark = None
            raise

    def _all_stats(self, conn: Any, groups: int) -> list[tuple[Any, dict[str, Any]]]:
        if self.nowait:
            try:
                result: list[tuple[Any, dict[str, Any]]] = conn.getAllDomainStats(
                    groups, NOWAIT
                )
                return result
            except libvirt.libvirtError as exc:
                if _code(exc) not in _FLAG_REFUSED:
                    raise
            # Retried once without the flag; if that fails too the API itself is missing.
            result = conn.getAllDomainStats(groups, 0)
            self.nowait = False
            return result
        result = conn.getAllDomainStats(groups, 0)
        return result

    def _add_heavy(
        self, conn: Any, records: list[tuple[Any, dict[str, Any]]], uuids: list[str]
    ) -> None:
        """The heavy groups into the records of the watched VMs, in one call for them all."""
        assert self.tiers is not None
        watched = self.tiers.watched_on(self.host_id)
        if not watched:
            return
        mine = {u: rec for u, rec in zip(uuids, records, strict=True) if u in watched}
        if not mine:
            return
        flags = NOWAIT if self.nowait else 0
        try:
            extras = conn.domainListGetStats(
                [dom for dom, _record in mine.values()], HEAVY_GROUPS, flags
            )
        except libvirt.libvirtError as exc:
            # A watched VM undefined since the first call, say: this tick keeps the
            # light figures of every VM rather than failing the whole host's tick.
            log.info("no disk and network stats this tick: %s", exc)
            return
        for dom, extra in extras:
            found = mine.get(dom.UUIDString())
            if found is not None:
                found[1].update(extra)

    def _cpu_times(self, conn: Any) -> CPUTimes | None:
        if not self._node_cpu:
            return None
        try:
            return parse_cpu_times(conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS))
        except libvirt.libvirtError as exc:
            if _code(exc) not in _FLAG_REFUSED:
                raise
            self._node_cpu = False  # unsupported: never ask again
            return None

    def _memory(self, conn: Any) -> tuple[int, int] | None:
        if not self._node_memory:
            return None
        try:
            return node_memory_used(conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS))
        except libvirt.libvirtError as exc:
            if _code(exc) not in _FLAG_REFUSED:
                raise
            self._node_memory = False
            return None

    def _host_cpus(self, conn: Any) -> int:
        # Asked once per sampler (so once per host): CPU hotplug on a host is rare enough.
        if not self._cpus and self.local:
            self._cpus = psutil.cpu_count() or 0
        if not self._cpus:
            self._cpus = int(conn.getInfo()[2])
        return self._cpus


def _states_only(conn: Any) -> tuple[DomainSample, ...]:
    """State for every domain in a fixed number of calls, whatever the host's size."""
    states: dict[str, VMState] = {}
    for flag, state in _STATE_LISTINGS:
        for dom in conn.listAllDomains(flag):
            states[dom.UUIDString()] = state
    return tuple(
        DomainSample(
            uuid=(uuid := dom.UUIDString()),
            name=dom.name(),
            state=states.get(uuid, VMState.NOSTATE),
            dom_id=dom.ID(),
        )
        for dom in conn.listAllDomains(0)
    )


def _psutil_cpu_times() -> CPUTimes:
    t = psutil.cpu_times()
    ns = 1_000_000_000

    def part(name: str) -> float:
        return float(getattr(t, name, 0.0))

    return CPUTimes(
        kernel=int((t.system + part("irq") + part("softirq")) * ns),
        user=int((t.user + part("nice")) * ns),
        idle=int(t.idle * ns),
        iowait=int(part("iowait") * ns),
    )


PHASE_STEP = 0.6180339887  # golden ratio's fraction: successive phases stay spread
# The spread scheduler fires together the ticks due within this many seconds: at fifty
# hosts (25 ticks a second) its thread woke 25 times a second, 0.8 to 1 % of a core; a
# tick a few tens of milliseconds early changes no figure (rates use the real times).
GATHER = 0.1


class TickScheduler:
    """One thread that wakes each ticker when it is due. It never blocks on a host."""

    def __init__(self, clock: Clock = time.monotonic, *, spread: bool = False) -> None:
        self.clock = clock
        # Give each ticker its own place in the interval (the app's scheduler does).
        self.spread = spread
        self.gather = GATHER if spread else 0.0
        self.wakes = 0  # times the thread woke to fire ticks (the test counts them)
        self._cond = threading.Condition()
        self._tickers: list[StatsTicker] = []
        self._added = 0
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, ticker: StatsTicker) -> None:
        with self._cond:
            if ticker not in self._tickers:
                # Spread by the golden ratio: any number of hosts lands evenly apart.
                ticker.phase = (self._added * PHASE_STEP) % 1.0 if self.spread else 0.0
                self._added += 1
                self._tickers.append(ticker)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stats-ticks", daemon=True)
                self._thread.start()
            self._cond.notify()

    def remove(self, ticker: StatsTicker) -> None:
        with self._cond:
            if ticker in self._tickers:
                self._tickers.remove(ticker)
            self._cond.notify()

    def wake(self) -> None:
        """Re-read due times (after a pause, resume or interval change)."""
        with self._cond:
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = self.clock()
                # A float attribute read is atomic; _fire re-checks under the ticker's lock.
                dues = [(t, t.due) for t in self._tickers]
                if not any(due is not None and due <= now for _, due in dues):
                    waits = [due - now for _, due in dues if due is not None]
                    self._cond.wait(min(waits) if waits else None)
                    continue
                horizon = now + self.gather
                ready = [(t, due) for t, due in dues if due is not None and due <= horizon]
                self.wakes += 1
            # Outside the lock: a ticker may call back into add/remove/wake.
            for ticker, due in ready:
                try:
                    ticker._fire(max(now, due))
                except Exception:
                    log.exception("stats tick for %s failed to start", ticker.host_id)


_default_lock = threading.Lock()
_default: TickScheduler | None = None


def default_scheduler() -> TickScheduler:
    global _default
    with _default_lock:
        if _default is None:
            _default = TickScheduler(spread=True)
        return _default


class StatsTicker:
    """Samples one host every `interval` seconds and hands each StatsSnapshot to on_sample.

    on_sample runs on the host's worker thread: keep it short and thread-safe (the TUI
    posts a Message). Counters: ticks (started), samples (delivered), skipped (due while
    the previous tick still ran), errors (ticks that raised, e.g. while disconnected).
    """

    def __init__(
        self,
        worker: Worker,
        on_sample: OnSample,
        *,
        interval: float = DEFAULT_INTERVAL,
        local: bool = False,
        sampler: Sampler | None = None,
        scheduler: TickScheduler | None = None,
        tiers: StatsTiers | None = None,
        known_vcpus: KnownVCPUs | None = None,
        known_changes: KnownChanges | None = None,
    ) -> None:
        _check_interval(interval)
        self.host_id = worker.host_id
        self._worker = worker
        self._on_sample = on_sample
        self._sampler: Sampler = sampler or HostSampler(
            local=local, tiers=tiers, host_id=worker.host_id, known_vcpus=known_vcpus,
            known_changes=known_changes,
        )
        self._scheduler = scheduler or default_scheduler()
        self._lock = threading.Lock()
        self._interval = interval
        self._due: float | None = None
        self._last_fire: float | None = None
        self._future: Future[StatsSnapshot | None] | None = None
        self._paused = False
        self._started = False
        self._stopped = False
        self._rebase = False  # set on resume: no rate may span a pause
        self._prev: HostSample | None = None  # touched only by the worker thread
        self._vms: VMLast = {}  # the same: each VM's newest sample (tvirt.rolling)
        # Where in the interval this host ticks, as a fraction (TickScheduler.add sets it).
        self.phase = 0.0
        self.ticks = 0
        self.samples = 0
        self.skipped = 0
        self.errors = 0
        self.last_error: BaseException | None = None

    @classmethod
    def for_host(
        cls,
        worker: HostWorker,
        on_sample: OnSample,
        *,
        interval: float = DEFAULT_INTERVAL,
        scheduler: TickScheduler | None = None,
        tiers: StatsTiers | None = None,
    ) -> StatsTicker:
        """A ticker for a HostWorker, with psutil detail when its URI is local."""
        local = is_local(worker.uri)
        return cls(
            worker, on_sample, interval=interval, local=local, scheduler=scheduler,
            tiers=tiers, known_vcpus=worker.known_vcpus, known_changes=worker.known_changes,
        )

    # -- control, from any thread -------------------------------------------
    @property
    def interval(self) -> float:
        return self._interval

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def due(self) -> float | None:
        """Monotonic time of the next tick; None while paused or stopped."""
        return self._due

    def start(self) -> None:
        """First tick at once (it has no rates yet: those need two samples)."""
        with self._lock:
            if self._started:
                return
            self._started = True
            if not self._paused:
                self._due = self._scheduler.clock()
        self._scheduler.add(self)

    def stop(self) -> None:
        """No more ticks; a tick already running finishes but is not delivered."""
        with self._lock:
            self._stopped = True
            self._due = None
        self._scheduler.remove(self)

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            self._due = None
        self._scheduler.wake()

    def resume(self) -> None:
        with self._lock:
            if not self._paused or self._stopped:
                return
            self._paused = False
            self._rebase = True
            if self._started:
                self._due = self._scheduler.clock()
        self._scheduler.wake()

    def set_interval(self, interval: float) -> None:
        """Takes effect from the last tick: a shorter interval may make one due at once."""
        _check_interval(interval)
        with self._lock:
            self._interval = interval
            if self._due is not None:
                base = self._last_fire if self._last_fire is not None else self._scheduler.clock()
                self._due = base + interval
        self._scheduler.wake()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait for the tick in flight, if any; False if it is still running at timeout."""
        with self._lock:
            future = self._future
        if future is None:
            return True
        try:
            future.exception(timeout)
        except TimeoutError:
            return False
        except CancelledError:
            pass
        return True

    # -- scheduler thread ---------------------------------------------------
    def _fire(self, now: float) -> None:
        with self._lock:
            if self._due is None or now < self._due:
                return
            following = self._due + self._interval
            if self.ticks == 0:
                # The first tick is at once; after it each host keeps its own place in
                # the interval, so fifty hosts do not all tick (and fight over the GIL)
                # in the same instant.
                following += self.phase * self._interval
            # After a stall (suspend, overloaded box) do not fire a burst to catch up.
            self._due = following if following > now else now + self._interval
            self._last_fire = now
            if self._future is not None and not self._future.done():
                self.skipped += 1
                return
            self.ticks += 1
            self._future = future = self._worker.call(self._tick)
        # Outside the lock: a future that is already done runs the callback right here.
        future.add_done_callback(self._finished)

    def _finished(self, future: Future[StatsSnapshot | None]) -> None:
        """Runs where the future completes: the worker thread, or here if already done."""
        if future.cancelled() or future.exception() is None:
            return
        with self._lock:
            self.errors += 1
            self.last_error = future.exception()
        # A gap (disconnected, failed call) must not become one long-averaged point.
        self._rebase = True

    # -- worker thread ------------------------------------------------------
    def _tick(self, conn: Any) -> StatsSnapshot | None:
        if self._paused:
            # Queued before pause() and run after (behind a slow job on the worker, say):
            # not taken, so once paused nothing new reaches the screens (issue 19: P must
            # stop the cursor row's CPU cell from changing).
            return None
        if self._rebase:
            self._rebase = False
            self._prev = None
            self._vms.clear()
        sample = self._sampler(conn)  # errors reach _finished through the future
        with self._lock:
            self.samples += 1
            # Paused while sampling: not delivered either (resume rebases the rates).
            seq, skipped = self.samples, self.skipped
            stopped = self._stopped or self._paused
        snap = rolling_snapshot(
            self.host_id, self._prev, sample, self._vms, seq=seq, skipped=skipped
        )
        self._prev = sample
        if not stopped:
            try:
                self._on_sample(snap)
            except Exception:
                log.exception("stats callback failed for %s", self.host_id)
        return snap


def _check_interval(interval: float) -> None:
    if not interval > 0:
        raise ValueError(f"the stats interval must be positive, not {interval!r}")
