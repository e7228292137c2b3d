"""How many libvirt calls connecting to a host costs, counted on real test-driver hosts.

Every call over ssh is a round trip; at fifty hosts, one call per VM at connect made the
launch wait on thousands of them. The counts here are of calls that leave the process
on a remote connection: methods of the connection and of domains (name() and
UUIDString() excepted: libvirt answers them from the handle, without a round trip).
"""

from __future__ import annotations

import threading
import uuid as uuidlib
from collections import Counter
from pathlib import Path
from typing import Any

import libvirt
import pytest

from conftest import Recorder, wait_for
from tvirt import domains, host
from tvirt.manager import HostManager
from tvirt.model import VMState
from tvirt.updates import DomainsDetailed, DomainsListed, Update

LOCAL = {"name", "UUIDString"}
REAL_OPEN = libvirt.openAuth


def _node(tmp_path: Path, count: int) -> str:
    doms = "".join(
        "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        f"<name>vm{i:04d}</name><uuid>{uuidlib.UUID(int=i + 1)}</uuid>"
        f"<memory>{(i % 5 + 1) * 65536}</memory><vcpu>{i % 3 + 1}</vcpu>"
        f"<os><type>hvm</type></os><test:runstate>{1 if i % 2 else 5}</test:runstate>"
        "</domain>"
        for i in range(count)
    )
    path = tmp_path / f"node{count}.xml"
    path.write_text(
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
        f"<mhz>2000</mhz></cpu><memory>8388608</memory>{doms}</node>"
    )
    return f"test://{path}"


class Counted:
    """A real connection or domain whose method calls are counted by name. A wrapper,
    not a fake: every call goes to the real object; libvirt has no call counter."""

    def __init__(self, real: Any, calls: Counter[str]) -> None:
        self._real = real
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if name not in LOCAL:
                self._calls[name] += 1
            result = attr(*args, **kwargs)
            if name == "listAllDomains":
                return [Counted(dom, self._calls) for dom in result]
            return result

        return call


def _details(rec: Recorder) -> int:
    return sum(len(u.vms) for u in rec.updates if isinstance(u, DomainsDetailed))


def _calls_until_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: int
                        ) -> tuple[Counter[str], Counter[str]]:
    """The calls a progressive worker makes until its rows are out, and until every
    detail is read."""
    calls: Counter[str] = Counter()
    monkeypatch.setattr(libvirt, "openAuth", lambda uri, *a: Counted(REAL_OPEN(uri, *a), calls))
    listed: Counter[str] = Counter()
    rec = Recorder()

    def sink(update: Update) -> None:
        if isinstance(update, DomainsListed):
            listed.update(calls)  # on the worker's thread, before its next call
        rec(update)

    manager = HostManager(sink, reconnect=False, progressive=True)
    try:
        manager.add(_node(tmp_path, count))
        wait_for(lambda: _details(rec) == count, 30, "details")
    finally:
        manager.stop()
    return listed, calls


def test_rows_of_a_host_cost_the_same_calls_whatever_its_vm_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small, small_all = _calls_until_listed(tmp_path, monkeypatch, 20)
    big, big_all = _calls_until_listed(tmp_path, monkeypatch, 200)
    assert big == small  # the same calls, each as often, for 200 VMs as for 20
    assert sum(big.values()) <= 12 and big["info"] == 0
    assert big["listAllDomains"] == 3 and big["getAllDomainStats"] == 1
    # The test driver's bulk stats carry no vCPUs or memory: one info() each, later.
    assert big_all["info"] == 200 and small_all["info"] == 20


def test_a_slow_hosts_details_are_read_many_calls_at_once(tmp_path: Path) -> None:
    conn = libvirt.open(_node(tmp_path, 40))
    try:
        pairs = domains.list_domains(conn, "h", details=False)
        # Each info() waits until `at_once` calls are in flight together: read one at
        # a time, the barrier breaks (BrokenBarrierError) instead of passing.
        at_once = 8
        barrier = threading.Barrier(at_once, timeout=20)

        class Waiting(Counted):
            def info(self) -> Any:
                barrier.wait()
                return self._real.info()

        calls: Counter[str] = Counter()
        waiting = [(vm, Waiting(dom, calls)) for vm, dom in pairs[:32]]
        filled, used = domains.fill_details(waiting, at_once=at_once)  # type: ignore[arg-type]
        assert used == 32
        assert [vm.name for vm in filled] == [vm.name for vm, _dom in pairs[:32]]
        assert all((vm.vcpus, vm.memory_kib) == (dom.info()[3], dom.info()[1])
                   for vm, (_v, dom) in zip(filled, pairs, strict=False))
    finally:
        conn.close()


def test_a_worker_reads_details_at_once_only_after_a_slow_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast host keeps one call at a time; calls slower than SLOW_CALL switch to
    FILL_AT_ONCE. The threshold is set so every call counts as slow here, since a real
    test-driver call takes microseconds."""
    monkeypatch.setattr(host, "FILL_SLICE", 0.0)  # one round per fill job
    seen: list[int] = []
    real_fill = domains.fill_details

    def fill(pairs: Any, budget: Any = None, at_once: int = 1) -> Any:
        seen.append(at_once)
        return real_fill(pairs, budget, at_once)

    monkeypatch.setattr(domains, "fill_details", fill)
    for slow, expected in ((3600.0, {1}), (0.0, {1, host.FILL_AT_ONCE})):
        monkeypatch.setattr(host, "SLOW_CALL", slow)
        seen.clear()
        rec = Recorder()
        manager = HostManager(rec, reconnect=False, progressive=True)
        try:
            manager.add(_node(tmp_path, 60))
            wait_for(lambda r=rec: _details(r) == 60, 30, "details")  # type: ignore[misc]
        finally:
            manager.stop()
        assert set(seen) == expected and seen[0] == 1


def test_a_listings_four_calls_are_in_flight_together(tmp_path: Path) -> None:
    """listAllDomains three times and the bulk stats: one round trip's wait, not four."""
    conn = libvirt.open(_node(tmp_path, 30))
    try:
        # Each call waits until all four are in flight: made one after the other, the
        # barrier breaks (BrokenBarrierError) instead of passing.
        barrier = threading.Barrier(4, timeout=20)

        class Waiting(Counted):
            def listAllDomains(self, flags: int) -> Any:
                barrier.wait()
                return self._real.listAllDomains(flags)

            def getAllDomainStats(self, stats: int, flags: int) -> Any:
                barrier.wait()
                return self._real.getAllDomainStats(stats, flags)

        calls: Counter[str] = Counter()
        waiting: Any = Waiting(conn, calls)
        pairs = domains.list_domains(waiting, "h", details=False)
        assert sorted(vm.name for vm, _dom in pairs) == [f"vm{i:04d}" for i in range(30)]
        assert {vm.state for vm, _dom in pairs} == {VMState.RUNNING, VMState.SHUTOFF}
    finally:
        conn.close()
