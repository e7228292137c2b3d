"""The real TCG guest on the real libvirtd, locally and over qemu+ssh."""

from __future__ import annotations

import time
from collections.abc import Iterator

import libvirt
import pytest

from conftest import Recorder, Testbed, start_libvirtd, stop_libvirtd, wait_for
from tvirt.actions import Action
from tvirt.manager import HostManager
from tvirt.model import HostState, VMState
from tvirt.updates import DomainChanged, DomainsListed

pytestmark = pytest.mark.real


@pytest.fixture(params=["local", "ssh"])
def uri(request: pytest.FixtureRequest, testbed: Testbed) -> str:
    return testbed.qemu_uri if request.param == "local" else testbed.ssh_uri


@pytest.fixture
def watched(uri: str) -> Iterator[tuple[HostManager, Recorder, str]]:
    rec = Recorder()
    manager = HostManager(rec)
    worker = manager.add(uri)
    wait_for(lambda: worker.host_id in rec.inventory.listed, 60, f"listing of {uri}")
    yield manager, rec, worker.host_id
    manager.stop()


def test_running_state_arrives_by_event(
    watched: tuple[HostManager, Recorder, str], guest: str, testbed: Testbed
) -> None:
    manager, rec, host_id = watched
    (vm,) = rec.inventory.find(guest)
    assert vm.state is VMState.SHUTOFF
    host = rec.inventory.hosts[host_id]
    assert host.state is HostState.CONNECTED and host.hypervisor == "QEMU" and host.cpus > 0
    # Another client starts the guest: only a lifecycle event can tell our worker.
    other = libvirt.open(testbed.qemu_uri)
    try:
        other.lookupByName(guest).create()
        wait_for(lambda: rec.inventory.vms[vm.key].state is VMState.RUNNING, 30, "running")
        assert any(
            isinstance(u, DomainChanged) and u.vm.uuid == vm.uuid and u.vm.state is VMState.RUNNING
            for u in rec.updates
        )
        # The guest's acpid powers it off on the ACPI button; a press that lands before
        # acpid has started is lost, so ask again until it goes.
        deadline = time.monotonic() + 60
        while rec.inventory.vms[vm.key].state is not VMState.SHUTOFF:
            assert time.monotonic() < deadline, "the guest never shut down"
            shutdown = manager.get(host_id).act(Action.SHUTDOWN, vm.uuid).result(30)
            if not shutdown.ok:
                # It may have gone off between our check and the call; then the event
                # saying so is on its way.
                assert "not running" in shutdown.message, shutdown.message
                wait_for(lambda: rec.inventory.vms[vm.key].state is VMState.SHUTOFF, 10)
            time.sleep(2)
        assert not other.lookupByName(guest).isActive()
    finally:
        dom = other.lookupByName(guest)
        if dom.isActive():
            dom.destroy()
        other.close()


def test_pause_resume_and_autostart_on_the_real_guest(
    watched: tuple[HostManager, Recorder, str], guest: str
) -> None:
    manager, rec, host_id = watched
    (vm,) = rec.inventory.find(guest)
    worker = manager.get(host_id)
    try:
        for action, state in [
            (Action.START, VMState.RUNNING),
            (Action.PAUSE, VMState.PAUSED),
            (Action.RESUME, VMState.RUNNING),
            (Action.FORCE_OFF, VMState.SHUTOFF),
        ]:
            result = worker.act(action, vm.uuid).result(30)
            assert result.ok, result.message
            wait_for(lambda s=state: rec.inventory.vms[vm.key].state is s, 30, state.word)
        assert worker.act(Action.AUTOSTART_ON, vm.uuid).result(30).ok
        wait_for(lambda: rec.inventory.vms[vm.key].autostart, 30, "autostart on")
    finally:
        worker.act(Action.AUTOSTART_OFF, vm.uuid).result(30)
        worker.act(Action.FORCE_OFF, vm.uuid).result(30)


def test_libvirtd_restart_disconnects_and_reconnects(testbed: Testbed) -> None:
    rec = Recorder()
    manager = HostManager(rec)
    pid: int | None = None
    try:
        worker = manager.add(testbed.qemu_uri)
        wait_for(lambda: worker.host_id in rec.inventory.listed, 30, "first listing")
        listings = sum(isinstance(u, DomainsListed) for u in rec.updates)
        pid = stop_libvirtd()
        wait_for(
            lambda: rec.inventory.hosts[worker.host_id].state
            in (HostState.DISCONNECTED, HostState.CONNECTING),
            10,
            "the host to show disconnected",
        )
        assert rec.inventory.hosts[worker.host_id].error
        # An action while the daemon is gone fails with a sentence instead of hanging.
        result = worker.act(Action.START, "00000000-0000-0000-0000-000000000000").result(30)
        assert not result.ok and result.message.endswith(".")
        start_libvirtd(pid)
        wait_for(
            lambda: rec.inventory.hosts[worker.host_id].state is HostState.CONNECTED,
            60,
            "the host to reconnect",
        )
        wait_for(
            lambda: sum(isinstance(u, DomainsListed) for u in rec.updates) > listings,
            30,
            "a fresh listing",
        )
    finally:
        manager.stop()
        start_libvirtd(pid)  # leave one running for the tests after us, whatever happened
