"""Each host's latest VM count and their sum, shared by the budgets that scale with the
app's whole VM count (tvirt/tiers.py, tvirt/recheck.py). Thread-safe: host workers set
their own count, any thread reads the total."""

from __future__ import annotations

import threading


class HostCounts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}  # host_id -> its VMs, as last counted

    def set(self, host_id: str, vms: int) -> None:
        with self._lock:
            self._counts[host_id] = vms

    def forget(self, host_id: str) -> None:
        with self._lock:
            self._counts.pop(host_id, None)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())
