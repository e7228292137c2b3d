"""The slow recheck's shared budget (tvirt.recheck): at fifty hosts of 200 VMs the whole
app re-lists about VMS_PER_SECOND VMs a second, evenly spread; one small host keeps 30 s."""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

from conftest import Recorder, wait_for
from tvirt.host import RECHECK_INTERVAL, HostWorker
from tvirt.manager import HostManager
from tvirt.recheck import VMS_PER_SECOND, RecheckBudget, recheck_words
from tvirt.uri import parse_uri


def test_one_small_host_is_rechecked_every_thirty_seconds() -> None:
    budget = RecheckBudget(RECHECK_INTERVAL)
    assert budget.book("h", 200, 0.0) == 30.0  # after connecting
    assert budget.book("h", 200, 30.0) == 60.0
    assert budget.book("h", 200, 60.0) == 90.0
    assert budget.period() == 30.0


def test_fifty_hosts_share_one_rate_and_are_spread() -> None:
    budget = RecheckBudget(RECHECK_INTERVAL)
    due = {f"h{i}": budget.book(f"h{i}", 200, 0.0) for i in range(50)}
    # All connected at once: their first rechecks follow each other, 2 s apart.
    assert sorted(due.values()) == [30.0 + 2.0 * i for i in range(50)]
    assert budget.period() == 10_000 / VMS_PER_SECOND == 100.0
    # Run the rechecks in order for a few rounds, as the workers would.
    done: list[tuple[float, str]] = []
    while len(done) < 400:
        host = min(due, key=lambda h: due[h])
        now = due[host]
        done.append((now, host))
        due[host] = budget.book(host, 200, now)
        assert due[host] >= now + RECHECK_INTERVAL
    times = [t for t, _h in done]
    assert all(b - a >= 2.0 - 1e-9 for a, b in pairwise(times))
    last: dict[str, float] = {}
    for t, host in done[50:]:  # after the first round, each host every 100 s
        if host in last:
            assert abs(t - last[host] - 100.0) < 1e-6
        last[host] = t
    # Never more than the rate's VMs in any 100 s: one window's rechecks, 200 VMs each.
    for start, _host in done:
        inside = sum(1 for t, _h in done if start <= t < start + 100.0)
        assert inside * 200 <= 100.0 * VMS_PER_SECOND


def test_a_forgotten_host_no_longer_counts() -> None:
    budget = RecheckBudget(RECHECK_INTERVAL)
    budget.book("big", 9_000, 0.0)
    budget.book("small", 1_000, 0.0)
    assert budget.total == 10_000 and budget.period() == 100.0
    budget.forget("big")
    assert budget.total == 1_000 and budget.period() == RECHECK_INTERVAL


class FakeClock:
    """The worker's monotonic clock, moved by hand: no test waits out a recheck."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_worker_books_its_recheck_on_the_shared_budget(
    node_xml: Callable[[int], str],
) -> None:
    budget = RecheckBudget(RECHECK_INTERVAL)
    budget.book("another host", 10_000, 0.0)  # rechecks at 30 s, for 100 s of the rate
    clock = FakeClock()
    rec = Recorder()
    worker = HostWorker(parse_uri(node_xml(10)), rec, clock=clock, rechecks=budget)

    def settle() -> None:
        # The worker looks at the clock before each job: after two, it has seen it now.
        for _ in range(2):
            worker.call(lambda _conn: None).exception(10)

    worker.start()
    try:
        wait_for(lambda: worker.uri.uri in rec.inventory.listed, 10, "the listing")
        assert worker.next_recheck == 130.0  # after the other host's turn, not at 30 s
        clock.now = 129.0
        settle()
        assert worker.next_recheck == 130.0  # not yet
        clock.now = 130.0
        settle()
        # Rechecked: the next turn 30 s on (the floor), its own turn lasting 0.1 s.
        assert worker.next_recheck == 160.0
        assert budget.total == 10_010
    finally:
        worker.stop()


def test_the_managers_hosts_share_one_budget(node_xml: Callable[[int], str]) -> None:
    rec = Recorder()
    manager = HostManager(rec)
    try:
        first, second = node_xml(10), node_xml(20)
        manager.add_all([first, second])
        wait_for(lambda: {first, second} <= set(rec.inventory.listed), 10, "the listings")
        assert manager.rechecks.total == 30
        manager.remove(second)
        assert manager.rechecks.total == 10
    finally:
        manager.stop()


def test_the_words_say_how_late_an_outside_change_may_show() -> None:
    budget = RecheckBudget(RECHECK_INTERVAL)
    budget.book("small", 2_000, 0.0)
    assert recheck_words(budget) == ""  # every 30 s, as ever: nothing to say
    budget.book("big", 10_000, 0.0)
    assert recheck_words(budget).endswith("show within 120 s")


async def test_the_status_line_says_it_at_ten_thousand_vms() -> None:
    from textual.widgets import Static

    from tui_helpers import host_loaded
    from tvirt.screens.app import TvirtApp

    lab = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
    app = TvirtApp(uris=[lab])
    async with app.run_test(size=(160, 36)) as pilot:
        await host_loaded(pilot, lab, 6)

        def status() -> str:
            return str(app.dashboard.query_one("#status", Static).render())

        assert "show within" not in status()
        # The budget as fifty hosts of 200 VMs would book it (no such fleet here).
        for i in range(50):
            app.manager.rechecks.book(f"host{i}", 200, 0.0)
        app.refresh_stats_status()
        await pilot.pause()
        assert "(autostart, a shut-off VM's memory) show within 100 s" in status()
