"""HostManager owns the stats tickers: one per host, stopped before its worker."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from conftest import Testbed, wait_for
from tvirt.manager import HostManager
from tvirt.stats import StatsSnapshot
from tvirt.updates import Update

LAB_FILE = Path(__file__).parent / "fixtures" / "lab.xml"
LAB = f"test://{LAB_FILE}"


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


@pytest.mark.real
def test_a_ticker_survives_a_lost_connection_and_rebases_after_it(testbed: Testbed) -> None:
    from test_faults import _ssh_children

    from tvirt.model import HostState
    from tvirt.updates import HostChanged

    # The lab file served by the test bed's libvirtd over ssh, so the connection can be
    # really lost: killing the ssh client libvirt spawned makes libvirt's close callback
    # fire (EOF). It drops only this test's connection, where restarting the shared
    # libvirtd would drop every other test's too.
    updates: list[Update] = []
    manager = HostManager(updates.append)  # reconnects, like the TUI
    snaps: list[StatsSnapshot] = []
    others = {p.pid for p in _ssh_children()}
    try:
        worker = manager.add(f"test+ssh://root@127.0.0.1:{testbed.ssh_port}{LAB_FILE}")
        host = worker.host_id
        ticker = manager.watch_stats(host, snaps.append, 0.5)
        wait_for(lambda: len(snaps) >= 2, 30, "ticks before the drop")
        (ssh,) = _ssh_children(others)
        ssh.kill()
        wait_for(lambda: any(isinstance(u, HostChanged) and u.host.state is HostState.DISCONNECTED
                             for u in updates), 30, "the host to show disconnected")
        wait_for(lambda: ticker.errors > 0, 30, "a tick failing while disconnected")
        before = len(snaps)
        wait_for(lambda: len(snaps) > before + 1, 60, "ticks again after reconnecting")
        # A new connection, not the old one.
        assert [p for p in _ssh_children(others) if p.pid != ssh.pid]
        assert manager.tickers[host] is ticker  # the same ticker, never restarted
        # The first sample after the gap is a new base: no rate spans the outage.
        assert snaps[before].elapsed is None
    finally:
        manager.stop()
