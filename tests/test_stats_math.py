"""Rate maths and history rings: pure functions on recorded and handcrafted samples."""

from __future__ import annotations

import json
import math
import tracemalloc
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import FIXTURES
from tvirt.history import VM_METRICS, Metric, Rings, StatsHistory, points_for
from tvirt.model import VMState
from tvirt.stats import (
    CPUTimes,
    DomainSample,
    HostSample,
    VMRates,
    clamp_percent,
    counter_rate,
    cpu_percent,
    host_cpu_percent,
    node_memory_used,
    parse_cpu_times,
    parse_domain,
    snapshot,
    vm_rates,
)

UUID = "00000000-0000-0000-0000-000000000001"
RATE_FIELDS = (
    "cpu_percent",
    "host_cpu_percent",
    "disk_read_bps",
    "disk_write_bps",
    "disk_read_iops",
    "disk_write_iops",
    "net_rx_bps",
    "net_tx_bps",
)


def real() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "domstats_real_guest.json").read_text())
    return data


def host_sample(raw: dict[str, Any], cpus: int) -> HostSample:
    """A recorded sample as the ticker would have built it (no psutil: recorded data)."""
    memory = node_memory_used(raw["node_memory"])
    return HostSample(
        time=raw["time"],
        wall=raw["wall"],
        cpus=cpus,
        domains=tuple(
            parse_domain(d["uuid"], d["name"], d["stats"], d["id"]) for d in raw["domains"]
        ),
        cpu=parse_cpu_times(raw["node_cpu"]),
        memory_total_kib=memory[0] if memory else None,
        memory_used_kib=memory[1] if memory else None,
    )


def running(t: float = 0.0, **counters: Any) -> dict[str, Any]:
    """A handcrafted virsh-domstats record of a running one-vCPU VM."""
    record: dict[str, Any] = {"state.state": 1, "state.reason": 1, "vcpu.current": 1}
    record.update({k.replace("_", "."): v for k, v in counters.items()})
    return record


# -- recorded from the real guest -------------------------------------------------------


def test_real_guest_busy_loop_reads_full_vcpu() -> None:
    data = real()
    first, second = (host_sample(s, data["host_cpus"]) for s in data["samples"])
    snap = snapshot("qemu:///system", first, second, seq=2)
    (vm,) = snap.vms
    raw0, raw1 = (s["domains"][0]["stats"] for s in data["samples"])
    # Worked by hand from the recording: cpu.time grew by 6 681 012 000 - 3 775 941 000
    # = 2 905 071 000 ns in 3215.123753391 - 3212.223649131 = 2.900104260 s, that is
    # 2.905071 / 2.900104260 = 100.17 % of the one vCPU (a busy loop; shown clamped at
    # 100), and half of that, 50.0856 %, of the host's two CPUs.
    assert raw1["cpu.time"] - raw0["cpu.time"] == 2_905_071_000
    assert data["host_cpus"] == 2
    assert snap.elapsed == pytest.approx(2.900104260, abs=1e-9)
    assert vm.state is VMState.RUNNING and vm.vcpus == 1
    assert vm.cpu_percent == 100.0
    assert vm.host_cpu_percent == pytest.approx(50.0856, abs=1e-4)
    # No balloon driver in the guest: no guest-side used/free, but QEMU's RSS is known.
    assert vm.memory_kib == 131072 and vm.memory_total_kib == 131072
    assert vm.memory_used_kib is None and vm.memory_percent is None
    assert vm.memory_rss_kib == raw1["balloon.rss"]
    # No disk and no NIC: block.count and net.count are 0, so there is no rate to show:
    # unknown (n/a on screen), not 0 bytes per second.
    assert vm.disk_read_bps is None and vm.disk_write_iops is None
    assert vm.net_rx_bps is None and vm.net_tx_bps is None
    assert snap.host.cpu_percent is not None and 40 < snap.host.cpu_percent < 100
    assert snap.host.memory_used_kib is not None and snap.host.memory_total_kib == 24684096
    assert snap.removed == () and snap.vm(vm.uuid) is vm


def test_real_guest_first_sample_has_no_rates() -> None:
    data = real()
    snap = snapshot("h", None, host_sample(data["samples"][0], data["host_cpus"]))
    assert snap.elapsed is None and snap.host.cpu_percent is None
    assert all(getattr(snap.vms[0], name) is None for name in RATE_FIELDS)


def test_shut_off_counters_do_not_make_a_rate_at_start() -> None:
    # QEMU reports a shut-off VM's cpu.time from its last run (id -1, state 5).
    data = real()
    off = host_sample(data["shutoff"], data["host_cpus"])
    on = host_sample(data["samples"][0], data["host_cpus"])
    assert off.domains[0].state is VMState.SHUTOFF and off.domains[0].cpu_time_ns
    (vm,) = snapshot("h", off, on).vms
    assert vm.cpu_percent is None and vm.disk_read_bps is None
    (stopped,) = snapshot("h", on, off).vms
    assert stopped.state is VMState.SHUTOFF and stopped.cpu_percent is None


# -- handcrafted ------------------------------------------------------------------------


def test_counter_reset_gives_no_spike_and_rebases() -> None:
    a = parse_domain(UUID, "vm", running(cpu_time=50_000_000_000), dom_id=7)
    # A guest-internal reset keeps the domain id but QEMU's counters restart lower.
    b = parse_domain(UUID, "vm", running(cpu_time=1_000_000_000), dom_id=7)
    c = parse_domain(UUID, "vm", running(cpu_time=2_000_000_000), dom_id=7)
    assert vm_rates(a, b, 2.0, 4).cpu_percent is None
    assert vm_rates(b, c, 2.0, 4).cpu_percent == pytest.approx(50.0)
    assert vm_rates(b, c, 2.0, 4).host_cpu_percent == pytest.approx(12.5)


def test_restart_between_samples_is_caught_by_the_domain_id() -> None:
    # Counters grew, but a new QEMU process (new id) produced them: unknown, not a spike.
    a = parse_domain(UUID, "vm", running(cpu_time=1_000_000_000, block_count=0), dom_id=3)
    b = parse_domain(UUID, "vm", running(cpu_time=9_000_000_000, block_count=0), dom_id=4)
    rates = vm_rates(a, b, 2.0, 2)
    assert rates.cpu_percent is None and rates.disk_read_bps is None


def test_disk_and_net_are_summed_over_devices() -> None:
    def record(scale: int) -> dict[str, Any]:
        r = running(cpu_time=scale * 10**9)
        r.update({"block.count": 2, "net.count": 2})
        for n in range(2):
            r[f"block.{n}.rd.bytes"] = scale * 1000 * (n + 1)
            r[f"block.{n}.wr.bytes"] = scale * 2000 * (n + 1)
            r[f"block.{n}.rd.reqs"] = scale * 10 * (n + 1)
            r[f"block.{n}.wr.reqs"] = scale * 20 * (n + 1)
            r[f"net.{n}.rx.bytes"] = scale * 300 * (n + 1)
            r[f"net.{n}.tx.bytes"] = scale * 400 * (n + 1)
        r["block.2.rd.bytes"] = 10**12  # beyond block.count: not counted
        return r

    a, b = parse_domain(UUID, "vm", record(1)), parse_domain(UUID, "vm", record(3))
    assert a.block is not None and a.block.rd_bytes == 3000
    rates = vm_rates(a, b, 2.0, 8)
    # Over 2 s the sums grow by 2x their scale-1 values: the rate equals those values.
    assert (rates.disk_read_bps, rates.disk_write_bps) == (3000, 6000)
    assert (rates.disk_read_iops, rates.disk_write_iops) == (30, 60)
    assert (rates.net_rx_bps, rates.net_tx_bps) == (900, 1200)
    assert rates.cpu_percent == 100.0  # 1 vCPU, 2 s of CPU in 2 s


def test_a_disk_missing_a_counter_counts_as_zero() -> None:
    # An empty CD-ROM reports a name but no rd/wr counters.
    record = running(block_count=2, block_0_name="sda", block_1_rd_bytes=5)
    record["block.0.name"] = "sda"
    sample = parse_domain(UUID, "vm", record)
    assert sample.block is not None and sample.block.rd_bytes == 5


def test_state_only_domains_like_the_test_driver() -> None:
    a = parse_domain(UUID, "vm", {"state.state": 1, "state.reason": 0}, dom_id=1)
    b = parse_domain(UUID, "vm", {"state.state": 1, "state.reason": 0}, dom_id=1)
    rates = vm_rates(a, b, 2.0, 2)
    assert rates.state is VMState.RUNNING
    assert all(getattr(rates, name) is None for name in RATE_FIELDS)
    assert rates.memory_kib is None and rates.memory_used_kib is None


def test_host_without_bulk_stats_snapshot() -> None:
    doms = (DomainSample(UUID, "vm", VMState.RUNNING), DomainSample("u2", "b", VMState.SHUTOFF))
    a = HostSample(time=1.0, wall=100.0, cpus=4, domains=doms, bulk=False)
    b = HostSample(time=3.0, wall=102.0, cpus=4, domains=doms[:1], bulk=False)
    snap = snapshot("esx://h", a, b, seq=2, skipped=1)
    assert not snap.bulk and snap.elapsed == 2.0 and snap.skipped == 1
    assert [vm.state for vm in snap.vms] == [VMState.RUNNING]
    assert snap.removed == ("u2",)
    assert snap.host.cpu_percent is None and snap.host.memory_percent is None


def test_balloon_memory_guest_view() -> None:
    record = running(
        balloon_current=1048576,
        balloon_maximum=2097152,
        balloon_available=1000000,
        balloon_unused=600000,
        balloon_usable=750000,
        balloon_rss=1100000,
    )
    rates = vm_rates(None, parse_domain(UUID, "vm", record), None, 2)
    assert rates.memory_kib == 1048576 and rates.memory_total_kib == 1000000
    # usable (MemAvailable) wins over unused (MemFree): cache is not "used".
    assert rates.memory_used_kib == 250000 and rates.memory_available_kib == 750000
    assert rates.memory_percent == pytest.approx(25.0)
    assert rates.memory_rss_kib == 1100000
    del record["balloon.usable"]
    older = vm_rates(None, parse_domain(UUID, "vm", record), None, 2)
    assert older.memory_used_kib == 400000 and older.memory_percent == pytest.approx(40.0)


def test_host_cpu_and_memory() -> None:
    a = CPUTimes(kernel=100, user=300, idle=500, iowait=100)
    b = CPUTimes(kernel=150, user=450, idle=700, iowait=100)
    assert host_cpu_percent(a, b) == pytest.approx(50.0)
    assert host_cpu_percent(b, a) is None  # host rebooted: counters went back
    assert host_cpu_percent(a, a) is None  # no time passed
    assert host_cpu_percent(None, b) is None
    assert parse_cpu_times({"kernel": 1, "user": 2}) is None
    assert node_memory_used({"total": 1000, "free": 200, "buffers": 50, "cached": 150}) == (
        1000,
        600,
    )
    assert node_memory_used({"total": 1000}) is None


def test_percentages_are_clamped() -> None:
    # Two vCPUs' worth of CPU time for a one-vCPU VM (QEMU's own threads): 100, not 200.
    assert cpu_percent(0, 4 * 10**9, 2.0, 1) == 100.0
    assert cpu_percent(0, 10**9, 2.0, 0) is None
    assert clamp_percent(-3.0) == 0.0 and clamp_percent(math.nan) == 0.0
    assert counter_rate(10, 5, 1.0) is None and counter_rate(5, 10, 0.0) is None


counters = st.integers(min_value=0, max_value=2**63)
elapsed = st.floats(min_value=-1.0, max_value=1e6, allow_nan=False)


@given(counters, counters, elapsed, st.integers(min_value=-2, max_value=4096))
def test_cpu_percent_is_always_a_percentage_or_unknown(
    prev: int, cur: int, seconds: float, cpus: int
) -> None:
    value = cpu_percent(prev, cur, seconds, cpus)
    assert value is None or 0.0 <= value <= 100.0


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "cpu.time",
                "block.0.rd.bytes",
                "block.0.wr.reqs",
                "net.0.rx.bytes",
                "net.0.tx.bytes",
                "balloon.available",
                "balloon.unused",
            ]
        ),
        counters,
    ),
    st.dictionaries(
        st.sampled_from(["cpu.time", "block.0.rd.bytes", "net.0.tx.bytes", "balloon.unused"]),
        counters,
    ),
    elapsed,
)
def test_rates_are_never_negative(a: dict[str, int], b: dict[str, int], seconds: float) -> None:
    groups = {"block.count": 1, "net.count": 1}
    prev = parse_domain(UUID, "vm", {**running(), **groups, **a})
    cur = parse_domain(UUID, "vm", {**running(), **groups, **a, **b})
    rates = vm_rates(prev, cur, seconds, 2)
    for name in RATE_FIELDS:
        value = getattr(rates, name)
        assert value is None or value >= 0.0
    for name in ("cpu_percent", "host_cpu_percent", "memory_percent"):
        value = getattr(rates, name)
        assert value is None or value <= 100.0


# -- history ----------------------------------------------------------------------------


def test_ring_length_covers_ten_minutes() -> None:
    assert points_for(2.0) == 300 and points_for(0.7) == 858 and points_for(5, 60) == 12
    with pytest.raises(ValueError):
        points_for(0)


def test_rings_wrap_and_summarise() -> None:
    rings = Rings(("a", "b"), maxlen=4)
    assert rings.nbytes == 0  # nothing known yet: nothing allocated
    rings.push([None, None])
    assert rings.nbytes == 0 and rings.values("a") == [None]
    for i in range(1, 7):
        rings.push([float(i), None if i % 2 else float(-i)])
    assert len(rings) == 4 and rings.nbytes == 2 * 4 * 4
    assert rings.values("a") == [3.0, 4.0, 5.0, 6.0]
    assert rings.values("b") == [None, -4.0, None, -6.0]
    a = rings.summary("a")
    assert (a.current, a.minimum, a.average, a.maximum, a.known) == (6.0, 3.0, 4.5, 6.0, 4)
    rings.push([None, 1.0])
    assert rings.summary("a").current is None and rings.summary("a").maximum == 6.0
    assert rings.summary("b").average == pytest.approx(-3.0)
    shorter = rings.resized(2)
    assert shorter.values("a") == [6.0, None] and shorter.values("b") == [-6.0, 1.0]
    longer = rings.resized(10)
    assert longer.values("a") == [4.0, 5.0, 6.0, None]


def _vm(uuid: str, cpu: float | None) -> VMRates:
    return VMRates(uuid=uuid, name=uuid, state=VMState.RUNNING, cpu_percent=cpu)


def test_history_follows_snapshots_and_forgets_vanished_vms() -> None:
    history = StatsHistory(interval=2.0, window=10.0)
    assert history.maxlen == 5
    a = HostSample(time=0.0, wall=1000.0, cpus=2)

    def feed(t: float, *vms: VMRates) -> None:
        snap = snapshot("h", a, HostSample(time=t, wall=1000.0 + t, cpus=2))
        history.add(replace(snap, vms=vms))

    feed(2.0, _vm("x", 10.0), _vm("y", None))
    feed(4.0, _vm("x", 30.0), _vm("y", 5.0))
    assert history.vm_values("h/x", Metric.CPU) == [10.0, 30.0]
    assert history.vm_values("h/y", Metric.CPU) == [None, 5.0]
    summary = history.vm_summary("h/x", Metric.CPU)
    assert summary is not None and summary.average == 20.0
    assert history.host_times("h") == [1002.0, 1004.0]
    feed(6.0, _vm("x", 20.0))  # y was deleted
    assert sorted(history.vm_keys()) == ["h/x"] and history.vm_values("h/y", Metric.CPU) == []
    history.set_interval(5.0)  # 10 s at 5 s: the newest 2 points stay
    assert history.maxlen == 2 and history.vm_values("h/x", Metric.CPU) == [30.0, 20.0]
    assert len(history.host_values("h", Metric.CPU)) == 2
    history.forget_host("h")
    assert history.vm_keys() == [] and history.host_summary("h", Metric.CPU) is None


def test_history_memory_for_1000_vms_at_300_points() -> None:
    """Arrays are allocated whole on a VM's first known value, so one tick shows the peak."""
    vms = tuple(
        VMRates(
            uuid=f"{i:036d}",
            name=f"vm{i}",
            state=VMState.RUNNING,
            **dict.fromkeys(RATE_FIELDS, 1.0),
            memory_used_kib=1,
            memory_rss_kib=1,
        )
        for i in range(1000)
    )
    snap = snapshot("h", None, HostSample(time=1.0, wall=1.0, cpus=2))
    snap = replace(snap, vms=vms)
    tracemalloc.start()
    try:
        history = StatsHistory(interval=2.0)  # 600 s / 2 s = 300 points
        before = tracemalloc.get_traced_memory()[0]
        history.add(snap)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 4-byte floats per VM metric point; the host's times are 8-byte (its metrics are
    # unknown in this snapshot, so not allocated).
    assert history.nbytes() == 1000 * len(VM_METRICS) * 300 * 4 + 300 * 8
    # Arrays plus about 1 KiB of bookkeeping per VM.
    assert history.nbytes() < used < history.nbytes() + 1000 * 1024, used
