"""The tick budget: above it each host's tick reads a rotating slice of its VMs plus the
watched ones; VMs a tick did not read are not removed (snapshot, history, table); a VM's
CPU % spans its own two samples; the setting is set, saved and set back.

The sampler runs on real test-driver connections (tests/fixtures/lab.xml, 6 VMs). The
CPU % test builds its samples by hand: the test driver reports no CPU time.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libvirt
import pytest
from textual.widgets import Static

from conftest import Recorder, wait_for
from tui_helpers import host_loaded, until
from tvirt import config
from tvirt.history import Metric, StatsHistory
from tvirt.host import HostWorker
from tvirt.model import VMState
from tvirt.rolling import VMLast, rolling_snapshot
from tvirt.screens.app import TvirtApp
from tvirt.screens.form import FormDialog
from tvirt.screens.stats_limit import ask_limit, set_limit
from tvirt.stats import DomainSample, HostSample, StatsSnapshot
from tvirt.ticker import NOWAIT, HostSampler
from tvirt.tiers import StatsTiers
from tvirt.updates import DomainRemoved
from tvirt.uri import parse_uri

FIXTURES = Path(__file__).parent / "fixtures"
LAB = f"test://{FIXTURES / 'lab.xml'}"
HOST = "lab"
WEB01 = "00000000-0000-4000-8000-000000000001"
BUILD01 = "00000000-0000-4000-8000-000000000005"
ALL = {f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 7)}


@pytest.fixture
def conn() -> libvirt.virConnect:
    c = libvirt.open(LAB)  # private to this test: the test driver keeps it in memory
    yield c
    c.close()


class Ticks:
    """A host's ticks as the ticker makes them: sampler, rolling snapshot, history."""

    def __init__(self, conn: libvirt.virConnect, tiers: StatsTiers) -> None:
        self.conn = conn
        self.sampler = HostSampler(tiers=tiers, host_id=HOST, known_vcpus=lambda uuid: 1)
        self.last: VMLast = {}
        self.prev: HostSample | None = None
        self.history = StatsHistory()
        self.seq = 0

    def tick(self) -> tuple[HostSample, StatsSnapshot]:
        sample = self.sampler(self.conn)
        self.seq += 1
        snap = rolling_snapshot(HOST, self.prev, sample, self.last, seq=self.seq)
        self.prev = sample
        self.history.add(snap)
        return sample, snap

    def kept(self) -> set[str]:
        return {key.rpartition("/")[2] for key in self.history.vm_keys()}


def read(snap: StatsSnapshot) -> set[str]:
    return {vm.uuid for vm in snap.vms}


def test_each_round_reads_every_vm_once_and_keeps_the_others(
    conn: libvirt.virConnect,
) -> None:
    tiers = StatsTiers(limit=1000, budget=2)
    ticks = Ticks(conn, tiers)
    sample, snap = ticks.tick()  # no host counted yet: the first tick reads every VM
    assert not sample.partial and snap.covered is None and read(snap) == ALL
    assert tiers.every() == 3  # 6 VMs, 2 a tick

    for _round in range(2):
        seen: list[set[str]] = []
        for step in range(3):
            sample, snap = ticks.tick()
            assert sample.partial and snap.covered == read(snap)
            # The round's first tick lists the host; the others do not.
            assert (sample.listed == ALL) if step == 0 else sample.listed is None
            assert snap.removed == ()
            assert ticks.kept() == ALL  # the VMs not read keep their history
            seen.append(read(snap))
        assert [len(s) for s in seen] == [2, 2, 2]
        assert set().union(*seen) == ALL


def test_a_watched_vm_is_read_every_tick(conn: libvirt.virConnect) -> None:
    tiers = StatsTiers(limit=1000, budget=2)
    ticks = Ticks(conn, tiers)
    ticks.tick()
    tiers.watch(f"{HOST}/{WEB01}")
    for _ in range(4):
        _sample, snap = ticks.tick()
        assert WEB01 in read(snap)
        assert len(read(snap) - {WEB01}) <= 2
    tiers.unwatch(f"{HOST}/{WEB01}")
    missed = 0
    for _ in range(3):
        _sample, snap = ticks.tick()
        missed += WEB01 not in read(snap)
    assert missed == 2  # once a round again


def test_a_host_with_fewer_vms_than_ticks_in_the_round(conn: libvirt.virConnect) -> None:
    """Other hosts make the round 11 ticks long: five of this host's slices are empty
    (libvirt refuses an empty list, so those ticks ask nothing), and none fails."""
    tiers = StatsTiers(limit=1000, budget=10)
    tiers.count("other-host", 100)
    ticks = Ticks(conn, tiers)
    seen = [read(ticks.tick()[1]) for _ in range(11)]  # already a round from the first
    assert tiers.every() == 11
    assert [len(s) for s in seen] == [1] * 6 + [0] * 5
    assert set().union(*seen) == ALL and ticks.kept() == ALL


def test_only_the_listing_removes_a_vm(conn: libvirt.virConnect) -> None:
    tiers = StatsTiers(limit=1000, budget=2)
    ticks = Ticks(conn, tiers)
    ticks.tick()
    ticks.tick()  # a round begins
    conn.lookupByUUIDString(BUILD01).undefine()  # shut off in the fixture
    for _ in range(2):  # the rest of the round: its slices skip the VM, nothing removed
        _sample, snap = ticks.tick()
        assert snap.removed == () and BUILD01 in ticks.kept()
    sample, snap = ticks.tick()  # the next round's listing
    assert sample.listed == ALL - {BUILD01}
    assert snap.removed == (BUILD01,)
    assert ticks.kept() == ALL - {BUILD01}


def _vm(cpu_ns: int) -> DomainSample:
    return DomainSample(
        uuid=WEB01, name="web01", state=VMState.RUNNING, dom_id=1, cpu_time_ns=cpu_ns, vcpus=1
    )


def _host(t: float, domains: tuple[DomainSample, ...], *, partial: bool) -> HostSample:
    return HostSample(time=t, wall=1000.0 + t, cpus=4, domains=domains, partial=partial)


def test_cpu_percent_spans_the_vms_own_two_samples() -> None:
    """Read at 0 s, not read at 2 s (another slice, or a skipped tick), read at 4 s with
    2 s of CPU time more: 50 % of its one vCPU over its own 4 s, not 100 % over the
    tick's 2 s; the history fills the tick it missed with that figure."""
    last: VMLast = {}
    history = StatsHistory()
    key = f"{HOST}/{WEB01}"
    first = _host(0.0, (_vm(0),), partial=False)
    history.add(rolling_snapshot(HOST, None, first, last, seq=1))
    gap = _host(2.0, (), partial=True)
    snap = rolling_snapshot(HOST, first, gap, last, seq=2)
    history.add(snap)
    assert snap.vms == () and snap.removed == ()
    assert history.vm_values(key, Metric.CPU) == [None, None]  # its figure is still none
    later = _host(4.0, (_vm(2_000_000_000),), partial=True)
    snap = rolling_snapshot(HOST, gap, later, last, seq=3)
    history.add(snap)
    (vm,) = snap.vms
    assert vm.cpu_percent == pytest.approx(50.0)
    assert vm.host_cpu_percent == pytest.approx(12.5)  # of the host's 4 CPUs
    assert history.vm_values(key, Metric.CPU) == pytest.approx([None, 50.0, 50.0])
    # Not read at 6 s: its graph repeats its newest figure up to the host's newest tick.
    history.add(rolling_snapshot(HOST, later, _host(6.0, (), partial=True), last, seq=4))
    assert history.vm_values(key, Metric.CPU) == pytest.approx([None, 50.0, 50.0, 50.0])
    assert len(history.host_times(HOST)) == 4


async def test_app_keeps_every_vm_and_says_how_often_figures_refresh() -> None:
    app = TvirtApp(uris=[LAB], interval=0.5, tick_budget=2)
    async with app.run_test(size=(160, 40)) as pilot:
        await host_loaded(pilot, LAB, 6)
        ticker = app.manager.tickers[LAB]
        await until(pilot, lambda: ticker.samples >= 8, "two rounds of ticks")
        assert app.tiers.every() == 3
        assert {k.rpartition("/")[2] for k in app.history.vm_keys()} == ALL
        assert len(app.dashboard.table.vms) == 6 == app.dashboard.table.row_count
        status = str(app.dashboard.query_one("#status", Static).render())
        assert "each VM's figures refresh every 1.5 s" in status
        ask_limit(app)
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "the dialog")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        assert "Now each VM's figures refresh every 1.5 s" in dialog.text
        await pilot.press("escape")


async def test_the_budget_is_set_saved_refused_and_set_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = config.Config(path=path)
    app = TvirtApp(uris=[LAB], settings=settings, stats=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await host_loaded(pilot, LAB, 6)
        assert set_limit(app, 1000, 50) == ""
        assert app.tiers.budget == 50 and config.load(path).vms_per_tick == 50
        assert set_limit(app, 1000, 2000) == ""  # and back to the default
        assert app.tiers.budget == 2000 and config.load(path).vms_per_tick == 2000
        saved = path.read_bytes()
        assert "1 or more" in set_limit(app, 1000, 0)  # refused: nothing changes
        assert app.tiers.budget == 2000 and path.read_bytes() == saved
        # A save that fails changes neither the file nor the running values (a directory
        # where config.save writes its temporary file: root ignores file permissions).
        path.with_name(path.name + ".tmp").mkdir()
        assert set_limit(app, 1000, 7).startswith("Could not save")
        assert app.tiers.budget == 2000 and settings.vms_per_tick == 2000
        assert path.read_bytes() == saved


def test_config_reads_and_refuses_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[ui]\nvms_per_tick = 300\n")
    assert config.load(path).vms_per_tick == 300
    assert config.load(tmp_path / "none.toml").vms_per_tick == 2000
    for bad in ("0", '"many"', "true"):
        path.write_text(f"[ui]\nvms_per_tick = {bad}\n")
        with pytest.raises(config.ConfigError, match="vms_per_tick"):
            config.load(path)


class NoNowait:
    """The real test-driver connection, refusing NOWAIT on domainListGetStats as older
    drivers do (this libvirt's test driver accepts it, so only a wrapper can refuse)."""

    def __init__(self, conn: libvirt.virConnect) -> None:
        self.conn = conn
        self.flags: list[int] = []

    def domainListGetStats(self, doms: list[Any], groups: int, flags: int) -> Any:
        self.flags.append(flags)
        if flags & NOWAIT:
            exc = libvirt.libvirtError("refused")
            exc.err = (libvirt.VIR_ERR_INVALID_ARG, 0, "refused", 2, None, None, None, 0, 0)
            raise exc
        return self.conn.domainListGetStats(doms, groups, flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def test_a_slice_refused_nowait_is_asked_again_without_it(conn: libvirt.virConnect) -> None:
    tiers = StatsTiers(limit=1000, budget=2)
    tiers.count("other-host", 6)  # 12 VMs, 2 a tick: a round from the first tick
    wrapped = NoNowait(conn)
    sampler = HostSampler(tiers=tiers, host_id=HOST)
    first = sampler(wrapped)
    second = sampler(wrapped)
    assert wrapped.flags == [NOWAIT, 0, 0] and not sampler.nowait
    assert len(first.domains) == 1 and len(second.domains) == 1  # every 6th VM


def test_a_round_keeps_its_listing_until_the_hosts_vms_change(
    node_xml: Callable[[int], str],
) -> None:
    """With the worker's counter, a round lists the host again only once its VMs changed
    (here: one undefined, which the worker learns from libvirt's event)."""
    rec = Recorder()
    worker = HostWorker(parse_uri(node_xml(6)), rec, recheck_interval=None)
    sampler = HostSampler(tiers=StatsTiers(limit=1000, budget=2), host_id=worker.host_id,
                          known_vcpus=worker.known_vcpus, known_changes=worker.known_changes)
    uuids = {str(uuidlib.UUID(int=i + 1)) for i in range(6)}

    def tick() -> HostSample:  # on the worker's thread, as the ticker runs it
        return worker.call(sampler).result(10)

    worker.start()
    try:
        wait_for(lambda: worker.host_id in rec.inventory.listed, 10, "the listing")
        tick()  # the first tick reads every VM and counts them: 3 ticks a round from now
        assert tick().listed == uuids  # a round's first tick: listed
        first = sampler._doms
        tick(), tick()
        assert tick().listed == uuids and sampler._doms is first  # no change: kept
        tick(), tick()
        worker.call(lambda conn: conn.lookupByName("vm0001").undefine()).result(10)
        wait_for(lambda: any(isinstance(u, DomainRemoved) for u in rec.updates), 10,
                 "the undefine's event")
        assert tick().listed == uuids - {str(uuidlib.UUID(int=2))}  # listed again
        assert sampler._doms is not first
    finally:
        worker.stop()
