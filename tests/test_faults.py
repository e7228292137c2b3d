"""Faults on the real daemons: a frozen libvirtd and a killed ssh connection.

In every case the host shows as disconnected, an action in flight reports failure, and
the host reconnects when it comes back. (A restarted libvirtd is in test_real_qemu.py.)
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import Future

import psutil
import pytest

from conftest import Recorder, Testbed, libvirtd_pid, wait_for
from tvirt.actions import Action, ActionResult
from tvirt.host import KEEPALIVE_COUNT, KEEPALIVE_INTERVAL
from tvirt.manager import HostManager
from tvirt.model import HostState

pytestmark = pytest.mark.real


def _state(rec: Recorder, host_id: str) -> HostState:
    return rec.inventory.hosts[host_id].state


def test_frozen_daemon_is_detected_by_keepalive_and_recovers(testbed: Testbed) -> None:
    rec = Recorder()
    manager = HostManager(rec)
    pid = libvirtd_pid()
    assert pid is not None
    frozen = False
    try:
        worker = manager.add(testbed.qemu_uri)
        wait_for(lambda: worker.host_id in rec.inventory.listed, 30, "the listing")
        listed = len(rec.updates)
        os.kill(pid, signal.SIGSTOP)
        frozen = True
        # An action sent into the frozen daemon must come back as a failure, not hang.
        in_flight: Future[ActionResult] = worker.act(
            Action.START, "00000000-0000-0000-0000-000000000000"
        )
        # Keepalive gives up after about interval * (count + 1) seconds; wait ten times that.
        wait_for(lambda: _state(rec, worker.host_id) is not HostState.CONNECTED,
                 10 * KEEPALIVE_INTERVAL * (KEEPALIVE_COUNT + 1),
                 "keepalive to notice the frozen daemon")
        result = in_flight.result(30)
        assert not result.ok and result.message.endswith(".")
        # The close reason libvirt gave was the keepalive, not an error or an EOF.
        error = rec.inventory.hosts[worker.host_id].error
        assert error == "Connection lost: no keepalive answer."
        os.kill(pid, signal.SIGCONT)
        frozen = False
        wait_for(lambda: _state(rec, worker.host_id) is HostState.CONNECTED, 60, "reconnect")
        wait_for(lambda: len(rec.updates) > listed, 10, "a fresh listing")
    finally:
        if frozen:
            os.kill(pid, signal.SIGCONT)
        manager.stop()


def _ssh_children() -> list[psutil.Process]:
    """The ssh clients libvirt spawned for our qemu+ssh connections."""
    me = psutil.Process()
    return [p for p in me.children(recursive=True) if p.name() == "ssh"]


def test_killed_ssh_connection_disconnects_and_reconnects(testbed: Testbed) -> None:
    rec = Recorder()
    manager = HostManager(rec)
    try:
        worker = manager.add(testbed.ssh_uri)
        wait_for(lambda: worker.host_id in rec.inventory.listed, 60, "listing over ssh")
        (ssh,) = _ssh_children()
        ssh.kill()
        wait_for(lambda: _state(rec, worker.host_id) is not HostState.CONNECTED, 30,
                 "the host to show disconnected")
        assert rec.inventory.hosts[worker.host_id].error
        result = worker.act(Action.START, "00000000-0000-0000-0000-000000000000").result(30)
        assert not result.ok
        wait_for(lambda: _state(rec, worker.host_id) is HostState.CONNECTED, 60, "reconnect")
        assert _ssh_children() and _ssh_children()[0].pid != ssh.pid
    finally:
        manager.stop()
