"""Listing a host first and reading vCPUs and memory afterwards, on the test driver.

The test driver's bulk stats carry only state, so it is the real case this serves:
without the progressive listing every domain costs one info() round trip before the
first row can be shown.
"""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest

from conftest import Recorder, wait_for
from tvirt import domains
from tvirt.manager import HostManager
from tvirt.model import VMState
from tvirt.updates import DomainsDetailed, DomainsListed

COUNT = 107


def _node(tmp_path: Path, count: int) -> str:
    """Domains with different vCPUs and memory, defined in reverse name order."""
    doms = "".join(
        "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        f"<name>vm{i:04d}</name><uuid>{uuidlib.UUID(int=i + 1)}</uuid>"
        f"<memory>{(i % 7 + 1) * 65536}</memory><vcpu>{i % 4 + 1}</vcpu>"
        f"<os><type>hvm</type></os><test:runstate>{1 if i % 3 else 5}</test:runstate>"
        "</domain>"
        for i in reversed(range(count))
    )
    path = tmp_path / "node.xml"
    path.write_text(
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
        f"<mhz>2000</mhz></cpu><memory>8388608</memory>{doms}</node>"
    )
    return f"test://{path}"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[libvirt.virConnect]:
    c = libvirt.open(_node(tmp_path, COUNT))
    yield c
    c.close()


def test_quick_listing_leaves_details_unread_but_states_right(
    conn: libvirt.virConnect,
) -> None:
    pairs = domains.list_domains(conn, "h", details=False)
    assert len(pairs) == COUNT
    for vm, dom in pairs:
        assert vm.vcpus is None and vm.memory_kib is None
        assert vm.state is VMState.from_libvirt(dom.info()[0])
    full = {vm.uuid: vm for vm, _dom in domains.list_domains(conn, "h", details=True)}
    filled, used = domains.fill_details(pairs)
    assert used == COUNT and {vm.uuid: vm for vm in filled} == full
    assert {vm.vcpus for vm in filled} == {1, 2, 3, 4}


def test_a_domain_undefined_before_its_details_are_read_is_left_out(
    conn: libvirt.virConnect,
) -> None:
    pairs = domains.list_domains(conn, "h", details=False)
    gone, dom = pairs[3]
    if dom.isActive():
        dom.destroy()
    dom.undefine()
    filled, used = domains.fill_details(pairs[:10])
    assert used == 10 and len(filled) == 9 and gone.uuid not in {vm.uuid for vm in filled}


def test_a_spent_budget_still_reads_one_domain_per_call(conn: libvirt.virConnect) -> None:
    pairs = domains.list_domains(conn, "h", details=False)
    filled, used = domains.fill_details(pairs[5:], budget=0.0)
    assert used == 1 and [vm.uuid for vm in filled] == [pairs[5][0].uuid]
    assert filled[0].vcpus == pairs[5][1].info()[3]


def test_progressive_worker_lists_then_fills_in_name_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A zero time slice: one domain per fill job, so the jobs' order is what is tested.
    monkeypatch.setattr("tvirt.host.FILL_SLICE", 0.0)
    rec = Recorder()
    manager = HostManager(rec, reconnect=False, progressive=True)
    try:
        uri = _node(tmp_path, COUNT)
        manager.add(uri)
        wait_for(
            lambda: sum(len(u.vms) for u in rec.updates if isinstance(u, DomainsDetailed))
            == COUNT,
            30,
            "every VM's details",
        )
        listing = next(u for u in rec.updates if isinstance(u, DomainsListed))
        assert len(listing.vms) == COUNT
        assert all(vm.vcpus is None for vm in listing.vms)
        batches = [u.vms for u in rec.updates if isinstance(u, DomainsDetailed)]
        # Defined in reverse order, read in the table's order: names ascending.
        assert len(batches) == COUNT
        names = [vm.name for batch in batches for vm in batch]
        assert names == sorted(names)
        check = libvirt.open(uri)
        try:
            for dom in check.listAllDomains(0):
                vm = rec.inventory.vms[f"{uri}/{dom.UUIDString()}"]
                info = dom.info()
                assert (vm.state.value, vm.vcpus, vm.memory_kib) == (info[0], info[3], info[1])
        finally:
            check.close()
    finally:
        manager.stop()


def test_commands_still_get_every_detail_in_the_listing(tmp_path: Path) -> None:
    rec = Recorder()
    manager = HostManager(rec, reconnect=False)
    try:
        uri = _node(tmp_path, 12)
        manager.add(uri)
        wait_for(lambda: uri in rec.inventory.listed, 10, "the listing")
        assert all(vm.vcpus is not None for vm in rec.inventory.vm_list())
        assert not any(isinstance(u, DomainsDetailed) for u in rec.updates)
    finally:
        manager.stop()
