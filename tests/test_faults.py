"""A killed ssh connection (EOF on the ssh transport): the host shows as disconnected, an
action meanwhile reports failure, and a new ssh connection is made. (A restarted libvirtd
is in test_real_qemu.py; a frozen or cut-off host, noticed by keepalive, on the lab in
test_lab_hostloss.py, which replaced freezing the shared test bed's libvirtd here.)
"""

from __future__ import annotations

import psutil
import pytest

from conftest import Recorder, Testbed, wait_for
from tvirt.actions import Action
from tvirt.manager import HostManager
from tvirt.model import HostState

pytestmark = pytest.mark.real


def _state(rec: Recorder, host_id: str) -> HostState:
    return rec.inventory.hosts[host_id].state


def _ssh_children() -> list[psutil.Process]:
    """The ssh clients libvirt spawned for our qemu+ssh connections (not, say, a host
    command's ssh master that an earlier test in this process left for its persist time)."""
    me = psutil.Process()
    return [
        p for p in me.children(recursive=True)
        if p.name() == "ssh" and "virt-ssh-helper" in " ".join(p.cmdline())
    ]


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
