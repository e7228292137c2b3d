"""One budget for every host's slow recheck (HostWorker._recheck), app-wide.

libvirt sends no event for some outside changes (virsh autostart, setmaxmem on a shut-off
VM), so each connected host lists its domains again now and then. Every 30 s per host
cost 3 to 4 % of a core at fifty hosts of 200 VMs (docs/performance.md), so the rechecks
share a rate: the whole app re-lists at most VMS_PER_SECOND VMs a second on average.
Each recheck books the next one on one shared timeline, a host's turn lasting its VM
count / VMS_PER_SECOND seconds: the hosts' rechecks follow each other evenly spread,
never two in one instant, and none comes sooner than `floor` seconds after the host's
last one. A single small host keeps its recheck every 30 s.
Thread-safe: every host's worker thread books its own turns.
"""

from __future__ import annotations

import threading

from .host_counts import HostCounts

# VMs re-listed a second across all hosts: 10,000 VMs are rechecked every 100 s.
VMS_PER_SECOND = 100.0


class RecheckBudget:
    def __init__(self, floor: float, per_second: float = VMS_PER_SECOND) -> None:
        self.floor = floor
        self.per_second = per_second
        self._lock = threading.Lock()
        self._free = float("-inf")  # where the shared timeline's next turn may start
        self._vms = HostCounts()  # each host's VMs at its last recheck

    def book(self, host_id: str, vms: int, now: float) -> float:
        """When this host's next recheck is due, for a host of `vms` VMs rechecked (or
        connected) at `now` on its own clock: at least `floor` seconds on, and after
        every turn booked before it."""
        self._vms.set(host_id, vms)
        with self._lock:
            start = max(now + self.floor, self._free)
            self._free = start + vms / self.per_second
            return start

    def forget(self, host_id: str) -> None:
        self._vms.forget(host_id)

    @property
    def total(self) -> int:
        """The VMs of every host, as each last booked."""
        return self._vms.total

    def period(self) -> float:
        """About how often each host is rechecked now, in seconds."""
        return max(self.floor, self.total / self.per_second)


def recheck_words(budget: RecheckBudget) -> str:
    """'' while each host is rechecked every `floor` seconds; else how late a change
    with no libvirt event may show, for the status lines next to the tick budget's."""
    period = budget.period()
    if period <= budget.floor:
        return ""
    return (
        f"changes libvirt sends no event for (autostart, a shut-off VM's memory) "
        f"show within {period:.0f} s"
    )
