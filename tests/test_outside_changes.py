"""Changes made outside tvirt reach the host worker's sink: VM counts follow defines and
undefines, libvirt's DEFINED/UPDATED events re-read the domain, and what libvirt sends no
event for (virsh autostart, setmaxmem on a shut-off VM) arrives with the slow recheck."""

from __future__ import annotations

import contextlib
import subprocess
import uuid as uuidlib
from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest
from textual.widgets import OptionList

from conftest import Recorder, wait_for
from tui_helpers import host_loaded, until
from tvirt.cli.watch import Watcher, line
from tvirt.host import HostWorker
from tvirt.model import HostState, VMInfo
from tvirt.screens.app import TvirtApp
from tvirt.updates import DomainChanged, HostChanged
from tvirt.uri import parse_uri


def _xml(name: str, mib: int = 64, kind: str = "qemu") -> str:
    return (
        f"<domain type='{kind}'><name>{name}</name><memory unit='MiB'>{mib}</memory>"
        "<os><type arch='x86_64'>hvm</type></os></domain>"
    )


@contextlib.contextmanager
def worker_on(uri: str, recheck: float | None = None) -> Iterator[tuple[HostWorker, Recorder]]:
    rec = Recorder()
    worker = HostWorker(parse_uri(uri), rec, recheck_interval=recheck)
    worker.start()
    try:
        wait_for(lambda: uri in rec.inventory.listed, 60, "the listing")
        yield worker, rec
    finally:
        worker.stop()


def counts(rec: Recorder) -> list[int]:
    return [u.host.vm_count for u in rec.updates if isinstance(u, HostChanged)]


def test_vm_count_follows_a_define_and_an_undefine(node_xml: Callable[[int], str]) -> None:
    # A private test-driver host: nobody else defines VMs on it meanwhile.
    uri = node_xml(3)
    with worker_on(uri) as (worker, rec):
        assert rec.inventory.hosts[uri].vm_count == 3
        worker.call(lambda c: c.defineXML(_xml("tvirt-new", kind="test"))).result(30)
        wait_for(lambda: rec.inventory.hosts[uri].vm_count == 4, 30, "the count after define")
        worker.call(lambda c: c.lookupByName("tvirt-new").undefine()).result(30)
        wait_for(lambda: rec.inventory.hosts[uri].vm_count == 3, 30, "the count after undefine")
        assert counts(rec)[-2:] == [4, 3]
        assert rec.inventory.hosts[uri].state is HostState.CONNECTED


@pytest.fixture
def own_vm(testbed) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """A shut-off VM of this test's own on the real libvirtd: (name, uuid)."""
    name = f"tvirt-test-outside-{uuidlib.uuid4().hex[:8]}"
    conn = libvirt.open(testbed.qemu_uri)
    dom = conn.defineXML(_xml(name))
    try:
        yield name, dom.UUIDString()
    finally:
        dom.undefine()
        conn.close()


def virsh(uri: str, *argv: str) -> None:
    subprocess.run(["virsh", "-q", "-c", uri, *argv], check=True, capture_output=True)


def latest(rec: Recorder, uuid: str) -> VMInfo | None:
    found = [u.vm for u in rec.updates if isinstance(u, DomainChanged) and u.vm.uuid == uuid]
    return found[-1] if found else None


@pytest.mark.real
def test_virsh_autostart_and_setmaxmem_arrive_with_the_recheck(testbed, own_vm) -> None:  # type: ignore[no-untyped-def]
    name, uuid = own_vm
    with worker_on(testbed.qemu_uri) as (worker, rec):
        watcher = Watcher(initial=False)
        for update in list(rec.updates):
            watcher.records(update)
        virsh(testbed.qemu_uri, "autostart", name)
        virsh(testbed.qemu_uri, "setmaxmem", name, "96M")
        seen = len(rec.updates)
        worker.recheck()  # what the slow tick runs; called here so no test waits 30 s
        wait_for(
            lambda: (vm := latest(rec, uuid)) is not None and vm.memory_kib == 96 * 1024,
            60,
            "the recheck's update",
        )
        vm = latest(rec, uuid)
        assert vm is not None and vm.autostart
        lines = [line(r) for u in rec.updates[seen:] for r in watcher.records(u)]
        assert f"{name} on {worker.info.label}: autostart on" in lines


@pytest.mark.real
def test_the_slow_tick_rechecks_on_its_own(testbed, own_vm) -> None:  # type: ignore[no-untyped-def]
    name, uuid = own_vm
    with worker_on(testbed.qemu_uri, recheck=0.2) as (_worker, rec):
        virsh(testbed.qemu_uri, "autostart", name)
        wait_for(
            lambda: (vm := latest(rec, uuid)) is not None and vm.autostart, 60, "the slow tick"
        )


@pytest.mark.real
def test_a_redefined_domain_is_read_again_from_its_event(
    testbed, own_vm, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    name, uuid = own_vm
    with worker_on(testbed.qemu_uri) as (_worker, rec):  # no recheck: only the event
        xml = tmp_path / "dom.xml"
        xml.write_text(_xml(name, mib=80).replace("<name>", f"<uuid>{uuid}</uuid><name>"))
        virsh(testbed.qemu_uri, "define", str(xml))  # DEFINED, detail UPDATED
        wait_for(
            lambda: (vm := latest(rec, uuid)) is not None and vm.memory_kib == 80 * 1024,
            60,
            "the re-read after the DEFINED/UPDATED event",
        )


async def test_the_host_card_counts_a_new_vm() -> None:
    """The card said "0 VMs" after creating one until restart; it follows the define now."""
    lab = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
    app = TvirtApp(uris=[lab])
    async with app.run_test(size=(130, 40)) as pilot:
        await host_loaded(pilot, lab, 6)
        hosts = app.dashboard.query_one("#hosts", OptionList)

        def card() -> str:
            return str(hosts.get_option(lab).prompt)

        assert "6 VMs" in card()
        worker = app.manager.workers[lab]
        worker.call(lambda c: c.defineXML(_xml("tvirt-card", kind="test"))).result(30)
        await until(pilot, lambda: "7 VMs" in card(), "the card's new count")
