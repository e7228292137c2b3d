"""Fifty hosts' ticks (issue 20): spread over the interval, and unchanged VM records
reused from one tick to the next instead of parsed and rated again. Real test-driver
connections; the clock is fake where which tick fires when is the property checked."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from test_stats_ticker import FakeClock, Snaps, connect  # noqa: F401  (fixture)

from conftest import wait_for
from tvirt.host import HostWorker
from tvirt.stats import SteadyRates, snapshot
from tvirt.ticker import GATHER, PHASE_STEP, HostSampler, StatsTicker, TickScheduler


@pytest.fixture
def spread_clock() -> Iterator[tuple[FakeClock, TickScheduler]]:
    clock = FakeClock()
    sched = TickScheduler(clock, spread=True)
    yield clock, sched
    sched.stop()


def test_each_host_keeps_its_own_place_in_the_interval(
    connect: Callable[[str], HostWorker],  # noqa: F811
    node_xml: Callable[[int], str],
    spread_clock: tuple[FakeClock, TickScheduler],
) -> None:
    clock, sched = spread_clock
    workers = [connect(node_xml(n)) for n in (2, 3, 4)]
    tickers = [StatsTicker(w, Snaps(), interval=2.0, scheduler=sched) for w in workers]
    for ticker in tickers:
        ticker.start()
    # The first tick of every host is at once; the next ones are spread apart.
    wait_for(lambda: all(t.samples == 1 for t in tickers), 30, "every first tick")
    phases = [t.phase for t in tickers]
    assert phases == [0.0, PHASE_STEP, (2 * PHASE_STEP) % 1.0]
    dues = [t.due for t in tickers]
    assert dues == [pytest.approx(2.0 * (1 + p)) for p in phases]
    # Once due, each keeps its place: a whole interval after its own last tick.
    clock.advance(2.0 * (1 + phases[2]))  # 2.47 s: past the first host's due and the third's
    sched.wake()
    wait_for(lambda: tickers[0].samples == 2 and tickers[2].samples == 2, 30, "second ticks")
    assert tickers[1].samples == 1  # due at 5.24 s
    assert tickers[2].due == pytest.approx(2.0 * (2 + phases[2]))
    assert tickers[0].due == pytest.approx(4.0)


def test_a_plain_scheduler_ticks_in_step(
    connect: Callable[[str], HostWorker],  # noqa: F811
    node_xml: Callable[[int], str],
) -> None:
    sched = TickScheduler(FakeClock())
    try:
        tickers = [StatsTicker(connect(node_xml(n)), Snaps(), interval=1.0, scheduler=sched)
                   for n in (2, 3)]
        for ticker in tickers:
            ticker.start()
        wait_for(lambda: all(t.samples == 1 for t in tickers), 30, "every first tick")
        assert [t.due for t in tickers] == [1.0, 1.0]
    finally:
        sched.stop()


def test_unchanged_records_are_reused_and_rated_once(
    connect: Callable[[str], HostWorker],  # noqa: F811
) -> None:
    worker = connect("test:///default")
    sampler = HostSampler()
    first = worker.call(sampler).result(30)
    second = worker.call(sampler).result(30)
    # The test driver's records never change: the same DomainSample objects come back.
    assert [a is b for a, b in zip(first.domains, second.domains, strict=True)] == [True] * len(
        first.domains
    )
    steady: SteadyRates = {}
    plain = snapshot("h", first, second)
    kept = snapshot("h", first, second, steady=steady)
    assert kept.vms == plain.vms
    assert set(steady) == {d.uuid for d in second.domains}
    third = worker.call(sampler).result(30)
    again = snapshot("h", second, third, steady=steady)
    # The rates of an unchanged VM are the very object computed last tick.
    assert all(a is b for a, b in zip(again.vms, kept.vms, strict=True))
    # ... and the snapshot says so, for the UI to skip them.
    assert again.steady == {d.uuid for d in third.domains}
    assert snapshot("h", None, first).steady == frozenset()
    # A VM whose record changes is parsed and rated afresh.
    name = second.domains[0].name
    worker.call(lambda conn: conn.lookupByName(name).suspend()).result(30)
    try:
        fourth = worker.call(sampler).result(30)
        changed = snapshot("h", third, fourth, steady=steady)
        assert fourth.domains[0] is not third.domains[0]
        assert changed.vms[0].state.word == "paused"
        assert changed.vms[0] is not again.vms[0]
        assert changed.steady == {d.uuid for d in fourth.domains} - {fourth.domains[0].uuid}
    finally:
        worker.call(lambda conn: conn.lookupByName(name).resume()).result(30)


def test_ticks_due_close_together_fire_in_one_wake_up(
    connect: Callable[[str], HostWorker],  # noqa: F811
    node_xml: Callable[[int], str],
    spread_clock: tuple[FakeClock, TickScheduler],
) -> None:
    clock, sched = spread_clock
    tickers = [StatsTicker(connect(node_xml(n)), Snaps(), interval=0.05, scheduler=sched)
               for n in (2, 3, 4)]
    for ticker in tickers:
        ticker.start()
    wait_for(lambda: all(t.samples == 1 for t in tickers), 30, "every first tick")
    dues = [t.due for t in tickers]
    assert dues == [pytest.approx(0.05 * (1 + t.phase)) for t in tickers]
    assert max(dues) - min(dues) < GATHER  # type: ignore[operator]
    wakes = sched.wakes
    clock.advance(min(dues))  # type: ignore[type-var]
    sched.wake()
    wait_for(lambda: all(t.samples == 2 for t in tickers), 30, "the second ticks")
    assert sched.wakes == wakes + 1  # all three in one wake-up, the later two a bit early
    # Each keeps its own place: the next due is a whole interval after its own due.
    assert [t.due for t in tickers] == [pytest.approx(d + 0.05) for d in dues]
