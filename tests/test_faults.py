"""A killed ssh connection (EOF on the ssh transport): the host shows as disconnected, an
action meanwhile reports failure, and a new ssh connection is made. (A restarted libvirtd
is in test_real_qemu.py; a frozen or cut-off host, noticed by keepalive, on the lab in
test_lab_hostloss.py, which replaced freezing the shared test bed's libvirtd here.)
"""

from __future__ import annotations

from collections.abc import Collection

import psutil
import pytest

from conftest import Recorder, Testbed, wait_for
from tvirt.actions import Action
from tvirt.manager import HostManager
from tvirt.model import HostState

pytestmark = pytest.mark.real


def _state(rec: Recorder, host_id: str) -> HostState:
    return rec.inventory.hosts[host_id].state


def _ssh_children(besides: Collection[int] = ()) -> list[psutil.Process]:
    """The ssh clients libvirt spawned for qemu+ssh connections of this process, less
    those already there before (`besides`: pids seen before the test's own connection;
    an earlier test's connection may still be closing)."""
    me = psutil.Process()
    found = []
    for proc in me.children(recursive=True):
        try:
            ours = proc.name() == "ssh" and "virt-ssh-helper" in " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            continue
        if ours and proc.pid not in besides:
            found.append(proc)
    return found


def test_killed_ssh_connection_disconnects_and_reconnects(testbed: Testbed) -> None:
    rec = Recorder()
    manager = HostManager(rec)
    try:
        before = {p.pid for p in _ssh_children()}
        worker = manager.add(testbed.ssh_uri)
        wait_for(lambda: worker.host_id in rec.inventory.listed, 60, "listing over ssh")
        (ssh,) = _ssh_children(before)
        ssh.kill()
        wait_for(lambda: _state(rec, worker.host_id) is not HostState.CONNECTED, 30,
                 "the host to show disconnected")
        assert rec.inventory.hosts[worker.host_id].error
        result = worker.act(Action.START, "00000000-0000-0000-0000-000000000000").result(30)
        assert not result.ok
        wait_for(lambda: _state(rec, worker.host_id) is HostState.CONNECTED, 60, "reconnect")
        assert [p for p in _ssh_children(before) if p.pid != ssh.pid]
    finally:
        manager.stop()
