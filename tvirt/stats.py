"""Resource rates from two consecutive stats samples: frozen records and pure functions.

Nothing here touches libvirt or a clock. The ticker (tvirt.ticker) turns libvirt's answers
into samples; this module turns a pair of samples into a StatsSnapshot for the UI.

Counters are cumulative (CPU nanoseconds, bytes, requests). A rate needs two readings of the
same counter from the same QEMU process; whenever that is not certain (first sample, VM not
running at either end, new domain id, counter went backwards) the rate is None rather than
a guess, and the current sample becomes the base for the next interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tvirt.model import VMState

# A shut-off domain's counters are left over from its last run (QEMU reports them even
# while it is off), so no rate may span an interval that starts or ends there.
_INACTIVE = frozenset({VMState.SHUTOFF, VMState.NOSTATE})


# -- samples: what the host said, once -------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockTotals:
    """block.N.* summed over all of a domain's disks."""

    rd_bytes: int
    wr_bytes: int
    rd_reqs: int
    wr_reqs: int


@dataclass(frozen=True, slots=True)
class NetTotals:
    """net.N.* summed over all of a domain's interfaces."""

    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True, slots=True)
class DomainSample:
    """One domain in one bulk stats answer. None means the driver did not say."""

    uuid: str
    name: str
    state: VMState
    dom_id: int = -1  # libvirt's runtime id: a new one means a new QEMU process
    cpu_time_ns: int | None = None
    vcpus: int | None = None
    balloon_current_kib: int | None = None
    balloon_maximum_kib: int | None = None
    balloon_available_kib: int | None = None
    balloon_unused_kib: int | None = None
    balloon_usable_kib: int | None = None
    balloon_rss_kib: int | None = None
    block: BlockTotals | None = None
    net: NetTotals | None = None


@dataclass(frozen=True, slots=True)
class CPUTimes:
    """Host CPU time in nanoseconds, summed over all CPUs (virNodeGetCPUStats)."""

    kernel: int
    user: int
    idle: int
    iowait: int = 0

    @property
    def busy(self) -> int:
        return self.kernel + self.user

    @property
    def total(self) -> int:
        return self.kernel + self.user + self.idle + self.iowait


@dataclass(frozen=True, slots=True)
class HostSample:
    """Everything one tick read from one host."""

    time: float  # monotonic seconds when the bulk call returned
    wall: float  # time.time() at the same moment, for graph axes
    cpus: int  # the host's logical CPUs; 0 if unknown
    domains: tuple[DomainSample, ...] = ()
    bulk: bool = True  # False: the driver has no bulk stats, domains carry state only
    cpu: CPUTimes | None = None
    memory_total_kib: int | None = None
    memory_used_kib: int | None = None
    load: tuple[float, float, float] | None = None  # local hosts only (psutil/os)
    # Above the tick budget (tvirt.tiers) a tick reads some of the host's VMs: `domains`
    # are those, the others were not read (not gone). `listed`: every VM the host has,
    # when this tick listed them (a round's first tick), else None.
    partial: bool = False
    listed: frozenset[str] | None = None


# -- rates: what the UI shows -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VMRates:
    """One VM over one interval. Every rate is None when it cannot be known."""

    uuid: str
    name: str
    state: VMState
    vcpus: int | None = None
    cpu_percent: float | None = None  # of its own vCPUs, 0..100
    host_cpu_percent: float | None = None  # of the whole host, 0..100
    memory_kib: int | None = None  # balloon.current: what the VM has now
    memory_total_kib: int | None = None  # what the guest sees (balloon.available)
    memory_used_kib: int | None = None  # guest view; needs the guest's balloon driver
    memory_available_kib: int | None = None  # guest can still use (usable, else unused)
    memory_percent: float | None = None
    memory_rss_kib: int | None = None  # host view: the QEMU process's resident size
    disk_read_bps: float | None = None
    disk_write_bps: float | None = None
    disk_read_iops: float | None = None
    disk_write_iops: float | None = None
    net_rx_bps: float | None = None
    net_tx_bps: float | None = None


@dataclass(frozen=True, slots=True)
class HostRates:
    cpus: int
    cpu_percent: float | None = None
    memory_total_kib: int | None = None
    memory_used_kib: int | None = None
    memory_percent: float | None = None
    load1: float | None = None


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """What a tick hands to on_sample: immutable, safe to pass between threads."""

    host_id: str
    seq: int  # ticks that produced a snapshot so far, from 1
    time: float  # monotonic
    wall: float
    elapsed: float | None  # seconds since the previous sample; None for the first
    bulk: bool
    host: HostRates
    vms: tuple[VMRates, ...]
    removed: tuple[str, ...] = ()  # UUIDs present last tick and gone now
    skipped: int = 0  # ticks skipped so far because the previous one was still running
    # UUIDs whose record is the same object as last tick (nothing changed): their rates
    # are last tick's, so a reader may skip them unless it keeps per-tick history.
    steady: frozenset[str] = frozenset()
    # The UUIDs this tick read (those in `vms`), when it read only some of the host's
    # VMs (the tick budget): the others are still there. None: `vms` is every VM.
    covered: frozenset[str] | None = None
    # uuid -> position, for vm(); filled once in __post_init__ and never changed after.
    _index: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update((vm.uuid, i) for i, vm in enumerate(self.vms))

    def vm(self, uuid: str) -> VMRates | None:
        i = self._index.get(uuid)
        return None if i is None else self.vms[i]


# -- parsing libvirt's dicts -------------------------------------------------------------


def _int(record: Mapping[str, object], key: str) -> int | None:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _sum_indexed(
    record: Mapping[str, object], prefix: str, fields: Iterable[str]
) -> tuple[int, ...] | None:
    """Sum prefix.N.field over N < prefix.count; None if the group is absent or empty.

    A VM without a NIC (net.count 0) has no network rate to show: unknown ("n/a"), not a
    rate of 0 bytes per second. Likewise a VM without disks.
    """
    count = _int(record, f"{prefix}.count")
    if not count:
        return None
    names = tuple(fields)
    totals = [0] * len(names)
    for n in range(count):
        for i, name in enumerate(names):
            # An empty CD-ROM or a just-plugged NIC may lack some counters: count as 0.
            totals[i] += _int(record, f"{prefix}.{n}.{name}") or 0
    return tuple(totals)


def parse_domain(
    uuid: str, name: str, record: Mapping[str, object], dom_id: int = -1
) -> DomainSample:
    """A DomainSample from one getAllDomainStats record (virsh domstats keys)."""
    state = _int(record, "state.state")
    block = _sum_indexed(record, "block", ("rd.bytes", "wr.bytes", "rd.reqs", "wr.reqs"))
    net = _sum_indexed(record, "net", ("rx.bytes", "tx.bytes"))
    return DomainSample(
        uuid=uuid,
        name=name,
        state=VMState.from_libvirt(state if state is not None else 0),
        dom_id=dom_id,
        cpu_time_ns=_int(record, "cpu.time"),
        vcpus=_int(record, "vcpu.current"),
        balloon_current_kib=_int(record, "balloon.current"),
        balloon_maximum_kib=_int(record, "balloon.maximum"),
        balloon_available_kib=_int(record, "balloon.available"),
        balloon_unused_kib=_int(record, "balloon.unused"),
        balloon_usable_kib=_int(record, "balloon.usable"),
        balloon_rss_kib=_int(record, "balloon.rss"),
        block=BlockTotals(*block) if block is not None else None,
        net=NetTotals(*net) if net is not None else None,
    )


def parse_cpu_times(stats: Mapping[str, object]) -> CPUTimes | None:
    """virNodeGetCPUStats(ALL_CPUS); None unless kernel, user and idle are all there."""
    kernel, user, idle = _int(stats, "kernel"), _int(stats, "user"), _int(stats, "idle")
    if kernel is None or user is None or idle is None:
        return None
    return CPUTimes(kernel, user, idle, _int(stats, "iowait") or 0)


def node_memory_used(stats: Mapping[str, object]) -> tuple[int, int] | None:
    """(total, used) KiB from virNodeGetMemoryStats; buffers and page cache are not used."""
    total, free = _int(stats, "total"), _int(stats, "free")
    if total is None or free is None:
        return None
    used = total - free - (_int(stats, "buffers") or 0) - (_int(stats, "cached") or 0)
    return total, min(max(used, 0), total)


# -- maths -------------------------------------------------------------------------------


def clamp_percent(value: float) -> float:
    """Into [0, 100]; NaN (never expected) becomes 0 rather than poisoning a graph."""
    if math.isnan(value):
        return 0.0
    return min(max(value, 0.0), 100.0)


def counter_rate(prev: int | None, cur: int | None, elapsed: float | None) -> float | None:
    """Per-second rate of a cumulative counter, or None if it reset or is unknown."""
    if prev is None or cur is None or elapsed is None or elapsed <= 0:
        return None
    if cur < prev:
        return None  # reset (restart, hot-unplug): no negative spike, re-base on cur
    return (cur - prev) / elapsed


def cpu_percent(
    prev_ns: int | None, cur_ns: int | None, elapsed: float | None, cpus: int | None
) -> float | None:
    """CPU time used as a share of `cpus` CPUs over the interval, 0..100."""
    if not cpus or cpus <= 0:
        return None
    per_second = counter_rate(prev_ns, cur_ns, elapsed)
    if per_second is None:
        return None
    return clamp_percent(per_second / 1e9 / cpus * 100.0)


def host_cpu_percent(prev: CPUTimes | None, cur: CPUTimes | None) -> float | None:
    """Busy (kernel + user) share of all host CPU time between two readings."""
    if prev is None or cur is None:
        return None
    busy = cur.busy - prev.busy
    total = cur.total - prev.total
    if busy < 0 or total <= 0 or cur.idle < prev.idle:
        return None  # host rebooted under us, or no time passed
    return clamp_percent(busy / total * 100.0)


def same_run(prev: DomainSample | None, cur: DomainSample) -> bool:
    """Whether both samples come from one uninterrupted run of the VM."""
    if prev is None or prev.state in _INACTIVE or cur.state in _INACTIVE:
        return False
    return prev.dom_id < 0 or cur.dom_id < 0 or prev.dom_id == cur.dom_id


def _memory(cur: DomainSample) -> tuple[int | None, int | None, int | None, float | None]:
    """(total, used, available, percent) as the guest sees it, where it says."""
    total = cur.balloon_available_kib or cur.balloon_current_kib
    # usable (MemAvailable) counts reclaimable cache as free, as `free` does; unused
    # (MemFree) is the fallback on older guests.
    free = cur.balloon_usable_kib
    if free is None:
        free = cur.balloon_unused_kib
    if total is None or free is None or cur.balloon_available_kib is None:
        return total, None, None, None
    free = min(max(free, 0), total)
    used = total - free
    return total, used, free, clamp_percent(used / total * 100.0) if total else None


def vm_rates(
    prev: DomainSample | None, cur: DomainSample, elapsed: float | None, host_cpus: int
) -> VMRates:
    """Rates for one VM; prev is the same VM in the previous sample, if it was there."""
    total, used, available, mem_percent = _memory(cur)
    if prev is None or not same_run(prev, cur):
        return VMRates(
            uuid=cur.uuid,
            name=cur.name,
            state=cur.state,
            vcpus=cur.vcpus,
            memory_kib=cur.balloon_current_kib,
            memory_total_kib=total,
            memory_used_kib=used,
            memory_available_kib=available,
            memory_percent=mem_percent,
            memory_rss_kib=cur.balloon_rss_kib,
        )
    disk: tuple[float | None, ...] = (None, None, None, None)
    if prev.block is not None and cur.block is not None:
        b0, b1 = prev.block, cur.block
        disk = (
            counter_rate(b0.rd_bytes, b1.rd_bytes, elapsed),
            counter_rate(b0.wr_bytes, b1.wr_bytes, elapsed),
            counter_rate(b0.rd_reqs, b1.rd_reqs, elapsed),
            counter_rate(b0.wr_reqs, b1.wr_reqs, elapsed),
        )
    net: tuple[float | None, ...] = (None, None)
    if prev.net is not None and cur.net is not None:
        net = (
            counter_rate(prev.net.rx_bytes, cur.net.rx_bytes, elapsed),
            counter_rate(prev.net.tx_bytes, cur.net.tx_bytes, elapsed),
        )
    # One constructor call, not dataclasses.replace: at fifty hosts of 200 VMs this runs
    # 5000 times a second.
    return VMRates(
        uuid=cur.uuid,
        name=cur.name,
        state=cur.state,
        vcpus=cur.vcpus,
        memory_kib=cur.balloon_current_kib,
        memory_total_kib=total,
        memory_used_kib=used,
        memory_available_kib=available,
        memory_percent=mem_percent,
        memory_rss_kib=cur.balloon_rss_kib,
        cpu_percent=cpu_percent(prev.cpu_time_ns, cur.cpu_time_ns, elapsed, cur.vcpus),
        host_cpu_percent=cpu_percent(prev.cpu_time_ns, cur.cpu_time_ns, elapsed, host_cpus),
        disk_read_bps=disk[0],
        disk_write_bps=disk[1],
        disk_read_iops=disk[2],
        disk_write_iops=disk[3],
        net_rx_bps=net[0],
        net_tx_bps=net[1],
    )


def host_rates(prev: HostSample | None, cur: HostSample) -> HostRates:
    total, used = cur.memory_total_kib, cur.memory_used_kib
    percent = clamp_percent(used / total * 100.0) if total and used is not None else None
    return HostRates(
        cpus=cur.cpus,
        cpu_percent=host_cpu_percent(prev.cpu if prev else None, cur.cpu),
        memory_total_kib=total,
        memory_used_kib=used,
        memory_percent=percent,
        load1=cur.load[0] if cur.load else None,
    )


# Rates of a VM whose sample did not change from one tick to the next (the same
# DomainSample object, see ticker.HostSampler): uuid -> (that sample, whether the
# interval was known, host CPUs, its rates). Such rates depend on nothing else, since
# every counter moved by zero.
SteadyRates = dict[str, tuple[DomainSample, bool, int, VMRates]]


def snapshot(
    host_id: str,
    prev: HostSample | None,
    cur: HostSample,
    *,
    seq: int = 1,
    skipped: int = 0,
    steady: SteadyRates | None = None,
) -> StatsSnapshot:
    """The whole tick: host rates, one VMRates per domain in cur, and who disappeared.

    `steady`, kept by the caller from tick to tick, saves recomputing the rates of VMs
    whose record is unchanged (shut-off VMs, drivers that report state only)."""
    elapsed = cur.time - prev.time if prev is not None else None
    if elapsed is not None and elapsed <= 0:
        elapsed = None
    before = {d.uuid: d for d in prev.domains} if prev is not None else {}
    if steady is None:
        vms = tuple(vm_rates(before.get(d.uuid), d, elapsed, cur.cpus) for d in cur.domains)
    else:
        vms = _steady_rates(before, cur, elapsed, steady)
    same = frozenset(d.uuid for d in cur.domains if before.get(d.uuid) is d)
    now = {d.uuid for d in cur.domains}
    removed = tuple(uuid for uuid in before if uuid not in now)
    return StatsSnapshot(
        host_id=host_id,
        seq=seq,
        time=cur.time,
        wall=cur.wall,
        elapsed=elapsed,
        bulk=cur.bulk,
        host=host_rates(prev, cur),
        vms=vms,
        removed=removed,
        skipped=skipped,
        steady=same,
    )


def _steady_rates(
    before: dict[str, DomainSample],
    cur: HostSample,
    elapsed: float | None,
    steady: SteadyRates,
) -> tuple[VMRates, ...]:
    known, cpus = elapsed is not None, cur.cpus
    out: list[VMRates] = []
    fresh: SteadyRates = {}
    for d in cur.domains:
        p = before.get(d.uuid)
        if p is d:
            memo = steady.get(d.uuid)
            if memo is not None and memo[0] is d and memo[1] == known and memo[2] == cpus:
                rates = memo[3]
            else:
                rates = vm_rates(p, d, elapsed, cpus)
            fresh[d.uuid] = (d, known, cpus, rates)
        else:
            rates = vm_rates(p, d, elapsed, cpus)
        out.append(rates)
    steady.clear()
    steady.update(fresh)
    return tuple(out)
