"""The host worker on libvirt's test driver: listing, actions, events, refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import libvirt
import pytest

from conftest import Recorder, wait_for
from tvirt.actions import Action
from tvirt.host import BACKOFF, HostWorker
from tvirt.manager import HostManager
from tvirt.model import HostState, VMState
from tvirt.updates import ActionDone, DomainChanged, HostChanged
from tvirt.uri import parse_uri


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def manager(rec: Recorder) -> Iterator[HostManager]:
    mgr = HostManager(rec)
    yield mgr
    mgr.stop()


def test_lists_all_vms_with_states(
    manager: HostManager, rec: Recorder, node_xml: Callable[[int], str]
) -> None:
    uri = node_xml(10)
    manager.add(uri)
    wait_for(lambda: uri in rec.inventory.listed, 10, "the listing")
    vms = rec.inventory.vm_list()
    assert [vm.name for vm in vms] == [f"vm{i:04d}" for i in range(10)]
    assert [vm.state for vm in vms[:2]] == [VMState.RUNNING, VMState.SHUTOFF]
    host = rec.inventory.hosts[uri]
    assert host.state is HostState.CONNECTED and host.demo and host.cpus == 2
    assert host.vm_count == 10


@pytest.mark.parametrize(
    ("action", "start_state", "end_state"),
    [
        (Action.START, VMState.SHUTOFF, VMState.RUNNING),
        (Action.FORCE_OFF, VMState.RUNNING, VMState.SHUTOFF),
        (Action.PAUSE, VMState.RUNNING, VMState.PAUSED),
        (Action.SHUTDOWN, VMState.RUNNING, VMState.SHUTOFF),
    ],
)
def test_actions_change_state_and_report_a_sentence(
    manager: HostManager,
    rec: Recorder,
    node_xml: Callable[[int], str],
    action: Action,
    start_state: VMState,
    end_state: VMState,
) -> None:
    uri = node_xml(2)
    worker = manager.add(uri)
    wait_for(lambda: uri in rec.inventory.listed, 10, "the listing")
    vm = next(v for v in rec.inventory.vm_list() if v.state is start_state)
    result = worker.act(action, vm.uuid).result(10)
    assert result.ok, result.message
    assert result.message.startswith(action.past.capitalize()) and vm.name in result.message
    wait_for(lambda: rec.inventory.vms[vm.key].state is end_state, 10, end_state.word)
    assert any(isinstance(u, ActionDone) and u.result == result for u in rec.updates)


def test_resume_reboot_autostart_and_delete(
    manager: HostManager, rec: Recorder, node_xml: Callable[[int], str]
) -> None:
    uri = node_xml(2)
    worker = manager.add(uri)
    wait_for(lambda: uri in rec.inventory.listed, 10, "the listing")
    running = next(v for v in rec.inventory.vm_list() if v.state is VMState.RUNNING)
    assert worker.act(Action.PAUSE, running.uuid).result(10).ok
    assert worker.act(Action.RESUME, running.uuid).result(10).ok
    wait_for(lambda: rec.inventory.vms[running.key].state is VMState.RUNNING, 10)
    assert worker.act(Action.REBOOT, running.uuid).result(10).ok
    assert worker.act(Action.AUTOSTART_ON, running.uuid).result(10).ok
    wait_for(lambda: rec.inventory.vms[running.key].autostart, 10, "autostart on")
    assert worker.act(Action.AUTOSTART_OFF, running.uuid).result(10).ok
    wait_for(lambda: not rec.inventory.vms[running.key].autostart, 10, "autostart off")
    result = worker.act(Action.DELETE, running.uuid).result(10)
    assert result.ok, result.message
    wait_for(lambda: running.key not in rec.inventory.vms, 10, "the VM to vanish")


def test_a_refused_action_is_a_sentence(
    manager: HostManager, rec: Recorder, node_xml: Callable[[int], str]
) -> None:
    uri = node_xml(2)
    worker = manager.add(uri)
    wait_for(lambda: uri in rec.inventory.listed, 10)
    off = next(v for v in rec.inventory.vm_list() if v.state is VMState.SHUTOFF)
    result = worker.act(Action.PAUSE, off.uuid).result(10)
    assert not result.ok
    assert result.message.startswith(f"Could not pause {off.name}")
    assert "Traceback" not in result.message and result.message.endswith(".")


def test_readonly_refuses_every_action(rec: Recorder, node_xml: Callable[[int], str]) -> None:
    mgr = HostManager(rec, readonly=True)
    try:
        uri = node_xml(2)
        worker = mgr.add(uri)
        wait_for(lambda: uri in rec.inventory.listed, 10)
        before = {vm.key: vm for vm in rec.inventory.vm_list()}
        for action in Action:
            for vm in before.values():
                result = worker.act(action, vm.uuid).result(10)
                assert not result.ok and "Read-only mode refused" in result.message
        assert {vm.key: vm for vm in rec.inventory.vm_list()} == before
    finally:
        mgr.stop()


def test_events_from_another_client_update_the_model(rec: Recorder) -> None:
    # test:///default is private to this process; a second handle on the same
    # connection object is a different client changing state under us.
    mgr = HostManager(rec)
    try:
        worker = mgr.add("test:///default")
        wait_for(lambda: "test:///default" in rec.inventory.listed, 10)
        vm = rec.inventory.vm_list()[0]
        done = worker.call(lambda conn: conn.lookupByUUIDString(vm.uuid).suspend()).result(10)
        assert done is None or done == 0
        wait_for(lambda: rec.inventory.vms[vm.key].state is VMState.PAUSED, 10, "pause event")
        assert any(
            isinstance(u, DomainChanged) and u.vm.state is VMState.PAUSED for u in rec.updates
        )
        worker.call(lambda conn: conn.lookupByUUIDString(vm.uuid).resume()).result(10)
        wait_for(lambda: rec.inventory.vms[vm.key].state is VMState.RUNNING, 10, "resume event")
    finally:
        mgr.stop()


def test_burst_of_events_ends_consistent(rec: Recorder, node_xml: Callable[[int], str]) -> None:
    mgr = HostManager(rec)
    try:
        uri = node_xml(20)
        worker = mgr.add(uri)
        wait_for(lambda: uri in rec.inventory.listed, 10)

        before = {vm.uuid: vm.state.value for vm in rec.inventory.vm_list()}
        changes = sum(isinstance(u, DomainChanged) for u in rec.updates)

        def burst(conn: libvirt.virConnect) -> None:
            # 20 VMs x 11 toggles: a burst of 220 lifecycle events. Odd, so every VM ends
            # in the other state: a model that missed the events would still say `before`.
            for dom in conn.listAllDomains(0):
                for _ in range(11):
                    if dom.isActive():
                        dom.destroy()
                    else:
                        dom.create()

        worker.call(burst).result(30)
        truth = worker.call(
            lambda conn: {d.UUIDString(): d.info()[0] for d in conn.listAllDomains(0)}
        ).result(10)
        assert all(truth[uuid] != state for uuid, state in before.items())

        def consistent() -> bool:
            mine = {vm.uuid: vm.state.value for vm in rec.inventory.vm_list()}
            return mine == truth

        wait_for(consistent, 20, "the model to match listAllDomains")
        # Each event is one re-read of its VM: none was dropped or merged.
        wait_for(
            lambda: sum(isinstance(u, DomainChanged) for u in rec.updates) - changes >= 220,
            20,
            "one update per event",
        )
    finally:
        mgr.stop()


def test_unreachable_host_fails_with_a_sentence(rec: Recorder) -> None:
    mgr = HostManager(rec, reconnect=False)
    try:
        uri = "qemu+ssh://root@nonexistent.invalid/system"
        mgr.add(uri)
        key = uri + "?no_tty=1"
        wait_for(
            lambda: (
                key in rec.inventory.hosts and rec.inventory.hosts[key].state is HostState.FAILED
            ),
            30,
        )
        error = rec.inventory.hosts[key].error
        assert error == "The host name nonexistent.invalid could not be resolved."
        result = mgr.get(key).act(Action.START, "00000000-0000-0000-0000-000000000001").result(5)
        assert not result.ok and "disconnected" in result.message
    finally:
        mgr.stop()


class FakeClock:
    """The worker's monotonic clock, moved by hand: backoff steps without waiting them."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_reconnect_backoff_steps_then_connects(rec: Recorder, tmp_path: Path) -> None:
    # A real failing connection: the test driver refuses a node file that is not there.
    node = tmp_path / "node.xml"
    clock = FakeClock()
    worker = HostWorker(parse_uri(f"test://{node}"), rec, clock=clock)

    def attempts() -> int:  # each failed attempt reports the host disconnected once
        return sum(
            isinstance(u, HostChanged) and u.host.state is HostState.DISCONNECTED
            for u in rec.updates
        )

    def settle() -> None:
        # The worker checks the clock before taking each job: once the second of two
        # jobs has run, it has looked at the clock as it is now at least once.
        for _ in range(2):
            worker.call(lambda _conn: None).exception(10)
        # An attempt it started runs on a thread of its own: wait for its result taken.
        wait_for(lambda: not worker.opening, 10, "the attempt to end")

    worker.start()
    try:
        wait_for(lambda: rec.inventory.hosts.get(worker.host_id) is not None
                 and rec.inventory.hosts[worker.host_id].state is HostState.DISCONNECTED,
                 10, "the first failure")
        assert attempts() == 1 and rec.inventory.hosts[worker.host_id].error
        expected = [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
        assert list(BACKOFF) == expected[:5]
        for delay in expected:
            count = attempts()
            clock.now += delay - 0.5
            settle()
            assert attempts() == count, f"retried before {delay:g} s"
            clock.now += 0.5
            settle()
            assert attempts() == count + 1, f"no retry after {delay:g} s"
        node.write_text(
            "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores>"
            "<threads>1</threads><mhz>2000</mhz></cpu><memory>8388608</memory></node>"
        )
        clock.now += 10.0
        settle()
        assert rec.inventory.hosts[worker.host_id].state is HostState.CONNECTED
    finally:
        worker.stop()


def test_a_uri_whose_driver_is_missing_fails_once_and_is_not_retried(
    rec: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This libvirt has no xen driver: no retry can cure that, so the host is failed with
    the reason instead of cycling disconnected -> connecting forever."""
    from tvirt import host
    from tvirt.host import Disconnected
    from tvirt.updates import HostChanged

    # No back-off: a worker that retries would try again before each job below.
    monkeypatch.setattr(host, "BACKOFF", (0.0,))
    mgr = HostManager(rec, reconnect=True)
    try:
        uri = "xen:///system"
        worker = mgr.add(uri)
        wait_for(lambda: worker.info.state is HostState.FAILED, 30, "the host to fail")
        for _ in range(5):
            with pytest.raises(Disconnected):
                worker.call(lambda conn: conn.getType()).result(10)
        # Workers start "connecting"; the one change is to failed, with no retry after it.
        states = [u.host.state for u in rec.updates if isinstance(u, HostChanged)]
        assert states == [HostState.FAILED]
        assert rec.inventory.hosts[uri].error == (
            "libvirt on the local host has no driver for this URI (No connection driver "
            "available for xen:///system), so it is not retried; install that driver or "
            "correct the URI."
        )
    finally:
        mgr.stop()
