"""Live stats in the TUI: CPU cells and sparklines, pause and interval keys, the details screen.

The test-driver hosts have no bulk stats, so their CPU cells read "n/a" forever; the real
guest (qemu:///system) is what makes numbers change on screen. The details snapshot is fed
from a fixed, hand-made history with the ticker off, so it never changes between runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import libvirt
import pytest
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Static

from conftest import Testbed
from tui_helpers import host_loaded, until
from tvirt import config
from tvirt.cli import build_parser
from tvirt.history import Metric
from tvirt.model import VMState
from tvirt.screens.app import TvirtApp
from tvirt.screens.host_list import HOST_TREND_WIDTH, host_stats_lines
from tvirt.screens.messages import StatsArrived
from tvirt.screens.sparkline import BLOCKS, sparkline
from tvirt.screens.vm_detail import VMDetailScreen, axis_unit, segments, summary_text
from tvirt.screens.vm_table import TREND_WIDTH
from tvirt.stats import HostRates, StatsSnapshot, VMRates

FIXTURES = Path(__file__).parent / "fixtures"
LAB = f"test://{FIXTURES / 'lab.xml'}"
WEB01 = "00000000-0000-4000-8000-000000000001"
SIZE = (120, 36)


async def lab_loaded(pilot: Pilot[int]) -> None:
    await host_loaded(pilot, LAB, 6)


def status(app: TvirtApp) -> str:
    return str(app.dashboard.query_one("#status", Static).render())


# -- the sparkline and the words: pure ----------------------------------------------


def test_sparkline_scales_pads_and_gaps() -> None:
    assert sparkline([], 4) == "    "
    assert sparkline([0, 100], 4, high=100) == "  ▁█"
    assert sparkline([0, None, 50, 100], 4, high=100) == "▁ ▅█"
    assert sparkline([float("nan")], 2) == "  "
    assert sparkline([1, 2, 3, 4, 5, 6], 3, high=6) == "▆▇█"  # the newest points only
    assert sparkline([5, 5, 5], 3) == "███"  # scaled from 0 to the largest value shown
    assert sparkline([5, 5, 5], 3, low=5) == "▁▁▁"  # no span: lowest block, no ZeroDivision
    assert sparkline([-10, 200], 2, high=100) == "▁█"  # clamped
    assert sparkline([1, 2], 0) == ""


@pytest.mark.parametrize("values", [[], [0.0], [3.5, None, 99.0, 100.0], [None] * 30])
def test_sparkline_width_never_changes(values: list[float | None]) -> None:
    line = sparkline(values, 12, high=100)
    assert len(line) == 12
    assert set(line) <= set(BLOCKS) | {" "}


def test_graph_text_and_axes() -> None:
    from tvirt.history import Summary

    text = summary_text("Disk read", "rate", Summary(1536.0, 0.0, 768.0, 1536.0, 2))
    assert text.splitlines() == [
        "Disk read", "now 1.5 KiB/s", "min 0 Bytes/s", "avg 768 Bytes/s", "max 1.5 KiB/s",
    ]
    assert "now n/a" in summary_text("CPU use", "percent", None)
    assert axis_unit("percent", [50.0]) == ("%", 1.0)
    assert axis_unit("rate", [3 * 1024.0**2, None]) == ("MiB/s", 1024.0**2)
    assert axis_unit("bytes", [2 * 1024.0**2]) == ("GiB", 1024.0**2)  # KiB in, GiB out
    assert segments([1, 2, 3, 4], [1.0, None, 3.0, 4.0]) == [([1], [1.0]), ([3, 4], [3.0, 4.0])]


def test_host_lines_read_as_numbers() -> None:
    rates = HostRates(cpus=4, cpu_percent=12.34, memory_total_kib=16 * 1024**2,
                      memory_used_kib=4 * 1024**2, memory_percent=25.0)
    numbers, trend = host_stats_lines(rates, [10.0, 90.0])
    assert numbers == "CPU 12.3%, memory 4 GiB of 16 GiB (25.0%)"
    assert trend.startswith("CPU history ") and trend.endswith("▂▇")
    assert len(trend) == len("CPU history ") + HOST_TREND_WIDTH
    assert host_stats_lines(None, [])[0] == "CPU n/a, memory n/a"


# -- config and command line ------------------------------------------------------


def test_interval_flag_and_config_are_validated(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["--interval", "0.5"]).interval == 0.5
    assert build_parser().parse_args([]).interval is None
    for bad in ("0.1", "61", "soon"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["--interval", bad])
    assert "between 0.5 and 60 seconds" in capsys.readouterr().err
    path = tmp_path / "config.toml"
    path.write_text("[ui]\ninterval = 5\nhistory_minutes = 30\n")
    cfg = config.load(path)
    assert (cfg.interval, cfg.history_minutes) == (5.0, 30.0)
    assert config.load(tmp_path / "none.toml").history_minutes == 10.0
    path.write_text("[ui]\ninterval = 0.1\n")
    with pytest.raises(config.ConfigError, match=r"between 0\.5 and 60 seconds, not 0\.1"):
        config.load(path)
    path.write_text('[ui]\nhistory_minutes = "long"\n')
    with pytest.raises(config.ConfigError, match="history_minutes"):
        config.load(path)


# -- coalescing -------------------------------------------------------------------


def snap(host_id: str, seq: int, wall: float = 0.0, vms: tuple[VMRates, ...] = (),
         host: HostRates | None = None) -> StatsSnapshot:
    return StatsSnapshot(host_id=host_id, seq=seq, time=wall, wall=wall, elapsed=2.0,
                         bulk=True, host=host or HostRates(cpus=2), vms=vms)


def test_a_newer_snapshot_of_the_same_host_replaces_an_older_one() -> None:
    old, new = StatsArrived(snap("a", 1)), StatsArrived(snap("a", 2))
    assert old.can_replace(new)
    assert not new.can_replace(old)
    assert not old.can_replace(StatsArrived(snap("b", 2)))  # another host: both handled
    assert not old.can_replace(Message())


# -- on screen ----------------------------------------------------------------------


async def test_pause_resume_and_interval_keys() -> None:
    app = TvirtApp(uris=[LAB], interval=2.0)
    async with app.run_test(size=SIZE) as pilot:
        await lab_loaded(pilot)
        await until(pilot, lambda: LAB in app.manager.tickers, "a ticker for the lab host")
        ticker = app.manager.tickers[LAB]
        await until(pilot, lambda: LAB in app.latest, "the first tick")
        assert "stats live, every 2 s" in status(app)
        # The test driver has no bulk stats: the CPU cell says so in words.
        key = f"{LAB}/{WEB01}"
        assert str(app.dashboard.table.get_cell(key, "cpu")) == "n/a"

        await pilot.press("P")
        assert app.stats_paused and ticker.paused
        assert "stats paused" in status(app)
        seq = app.latest[LAB].seq
        await pilot.pause(0.5)
        assert app.latest[LAB].seq <= seq + 1  # at most the tick that was in flight

        await pilot.press("P")
        assert not ticker.paused and "stats live" in status(app)
        await until(pilot, lambda: app.latest[LAB].seq > seq + 1, "ticks again after resume")

        await pilot.press("plus")
        assert ticker.interval == 1.0 and app.history.interval == 1.0
        assert "every 1 s" in status(app)
        await pilot.press("plus")  # already the fastest step
        assert ticker.interval == 1.0
        await pilot.press("minus", "minus", "minus")
        assert ticker.interval == 10.0 and "every 10 s" in status(app)
        await pilot.press("minus")
        assert ticker.interval == 10.0
        assert any("Live stats now every 10 s" in m for m in app.messages)


async def test_removing_a_host_stops_its_ticker_first() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=SIZE) as pilot:
        await lab_loaded(pilot)
        await until(pilot, lambda: LAB in app.manager.tickers, "a ticker")
        ticker = app.manager.tickers[LAB]
        app.remove_connection(LAB)
        assert LAB not in app.manager.tickers and ticker.due is None
        assert app.history.host_values(LAB, Metric.CPU) == []


async def test_stats_off_starts_no_ticker() -> None:
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await lab_loaded(pilot)
        await pilot.pause(0.2)
        assert app.manager.tickers == {} and "stats off" in status(app)


async def test_hidden_rows_and_screens_are_not_redrawn() -> None:
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await lab_loaded(pilot)
        table = app.dashboard.table
        web01, db01 = f"{LAB}/{WEB01}", f"{LAB}/00000000-0000-4000-8000-000000000003"
        await pilot.press("slash", *"web01", "enter")
        await until(pilot, lambda: table.row_count == 1, "filtered to web01")
        vms = (VMRates(WEB01, "web01", VMState.RUNNING, cpu_percent=40.0),
               VMRates(db01.rpartition("/")[2], "db01", VMState.RUNNING, cpu_percent=70.0))
        one = snap(LAB, 1, 100.0, vms)
        app.history.add(one)
        assert table.show_stats(one, app.history) == 2  # web01's CPU and history cells only
        assert str(table.get_cell(web01, "cpu")) == "40.0%"
        assert db01 not in table.rows
        # The filtered-out row comes back with the latest number, drawn from history.
        await pilot.press("slash", *["backspace"] * 5, "enter")
        await until(pilot, lambda: table.row_count == 6, "filter cleared")
        assert str(table.get_cell(db01, "cpu")) == "70.0%"
        assert str(table.get_cell(db01, "trend")).endswith(sparkline([70.0], 1, high=100))

        # With the details screen up, the dashboard is not touched until it is back.
        table.move_cursor(row=table.get_row_index(web01))
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, VMDetailScreen), "details")
        two = snap(LAB, 2, 102.0, (VMRates(WEB01, "web01", VMState.RUNNING, cpu_percent=5.0),))
        app.history.add(two)
        app.post_message(StatsArrived(two))
        await pilot.pause(0.1)
        assert str(table.get_cell(web01, "cpu")) == "40.0%"
        numbers = str(app.screen.query_one("#graph-cpu .graph-numbers", Static).render())
        assert "now 5.0%" in numbers and "max 40.0%" in numbers
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "back on the dashboard")
        await until(pilot, lambda: str(table.get_cell(web01, "cpu")) == "5.0%", "caught up")


# -- the details screen, from a fixed history -----------------------------------------


def fixed_history(app: TvirtApp) -> None:
    """Two minutes of made-up but plausible numbers for web01, one point every 2 s."""
    base = 1_800_000_000.0
    for i in range(60):
        cpu = 50 + 40 * math.sin(i / 6)
        rates = VMRates(
            WEB01, "web01", VMState.RUNNING, vcpus=2,
            cpu_percent=None if 20 <= i < 23 else cpu,  # a gap: a reconnect, say
            memory_used_kib=(300 + 3 * i) * 1024, memory_rss_kib=600 * 1024,
            disk_read_bps=(i % 10) * 200 * 1024.0, disk_write_bps=50 * 1024.0,
            net_rx_bps=1024.0 * (60 - i), net_tx_bps=2048.0 + 1024.0 * math.cos(i / 4),
        )
        host = HostRates(cpus=4, cpu_percent=cpu / 2, memory_total_kib=8 * 1024**2,
                         memory_used_kib=3 * 1024**2, memory_percent=37.5)
        s = snap(LAB, i + 1, base + 2 * i, (rates,), host)
        app.history.add(s)
        app.latest[LAB] = s


def test_details_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def open_details(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, TvirtApp)
        await lab_loaded(pilot)
        fixed_history(app)
        table = app.dashboard.table
        table.move_cursor(row=table.get_row_index(f"{LAB}/{WEB01}"))
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, VMDetailScreen), "details")
        await pilot.pause()

    app = TvirtApp(uris=[LAB], stats=False)
    assert snap_compare(app, terminal_size=(120, 40), run_before=open_details)


# -- the real guest: numbers change on screen -------------------------------------------


@pytest.mark.real
async def test_real_guest_cpu_cell_goes_from_na_to_a_number(testbed: Testbed,
                                                              guest: str) -> None:
    conn = libvirt.open(testbed.qemu_uri)
    try:
        dom = conn.lookupByName(guest)
        key = f"{testbed.qemu_uri}/{dom.UUIDString()}"
        app = TvirtApp(uris=[testbed.qemu_uri], interval=0.5)
        async with app.run_test(size=SIZE) as pilot:
            table = app.dashboard.table
            await until(pilot, lambda: key in table.rows, "the guest listed", 30)
            assert str(table.get_cell(key, "cpu")) == "n/a"  # shut off: no rate
            dom.create()
            await until(pilot, lambda: str(table.get_cell(key, "cpu")).endswith("%"),
                        "a CPU percentage for the running guest", 30)
            seen = {str(table.get_cell(key, "cpu"))}
            trend = str(table.get_cell(key, "trend"))
            assert len(trend) == TREND_WIDTH and set(trend) & set(BLOCKS)
            # It keeps ticking: the history grows and the cell is redrawn from it.
            before = app.history.vm_summary(key, Metric.CPU)
            assert before is not None
            await until(pilot, lambda: (s := app.history.vm_summary(key, Metric.CPU))
                        is not None and s.known > before.known, "more points", 10)
            seen.add(str(table.get_cell(key, "cpu")))
            assert all(text.endswith("%") for text in seen)
            # The host entry shows real numbers too.
            host = app.latest[testbed.qemu_uri].host
            assert host.cpu_percent is not None and host.memory_used_kib is not None
            entry = str(app.dashboard.host_list.get_option(testbed.qemu_uri).prompt)
            assert "CPU n/a" not in entry and "memory n/a" not in entry
            # The details screen shows the same numbers as text beside its graphs.
            table.move_cursor(row=table.get_row_index(key))
            await pilot.press("i")
            await until(pilot, lambda: isinstance(app.screen, VMDetailScreen), "details")
            numbers = str(app.screen.query_one("#graph-cpu .graph-numbers", Static).render())
            assert "now " in numbers and "%" in numbers
            await pilot.press("escape")
    finally:
        try:
            dom = conn.lookupByName(guest)
            if dom.isActive():
                dom.destroy()
        finally:
            conn.close()


def test_history_reads_only_the_newest_points_when_asked() -> None:
    from tvirt.history import Rings, StatsHistory

    rings = Rings(["a"], 5)
    for i in range(7):
        rings.push([float(i)])
    assert rings.values("a") == [2.0, 3.0, 4.0, 5.0, 6.0]
    assert rings.values("a", 2) == [5.0, 6.0]
    assert rings.values("a", 0) == []
    assert rings.values("a", 99) == [2.0, 3.0, 4.0, 5.0, 6.0]
    history = StatsHistory(2.0)
    for i in range(4):
        history.add(snap("h", i + 1, float(i), (VMRates("u", "vm", VMState.RUNNING,
                                                        cpu_percent=float(i)),)))
    assert history.vm_values("h/u", Metric.CPU, last=2) == [2.0, 3.0]
    assert history.host_values("h", Metric.CPU, last=3) == [None, None, None]


async def test_an_unchanged_tick_does_no_per_vm_work_in_the_table() -> None:
    # A real test-driver host read by the real sampler, in this process: its records
    # never change unless we change a VM, so the second tick is all steady.
    import asyncio

    from tvirt.stats import SteadyRates, snapshot
    from tvirt.ticker import HostSampler

    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await lab_loaded(pilot)
        table = app.dashboard.table
        conn = await asyncio.to_thread(libvirt.open, LAB)
        sampler, memo = HostSampler(), SteadyRates()
        first = await asyncio.to_thread(sampler, conn)
        second = await asyncio.to_thread(sampler, conn)
        one = snapshot(LAB, None, first, steady=memo)
        two = snapshot(LAB, first, second, seq=2, steady=memo)
        assert len(two.vms) == 6 and len(two.steady) == 6
        table.show_stats(one, app.history)
        before = table.stats_visits
        table.show_stats(two, app.history)
        assert table.stats_visits == before  # nothing changed: no VM visited
        web01 = await asyncio.to_thread(conn.lookupByUUIDString, WEB01)
        await asyncio.to_thread(web01.suspend)
        third = await asyncio.to_thread(sampler, conn)
        three = snapshot(LAB, second, third, seq=3, steady=memo)
        table.show_stats(three, app.history)
        assert table.stats_visits == before + 1  # only the suspended VM
        await asyncio.to_thread(conn.close)
