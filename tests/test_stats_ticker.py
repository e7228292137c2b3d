"""The tick scheduler and the per-host sampler: call counts, skips, isolation, control.

Nothing here asserts on durations: tests count calls and ticks, and wait generously.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import libvirt
import pytest

from conftest import wait_for
from tvirt.host import Disconnected, HostWorker
from tvirt.inventory import Inventory
from tvirt.manager import HostManager
from tvirt.model import VMState
from tvirt.stats import HostSample, StatsSnapshot
from tvirt.ticker import NOWAIT, HostSampler, StatsTicker, TickScheduler, is_local
from tvirt.uri import parse_uri


class Counting:
    """A connection proxy that counts every method called through it."""

    def __init__(self, conn: Any, calls: Counter[str]) -> None:
        self._conn = conn
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._conn, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[name] += 1
            return attr(*args, **kwargs)

        return counted


class Snaps:
    """An on_sample callback that keeps what it got, and from which thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[StatsSnapshot] = []
        self.threads: set[str] = set()

    def __call__(self, snap: StatsSnapshot) -> None:
        with self._lock:
            self.items.append(snap)
            self.threads.add(threading.current_thread().name)

    def __len__(self) -> int:
        with self._lock:
            return len(self.items)


class Gate:
    """A sampler wrapper that blocks every tick until opened and tracks overlap."""

    def __init__(self, inner: Callable[[Any], HostSample]) -> None:
        self.inner = inner
        self.open = threading.Event()
        self.entered = 0
        self.active = 0
        self.most_active = 0
        self._lock = threading.Lock()

    def __call__(self, conn: Any) -> HostSample:
        with self._lock:
            self.entered += 1
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        try:
            self.open.wait(30)
            return self.inner(conn)
        finally:
            with self._lock:
                self.active -= 1


class FakeClock:
    """Monotonic seconds that move only when the test says. A fake, because the property
    under test (which ticks run and which are skipped) must not depend on the real time a
    loaded machine takes between two of the test's steps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._now = 0.0

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


@pytest.fixture
def connect() -> Iterator[Callable[[str], HostWorker]]:
    """Open a URI on a fresh HostManager and wait for its listing."""
    inventory = Inventory()
    manager = HostManager(inventory.apply)

    def add(uri: str) -> HostWorker:
        worker = manager.add(uri)
        wait_for(lambda: worker.host_id in inventory.listed, 30, f"listing of {uri}")
        return worker

    yield add
    manager.stop()


@pytest.fixture
def scheduler() -> Iterator[TickScheduler]:
    sched = TickScheduler()
    yield sched
    sched.stop()


def test_one_bulk_call_per_tick_on_a_1000_vm_host(
    connect: Callable[[str], HostWorker], scheduler: TickScheduler, node_xml: Callable[[int], str]
) -> None:
    worker = connect(node_xml(1000))
    calls: Counter[str] = Counter()
    sampler = HostSampler()
    snaps = Snaps()
    ticker = StatsTicker(
        worker,
        snaps,
        interval=0.2,
        sampler=lambda conn: sampler(Counting(conn, calls)),
        scheduler=scheduler,
    )
    ticker.start()
    wait_for(lambda: len(snaps) >= 4, 60, "four ticks")
    ticker.stop()
    assert ticker.wait_idle(30)
    ticks = ticker.samples
    assert ticks >= 4 and ticker.errors == 0 and ticks == ticker.ticks
    # Per tick: one bulk call and the host's CPU times. Once per connection: the CPU
    # count, and the memory stats the test driver refuses (not asked again).
    assert calls == Counter(
        getAllDomainStats=ticks, getCPUStats=ticks, getMemoryStats=1, getInfo=1
    ), calls
    last = snaps.items[-1]
    assert last.bulk and len(last.vms) == 1000 and last.host.cpus == 2
    states = {vm.name: vm.state for vm in last.vms}
    assert states["vm0000"] is VMState.RUNNING and states["vm0001"] is VMState.SHUTOFF
    assert Counter(states.values()) == {VMState.RUNNING: 500, VMState.SHUTOFF: 500}
    assert all(vm.cpu_percent is None and vm.disk_read_bps is None for vm in last.vms)
    assert last.host.cpu_percent is None or 0 <= last.host.cpu_percent <= 100
    # on_sample runs on the host's worker thread, never the scheduler's.
    assert snaps.threads == {f"host {worker.uri.label}"}


def test_a_slow_tick_is_skipped_never_queued_or_overlapped(
    connect: Callable[[str], HostWorker], scheduler: TickScheduler
) -> None:
    worker = connect("test:///default")
    gate = Gate(HostSampler())
    snaps = Snaps()
    ticker = StatsTicker(worker, snaps, interval=0.05, sampler=gate, scheduler=scheduler)
    ticker.start()
    try:
        wait_for(lambda: ticker.skipped >= 10, 30, "ten skipped ticks")
        # Only the first tick was ever handed to the worker while it was stuck.
        assert ticker.ticks == 1 and gate.entered == 1 and len(snaps) == 0
    finally:
        gate.open.set()
    wait_for(lambda: len(snaps) >= 3, 30, "ticks after the slow one")
    assert gate.most_active == 1
    assert ticker.ticks - ticker.samples <= 1
    assert snaps.items[-1].skipped >= 10


def test_a_slow_host_does_not_delay_another(
    connect: Callable[[str], HostWorker], node_xml: Callable[[int], str]
) -> None:
    # Time moves only when the test moves it, one interval per round, and only after the
    # fast host's tick has finished: so none of its ticks may be skipped, and the slow
    # host's stuck first tick must make each of its later ones a skip, however busy the
    # machine running the test is.
    clock = FakeClock()
    scheduler = TickScheduler(clock)
    slow_worker, fast_worker = connect(node_xml(3)), connect(node_xml(4))
    gate = Gate(HostSampler())
    slow, fast = Snaps(), Snaps()
    slow_ticker = StatsTicker(slow_worker, slow, interval=1.0, sampler=gate, scheduler=scheduler)
    fast_ticker = StatsTicker(fast_worker, fast, interval=1.0, scheduler=scheduler)
    try:
        slow_ticker.start()
        fast_ticker.start()
        for done in range(1, 11):
            wait_for(lambda n=done: len(fast) >= n, 30, f"fast tick {done}")
            assert fast_ticker.wait_idle(30)
            clock.advance(1.0)
            scheduler.wake()
        wait_for(lambda: len(fast) >= 11 and slow_ticker.skipped >= 10, 30, "the last round")
        assert len(slow) == 0 and slow_ticker.ticks == 1 and slow_ticker.skipped >= 5
        assert slow_ticker.skipped == 10 and gate.entered == 1
        assert len(fast.items[-1].vms) == 4 and fast_ticker.skipped == 0
        assert fast_ticker.ticks == fast_ticker.samples == 11
        gate.open.set()
        wait_for(lambda: len(slow) >= 1, 30, "the stuck tick to finish")
        assert slow_ticker.wait_idle(30)
        clock.advance(1.0)
        scheduler.wake()
        wait_for(lambda: len(slow) >= 2, 30, "the slow host to catch up")
        assert len(slow.items[-1].vms) == 3 and slow.items[-1].skipped == 10
    finally:
        gate.open.set()
        scheduler.stop()


def test_pause_resume_and_interval_changes(
    connect: Callable[[str], HostWorker], scheduler: TickScheduler
) -> None:
    worker = connect("test:///default")
    snaps = Snaps()
    ticker = StatsTicker(worker, snaps, interval=0.05, scheduler=scheduler)
    with pytest.raises(ValueError):
        ticker.set_interval(0)
    ticker.start()
    wait_for(lambda: len(snaps) >= 3, 30, "three ticks")
    assert snaps.items[0].elapsed is None and snaps.items[1].elapsed is not None

    ticker.pause()
    assert ticker.paused and ticker.due is None and ticker.wait_idle(30)
    count = len(snaps)
    threading.Event().wait(0.5)  # ten intervals
    assert len(snaps) == count

    ticker.resume()
    wait_for(lambda: len(snaps) >= count + 3, 30, "ticks after resume")
    # No rate spans the pause: the first sample after it starts afresh.
    assert snaps.items[count].elapsed is None and snaps.items[count + 1].elapsed is not None

    ticker.set_interval(3600)
    assert ticker.interval == 3600 and ticker.wait_idle(30)
    count = len(snaps)
    threading.Event().wait(0.5)
    assert len(snaps) == count

    ticker.set_interval(0.05)
    wait_for(lambda: len(snaps) >= count + 3, 30, "ticks at the short interval again")


def test_failed_ticks_are_counted_and_do_not_stop_the_ticker(
    connect: Callable[[str], HostWorker], scheduler: TickScheduler
) -> None:
    worker = connect("test:///default")
    sampler = HostSampler()
    failures = iter(range(2))

    def flaky(conn: Any) -> HostSample:
        if next(failures, None) is not None:
            raise libvirt.libvirtError("transient")
        return sampler(conn)

    def broken_callback(snap: StatsSnapshot) -> None:
        snaps(snap)
        raise RuntimeError("a UI bug must not stop the stats")

    snaps = Snaps()
    ticker = StatsTicker(worker, broken_callback, interval=0.05, sampler=flaky, scheduler=scheduler)
    ticker.start()
    wait_for(lambda: len(snaps) >= 3, 30, "ticks after the failures")
    assert ticker.errors == 2 and isinstance(ticker.last_error, libvirt.libvirtError)


# -- the sampler against fake connections ---------------------------------------------


def libvirt_error(code: int) -> libvirt.libvirtError:
    exc = libvirt.libvirtError("fake")
    exc.err = (code, 0, "fake", 2, None, None, None, 0, 0)
    return exc


class FakeDomain:
    def __init__(self, n: int, calls: Counter[str]) -> None:
        self.n, self.calls = n, calls

    def UUIDString(self) -> str:
        return f"00000000-0000-0000-0000-{self.n:012d}"

    def name(self) -> str:
        return f"vm{self.n}"

    def ID(self) -> int:
        return self.n if self.n % 3 else -1

    def __getattr__(self, name: str) -> Any:
        self.calls[f"dom.{name}"] += 1  # any per-domain RPC would show up here
        raise AssertionError(f"per-domain call {name}")


class FakeConn:
    """Answers like a driver; `bulk` decides what getAllDomainStats does."""

    def __init__(self, count: int, bulk: Callable[[int], Any]) -> None:
        self.calls: Counter[str] = Counter()
        self.flags: list[int] = []
        self.domains = [FakeDomain(n, self.calls) for n in range(count)]
        self._bulk = bulk

    def getAllDomainStats(self, stats: int, flags: int) -> Any:
        self.calls["getAllDomainStats"] += 1
        self.flags.append(flags)
        return self._bulk(flags)

    def listAllDomains(self, flags: int) -> list[FakeDomain]:
        self.calls["listAllDomains"] += 1
        states = {
            libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING: 0,
            libvirt.VIR_CONNECT_LIST_DOMAINS_PAUSED: 1,
            libvirt.VIR_CONNECT_LIST_DOMAINS_SHUTOFF: 2,
        }
        if flags == 0:
            return self.domains
        return [d for d in self.domains if d.n % 4 == states[flags]]

    def getCPUStats(self, cpu: int) -> dict[str, int]:
        self.calls["getCPUStats"] += 1
        raise libvirt_error(libvirt.VIR_ERR_NO_SUPPORT)

    def getMemoryStats(self, cell: int) -> dict[str, int]:
        self.calls["getMemoryStats"] += 1
        return {"total": 1000, "free": 100, "buffers": 100, "cached": 300}

    def getInfo(self) -> list[Any]:
        self.calls["getInfo"] += 1
        return ["x86_64", 1024, 16, 2000, 1, 1, 16, 1]


def test_nowait_refused_is_retried_once_and_remembered() -> None:
    def bulk(flags: int) -> Any:
        if flags & NOWAIT:
            raise libvirt_error(libvirt.VIR_ERR_INVALID_ARG)
        return [(d, {"state.state": 1, "cpu.time": 10**9}) for d in conn.domains]

    conn = FakeConn(5, bulk)
    sampler = HostSampler()
    samples = [sampler(conn) for _ in range(3)]
    assert conn.flags == [NOWAIT, 0, 0, 0] and not sampler.nowait and sampler.bulk
    assert len(samples[-1].domains) == 5 and samples[-1].domains[0].cpu_time_ns == 10**9
    assert samples[-1].memory_used_kib == 500 and samples[-1].cpus == 16
    # Host CPU stats unsupported: asked once, then left alone.
    assert conn.calls["getCPUStats"] == 1 and conn.calls["getInfo"] == 1


def test_host_without_bulk_stats_gets_state_in_a_fixed_number_of_calls() -> None:
    def bulk(flags: int) -> Any:
        raise libvirt_error(libvirt.VIR_ERR_NO_SUPPORT)

    conn = FakeConn(200, bulk)
    sampler = HostSampler()
    first = sampler(conn)
    second = sampler(conn)
    assert not sampler.bulk and not first.bulk
    # Tried with NOWAIT, retried without, then never again.
    assert conn.calls["getAllDomainStats"] == 2
    assert conn.calls["listAllDomains"] == 8  # 4 listings per tick, whatever the count
    assert not any(name.startswith("dom.") for name in conn.calls)
    states = Counter(d.state for d in second.domains)
    assert states == {
        VMState.RUNNING: 50,
        VMState.PAUSED: 50,
        VMState.SHUTOFF: 50,
        VMState.NOSTATE: 50,
    }


def test_other_bulk_errors_propagate() -> None:
    def bulk(flags: int) -> Any:
        raise libvirt_error(libvirt.VIR_ERR_SYSTEM_ERROR)

    sampler = HostSampler()
    with pytest.raises(libvirt.libvirtError):
        sampler(FakeConn(1, bulk))
    assert sampler.bulk and sampler.nowait


def test_psutil_only_for_local_real_drivers() -> None:
    assert is_local(parse_uri("qemu:///system"))
    assert not is_local(parse_uri("test:///default"))
    assert not is_local(parse_uri("qemu+ssh://root@example.com/system"))
    sample = HostSampler(local=True)(FakeConn(0, lambda flags: []))
    assert sample.load is not None and sample.memory_total_kib and sample.memory_total_kib > 1000
    # libvirt had no host CPU times here: psutil's stand in.
    assert sample.cpu is not None and sample.cpu.total > 0


def test_a_disconnected_host_counts_errors_and_delivers_nothing(
    scheduler: TickScheduler, tmp_path: Any
) -> None:
    manager = HostManager(lambda update: None, reconnect=False)
    try:
        worker = manager.add(f"test://{tmp_path}/missing.xml")
        snaps = Snaps()
        ticker = StatsTicker(worker, snaps, interval=0.05, scheduler=scheduler)
        ticker.start()
        wait_for(lambda: ticker.errors >= 3, 30, "three failed ticks")
        assert len(snaps) == 0 and isinstance(ticker.last_error, Disconnected)
    finally:
        manager.stop()
