"""Which VMs each tick reads, and which stats groups (per-vCPU, disk, network) it asks.

Every VM gets state, CPU time and memory: that is what the VM table shows. The heavy
groups feed only the VM details' graphs, so above `limit` VMs in total they are read only
for the VMs someone is looking at (`watch`), in the same tick job. Above `budget` VMs in
total, a host's tick reads only a slice of its VMs (`every`: each VM once in that many
ticks) plus the watched ones, so the records per second stay near the budget's.
Thread-safe: the UI watches and sets the values, each host's worker reports its count and asks.
"""

from __future__ import annotations

import threading
from collections import Counter

from tvirt.words import plural

from .host_counts import HostCounts

DEFAULT_FULL_STATS_LIMIT = 1000
# VMs read per tick across all hosts before each VM is read less often: 2000 VM records
# per 2 s tick kept fifty local hosts near 5 % of one core (docs/performance.md).
DEFAULT_TICK_BUDGET = 2000


def limit_problem(value: object) -> str | None:
    """Why `value` is not a usable full_stats_limit, or None if it is."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return f"the full stats limit must be a whole number of VMs, 0 or more, not {value!r}"
    return None


def budget_problem(value: object) -> str | None:
    """Why `value` is not a usable tick budget, or None if it is."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"the VMs read per tick must be a whole number, 1 or more, not {value!r}"
    return None


def every_for(total: int, budget: int) -> int:
    """Each VM is read once in this many ticks: 1 up to the budget, else enough that
    `total` VMs spread over that many ticks fit in it."""
    return max(1, -(-total // budget))


class StatsTiers:
    def __init__(
        self, limit: int = DEFAULT_FULL_STATS_LIMIT, budget: int = DEFAULT_TICK_BUDGET
    ) -> None:
        self._lock = threading.Lock()
        self._limit = limit
        self._budget = budget
        self._vms = HostCounts()  # each host's VMs in its last tick
        self._watched: Counter[str] = Counter()  # "host_id/uuid" -> screens showing it

    @property
    def limit(self) -> int:
        return self._limit

    def set_limit(self, limit: int) -> None:
        problem = limit_problem(limit)
        if problem:
            raise ValueError(problem)
        with self._lock:
            self._limit = limit

    @property
    def budget(self) -> int:
        return self._budget

    def set_budget(self, budget: int) -> None:
        problem = budget_problem(budget)
        if problem:
            raise ValueError(problem)
        with self._lock:
            self._budget = budget

    def every(self) -> int:
        """Each VM's figures are read once in this many ticks (watched VMs every tick)."""
        return every_for(self._vms.total, self._budget)

    def count(self, host_id: str, vms: int) -> None:
        """A host's tick saw this many VMs."""
        self._vms.set(host_id, vms)

    def forget(self, host_id: str) -> None:
        self._vms.forget(host_id)

    @property
    def total(self) -> int:
        return self._vms.total

    def full(self) -> bool:
        """Whether every VM gets every group: at most `limit` VMs watched in all."""
        return self._vms.total <= self._limit

    def watch(self, key: str) -> None:
        """A screen shows this VM's graphs ("host_id/uuid"); unwatch when it closes."""
        with self._lock:
            self._watched[key] += 1

    def unwatch(self, key: str) -> None:
        with self._lock:
            self._watched[key] -= 1
            if self._watched[key] <= 0:
                del self._watched[key]

    def watched_on(self, host_id: str) -> frozenset[str]:
        """UUIDs of the watched VMs of one host."""
        with self._lock:
            keys = [k.rpartition("/") for k in self._watched]
        return frozenset(uuid for host, _, uuid in keys if host == host_id)

    def words(self) -> str:
        """'' while every VM gets every group; else one sentence of what is limited."""
        if self.full():
            return ""
        return (
            "disk and network history starts when this screen opens: "
            f"more than {plural(self._limit, 'VM')} watched"
        )

    def refresh_words(self, interval: float) -> str:
        """'' while every VM is read every tick; else how often figures refresh."""
        every = self.every()
        if every == 1:
            return ""
        return (
            f"each VM's figures refresh every {every * interval:g} s "
            f"(more than {plural(self._budget, 'VM')} a tick), open details every tick"
        )
