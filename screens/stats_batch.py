"""Stats ticks of every host, handed to the event loop in batches.

Each host's tick used to post its own message: fifty hosts at a 2 s tick woke the event
loop 25 times a second (a write to asyncio's self-pipe from the worker, a wake-up, one
Textual dispatch), about 1.4 ms a tick in all (docs/performance.md, "Fifth round").
Now a tick only puts its snapshot in this mailbox, under a lock; the first one into an
empty mailbox asks the event loop for one flush, which comes BATCH_DELAY seconds later
and takes every snapshot that arrived meanwhile, the newest of each host. So the loop
wakes at most 1 / BATCH_DELAY times a second for stats, however many hosts tick.
Nothing is lost that matters: the history was fed on the worker thread before put().
"""

from __future__ import annotations

import threading

from textual.message import Message

from tvirt.stats import StatsSnapshot

# Far below the shortest tick interval (0.5 s) and below what the eye tells apart on
# figures that change every few seconds; a larger delay would batch more ticks.
BATCH_DELAY = 0.25


class StatsMailbox:
    """Thread-safe: workers put(), the event loop take()s."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, StatsSnapshot] = {}  # host_id -> its newest snapshot
        self._armed = False  # a flush was asked for and has not taken yet
        self.flushes = 0  # how many take()s found snapshots: the batches handed over

    def put(self, snap: StatsSnapshot) -> bool:
        """Keep the snapshot (a newer one of the same host replaces an older); True when
        the caller must ask for a flush (none is on its way)."""
        with self._lock:
            old = self._pending.get(snap.host_id)
            if old is None or snap.seq >= old.seq:
                self._pending[snap.host_id] = snap
            if self._armed:
                return False
            self._armed = True
            return True

    def take(self) -> list[StatsSnapshot]:
        """Every snapshot waiting, oldest put first; the next put() asks again."""
        with self._lock:
            snaps = list(self._pending.values())
            self._pending.clear()
            self._armed = False
        if snaps:
            self.flushes += 1
        return snaps


class StatsDue(Message):
    """Snapshots wait in the app's StatsMailbox: flush them in BATCH_DELAY seconds."""
