"""HostManager owns the stats tickers: one per host, stopped before its worker."""

from __future__ import annotations

import threading
from pathlib import Path

from conftest import wait_for
from tvirt.manager import HostManager
from tvirt.stats import StatsSnapshot
from tvirt.updates import Update

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"


def test_watch_stats_ticks_and_stop_stops_tickers_before_workers() -> None:
    updates: list[Update] = []
    manager = HostManager(updates.append, reconnect=False)
    snaps: list[StatsSnapshot] = []
    lock = threading.Lock()

    def got(snap: StatsSnapshot) -> None:
        with lock:
            snaps.append(snap)

    try:
        manager.add(LAB)
        ticker = manager.watch_stats(LAB, got, 0.5)
        assert manager.watch_stats(LAB, got, 0.5) is ticker  # one ticker per host
        wait_for(lambda: len(snaps) >= 2, 10, "two stats ticks")
        assert snaps[0].host_id == LAB and len(snaps[-1].vms) == 6
    finally:
        manager.stop()
    assert manager.tickers == {} and ticker.due is None
    assert ticker.wait_idle(5)
    count = len(snaps)
    threading.Event().wait(1.2)
    assert len(snaps) == count  # no tick after stop


def test_paused_watch_does_not_tick_until_resumed() -> None:
    manager = HostManager(lambda _u: None, reconnect=False)
    snaps: list[StatsSnapshot] = []
    try:
        manager.add(LAB)
        ticker = manager.watch_stats(LAB, snaps.append, 0.5, paused=True)
        threading.Event().wait(0.8)
        assert snaps == [] and ticker.paused
        ticker.resume()
        wait_for(lambda: snaps, 10, "a tick after resume")
        manager.remove(LAB)
        assert LAB not in manager.tickers and ticker.due is None
    finally:
        manager.stop()


def test_a_ticker_survives_a_lost_connection_and_rebases_after_it() -> None:
    from tvirt.model import HostState
    from tvirt.updates import HostChanged

    updates: list[Update] = []
    manager = HostManager(updates.append)  # reconnects, like the TUI
    snaps: list[StatsSnapshot] = []
    try:
        worker = manager.add(LAB)
        ticker = manager.watch_stats(LAB, snaps.append, 0.5)
        wait_for(lambda: len(snaps) >= 2, 10, "ticks before the drop")
        # What libvirt's close callback does when the daemon goes away.
        worker._on_close(None, 0, worker._generation)
        wait_for(lambda: ticker.errors > 0, 10, "a tick failing while disconnected")
        assert any(isinstance(u, HostChanged) and u.host.state is HostState.DISCONNECTED
                   for u in updates)
        before = len(snaps)
        wait_for(lambda: len(snaps) > before + 1, 15, "ticks again after reconnecting")
        assert manager.tickers[LAB] is ticker  # the same ticker, never restarted
        # The first sample after the gap is a new base: no rate spans the outage.
        assert snaps[before].elapsed is None
    finally:
        manager.stop()
