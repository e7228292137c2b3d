"""Bounded per-VM and per-host metric history for the graphs.

Each VM keeps one float32 array holding a ring per metric, all sharing one write position,
so a VM costs one Python object plus 4 bytes per point per metric (docs/performance.md has
measured figures). A VM that has never reported a number (state-only drivers, shut-off VMs)
allocates no array at all. Unknown points are stored as NaN and read back as None.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

from tvirt.stats import HostRates, StatsSnapshot, VMRates

DEFAULT_WINDOW = 600.0  # seconds of history kept, whatever the interval


class Metric(StrEnum):
    """A graphed quantity; the value is the VMRates / HostRates attribute it comes from."""

    CPU = "cpu_percent"
    HOST_CPU = "host_cpu_percent"
    MEMORY_USED = "memory_used_kib"
    MEMORY_RSS = "memory_rss_kib"
    DISK_READ = "disk_read_bps"
    DISK_WRITE = "disk_write_bps"
    DISK_READ_IOPS = "disk_read_iops"
    DISK_WRITE_IOPS = "disk_write_iops"
    NET_RX = "net_rx_bps"
    NET_TX = "net_tx_bps"
    LOAD = "load1"


VM_METRICS: tuple[Metric, ...] = (
    Metric.CPU,
    Metric.HOST_CPU,
    Metric.MEMORY_USED,
    Metric.MEMORY_RSS,
    Metric.DISK_READ,
    Metric.DISK_WRITE,
    Metric.DISK_READ_IOPS,
    Metric.DISK_WRITE_IOPS,
    Metric.NET_RX,
    Metric.NET_TX,
)
HOST_METRICS: tuple[Metric, ...] = (Metric.CPU, Metric.MEMORY_USED, Metric.LOAD)


def points_for(interval: float, window: float = DEFAULT_WINDOW) -> int:
    """Ring length that covers `window` seconds at one point per `interval`."""
    if interval <= 0 or window <= 0:
        raise ValueError("interval and window must be positive")
    return max(1, math.ceil(window / interval))


@dataclass(frozen=True, slots=True)
class Summary:
    """Over the known points of a series; all None if there are none."""

    current: float | None  # the newest point, None if that one is unknown
    minimum: float | None
    average: float | None
    maximum: float | None
    known: int  # points with a value


class Rings:
    """Aligned rings of floats, one per name, written together one row at a time.

    Not thread-safe by itself; StatsHistory locks around it.
    """

    __slots__ = ("_data", "_head", "_index", "_len", "maxlen", "names", "tick", "typecode")

    def __init__(
        self, names: Sequence[str], maxlen: int, typecode: str = "f", tick: int = 0
    ) -> None:
        if maxlen < 1:
            raise ValueError("maxlen must be at least 1")
        self.names = tuple(names)
        self._index = {name: i for i, name in enumerate(self.names)}
        self.maxlen = maxlen
        self.typecode = typecode
        self._data: array[float] | None = None  # allocated on the first known value
        self._head = 0  # next slot to write
        self._len = 0
        # The host's tick the newest row is from (StatsHistory); a VM not read on every
        # tick (the tick budget) lags behind its host's newest tick.
        self.tick = tick

    def __len__(self) -> int:
        return self._len

    @property
    def nbytes(self) -> int:
        return 0 if self._data is None else self._data.itemsize * len(self._data)

    def push(self, values: Sequence[float | None], times: int = 1) -> None:
        """Append one row `times` times, a value (or None) per name, dropping the oldest
        when full. A VM read once in several ticks fills the ticks since its last read
        with the rates of that whole span, which is what they averaged over."""
        if times != 1:
            times = min(times, self.maxlen)
        if self._data is None:
            if values.count(None) == len(values):  # C-level: this runs per VM per tick
                self._head = (self._head + times) % self.maxlen
                if self._len < self.maxlen:
                    self._len = min(self._len + times, self.maxlen)
                return
            # Rows before this one were all unknown, which is what NaN fill says.
            self._data = array(self.typecode, [math.nan]) * (self.maxlen * len(self.names))
        data, size = self._data, self.maxlen
        for _ in range(times):
            slot = self._head
            for i, value in enumerate(values):
                data[i * size + slot] = math.nan if value is None else value
            self._advance(1)

    def _advance(self, times: int) -> None:
        self._head = (self._head + times) % self.maxlen
        self._len = min(self._len + times, self.maxlen)

    def raw(self, name: str, last: int | None = None, lag: int = 0) -> list[float]:
        """Oldest first, NaN for unknown points; only the newest `last` if given. `lag`
        ticks not read yet repeat the newest point (its figures are still the latest)."""
        if lag > 0:
            points = self.raw(name)
            points += [points[-1] if points else math.nan] * min(lag, self.maxlen)
            points = points[-self.maxlen :]
            return points if last is None else points[len(points) - min(last, len(points)) :]
        count = self._len if last is None else max(0, min(last, self._len))
        if self._data is None:
            return [math.nan] * count
        base = self._index[name] * self.maxlen
        start = (self._head - count) % self.maxlen
        end = start + count
        if end <= self.maxlen:
            return self._data[base + start : base + end].tolist()
        wrap = end - self.maxlen
        return (
            self._data[base + start : base + self.maxlen].tolist()
            + self._data[base : base + wrap].tolist()
        )

    def values(self, name: str, last: int | None = None, lag: int = 0) -> list[float | None]:
        return [None if math.isnan(v) else v for v in self.raw(name, last, lag)]

    def summary(self, name: str, lag: int = 0) -> Summary:
        raw = self.raw(name, lag=lag)
        known = [v for v in raw if not math.isnan(v)]
        current = raw[-1] if raw and not math.isnan(raw[-1]) else None
        if not known:
            return Summary(current, None, None, None, 0)
        return Summary(current, min(known), sum(known) / len(known), max(known), len(known))

    def resized(self, maxlen: int) -> Rings:
        """A copy with a new length, keeping the newest points that fit."""
        copy = Rings(self.names, maxlen, self.typecode, self.tick)
        columns = [self.raw(name) for name in self.names]
        keep = min(self._len, maxlen)
        for row in range(self._len - keep, self._len):
            copy.push([None if math.isnan(c[row]) else c[row] for c in columns])
        return copy


# One C-level getter per row: enum .value lookups per field per VM were a third of add().
_VM_ROW = attrgetter(*(str(metric.value) for metric in VM_METRICS))
_HOST_ROW = attrgetter(*(str(metric.value) for metric in HOST_METRICS))


def _vm_row(vm: VMRates) -> tuple[float | None, ...]:
    row: tuple[float | None, ...] = _VM_ROW(vm)
    return row


def _host_row(host: HostRates) -> tuple[float | None, ...]:
    row: tuple[float | None, ...] = _HOST_ROW(host)
    return row


class StatsHistory:
    """History for every host and VM, fed with StatsSnapshots.

    Thread-safe: add() may run on a worker thread while the UI reads; readers get copies.
    VMs are keyed like VMInfo.key ("host_id/uuid"). A VM missing from its host's newest
    snapshot is forgotten, so deleted VMs free their memory at the next tick; a snapshot
    that read only some VMs (`covered`) forgets only those it names as `removed`.
    """

    def __init__(self, interval: float = 2.0, window: float = DEFAULT_WINDOW) -> None:
        self._lock = threading.Lock()
        self._interval = interval
        self._window = window
        self._maxlen = points_for(interval, window)
        self._hosts: dict[str, Rings] = {}
        self._times: dict[str, Rings] = {}  # float64: wall-clock seconds need the precision
        self._vms: dict[str, dict[str, Rings]] = {}  # host_id -> uuid -> rings
        self._ticks: dict[str, int] = {}  # host_id -> snapshots added

    @property
    def maxlen(self) -> int:
        return self._maxlen

    @property
    def interval(self) -> float:
        return self._interval

    def set_interval(self, interval: float, window: float | None = None) -> None:
        """Match a new tick interval (and optionally window); keeps the newest points."""
        maxlen = points_for(interval, self._window if window is None else window)
        with self._lock:
            self._interval = interval
            if window is not None:
                self._window = window
            if maxlen == self._maxlen:
                return
            self._maxlen = maxlen
            self._hosts = {h: r.resized(maxlen) for h, r in self._hosts.items()}
            self._times = {h: r.resized(maxlen) for h, r in self._times.items()}
            self._vms = {
                h: {u: r.resized(maxlen) for u, r in vms.items()} for h, vms in self._vms.items()
            }

    def add(self, snap: StatsSnapshot) -> None:
        with self._lock:
            host_id, size = snap.host_id, self._maxlen
            self._hosts.setdefault(host_id, Rings(HOST_METRICS, size)).push(_host_row(snap.host))
            self._times.setdefault(host_id, Rings(("wall",), size, "d")).push([snap.wall])
            tick = self._ticks[host_id] = self._ticks.get(host_id, 0) + 1
            old = self._vms.get(host_id, {})
            # A full tick keeps only its VMs; a partial one keeps the others untouched.
            vms: dict[str, Rings] = {} if snap.covered is None else old
            for vm in snap.vms:
                rings = old.get(vm.uuid) or Rings(VM_METRICS, size, tick=tick - 1)
                rings.push(_vm_row(vm), tick - rings.tick)
                rings.tick = tick
                vms[vm.uuid] = rings
            for uuid in snap.removed:
                vms.pop(uuid, None)
            self._vms[host_id] = vms  # a full tick drops the VMs it did not have here

    def forget_host(self, host_id: str) -> None:
        with self._lock:
            self._hosts.pop(host_id, None)
            self._times.pop(host_id, None)
            self._vms.pop(host_id, None)
            self._ticks.pop(host_id, None)

    def forget_vm(self, key: str) -> None:
        host_id, _, uuid = key.rpartition("/")
        with self._lock:
            self._vms.get(host_id, {}).pop(uuid, None)

    # -- readers ------------------------------------------------------------
    def _vm(self, key: str) -> Rings | None:
        host_id, _, uuid = key.rpartition("/")
        return self._vms.get(host_id, {}).get(uuid)

    def _lag(self, key: str, rings: Rings) -> int:
        """Ticks of the VM's host since the VM was last read (0 unless the tick budget
        spreads its VMs over several ticks)."""
        return self._ticks.get(key.rpartition("/")[0], rings.tick) - rings.tick

    def vm_keys(self) -> list[str]:
        with self._lock:
            return [f"{h}/{u}" for h, vms in self._vms.items() for u in vms]

    def vm_values(self, key: str, metric: Metric, last: int | None = None) -> list[float | None]:
        """Oldest first; the last point lines up with host_times(host_id)[-1].

        `last` limits the answer to the newest points (a table's sparkline needs a few).
        """
        with self._lock:
            rings = self._vm(key)
            return [] if rings is None else rings.values(metric, last, self._lag(key, rings))

    def has_values(self, key: str) -> bool:
        """Whether the VM ever reported a number (a state-only VM keeps no array)."""
        with self._lock:
            rings = self._vm(key)
            return rings is not None and rings.nbytes > 0

    def vm_summary(self, key: str, metric: Metric) -> Summary | None:
        with self._lock:
            rings = self._vm(key)
            return None if rings is None else rings.summary(metric, self._lag(key, rings))

    def host_values(
        self, host_id: str, metric: Metric, last: int | None = None
    ) -> list[float | None]:
        with self._lock:
            rings = self._hosts.get(host_id)
            return [] if rings is None else rings.values(metric, last)

    def host_summary(self, host_id: str, metric: Metric) -> Summary | None:
        with self._lock:
            rings = self._hosts.get(host_id)
            return None if rings is None else rings.summary(metric)

    def host_times(self, host_id: str) -> list[float]:
        """Wall-clock time of each of the host's points, oldest first."""
        with self._lock:
            rings = self._times.get(host_id)
            return [] if rings is None else rings.raw("wall")

    def nbytes(self) -> int:
        """Bytes held in ring arrays (excludes the small per-object overhead)."""
        with self._lock:
            rings = [*self._hosts.values(), *self._times.values()]
            rings += [r for vms in self._vms.values() for r in vms.values()]
            return sum(r.nbytes for r in rings)
