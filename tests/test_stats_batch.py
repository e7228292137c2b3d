"""Stats ticks reach the screens in batches (screens/stats_batch.py): the event loop wakes
once for every host that ticked within BATCH_DELAY, not once a tick."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Static

from tui_helpers import host_loaded, until
from tvirt.history import Metric
from tvirt.model import VMState
from tvirt.screens.app import TvirtApp
from tvirt.screens.stats_batch import StatsMailbox
from tvirt.stats import HostRates, StatsSnapshot, VMRates

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
WEB01 = "00000000-0000-4000-8000-000000000001"


def snap(host_id: str, seq: int, cpu: float = 0.0) -> StatsSnapshot:
    vms = (VMRates(WEB01, "web01", VMState.RUNNING, cpu_percent=cpu),)
    return StatsSnapshot(host_id=host_id, seq=seq, time=float(seq), wall=100.0 + seq,
                         elapsed=2.0, bulk=True, host=HostRates(cpus=2), vms=vms)


def test_only_the_first_tick_into_an_empty_mailbox_asks_for_a_flush() -> None:
    box = StatsMailbox()
    assert box.put(snap("a", 1))
    assert not box.put(snap("b", 1))
    assert not box.put(snap("a", 2))
    assert not box.put(snap("a", 1))  # late and older: the newer one stays
    taken = box.take()
    assert [(s.host_id, s.seq) for s in taken] == [("a", 2), ("b", 1)]
    assert box.flushes == 1 and box.take() == [] and box.flushes == 1
    assert box.put(snap("b", 2))  # emptied: the next tick asks again


async def test_ticks_from_the_workers_reach_the_table_in_one_batch() -> None:
    # stats=False: no ticker runs, so the ticks below are the only ones.
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await host_loaded(pilot, LAB, 6)
        table = app.dashboard.table
        shown: list[str] = []
        show = app.dashboard.show_stats
        app.dashboard.show_stats = lambda s: (shown.append(s.host_id), show(s))[1]  # type: ignore[method-assign]

        def ticks() -> None:  # on a thread, as the hosts' workers call it
            app._on_stats(snap(LAB, 1, 40.0))
            app._on_stats(snap(LAB, 2, 5.0))

        await asyncio.to_thread(ticks)
        key = f"{LAB}/{WEB01}"
        await until(pilot, lambda: str(table.get_cell(key, "cpu")) == "5.0%", "the batch")
        assert shown == [LAB] and app.stats_box.flushes == 1  # one redraw for both ticks
        assert app.history.vm_values(key, Metric.CPU, last=2) == [40.0, 5.0]  # none lost

        # Paused (P) while a batch waits: the screens stay as they are.
        app.set_stats_paused(True)
        await asyncio.to_thread(app._on_stats, snap(LAB, 3, 70.0))
        await until(pilot, lambda: app.stats_box.flushes == 2, "the paused batch taken")
        assert str(table.get_cell(key, "cpu")) == "5.0%" and shown == [LAB]
        assert "paused" in str(app.dashboard.query_one("#status", Static).render())
