"""Real ssh failures against the test bed's sshd each become one clear sentence."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import Testbed, need, wait_for
from tvirt.inventory import Inventory
from tvirt.manager import HostManager
from tvirt.model import HostState

pytestmark = pytest.mark.real


def first_error(uri: str) -> str:
    inventory = Inventory()
    manager = HostManager(inventory.apply, reconnect=False)
    try:
        worker = manager.add(uri)

        def settled() -> bool:
            host = inventory.hosts.get(worker.host_id)
            return host is not None and host.state in (HostState.FAILED, HostState.CONNECTED)

        wait_for(settled, 60, f"{uri} to connect or fail")
        host = inventory.hosts[worker.host_id]
        assert host.state is HostState.FAILED, f"{uri} unexpectedly connected"
        return host.error
    finally:
        manager.stop()


def test_unknown_host_key(testbed: Testbed) -> None:
    # 'localhost' is the same sshd, but only 127.0.0.1's key is in known_hosts, and
    # tvirt never turns host-key checking off.
    error = first_error(f"qemu+ssh://root@localhost:{testbed.ssh_port}/system")
    assert error.startswith("The host key of localhost is unknown or has changed")


def test_permission_denied(testbed: Testbed) -> None:
    error = first_error(f"qemu+ssh://nobody@127.0.0.1:{testbed.ssh_port}/system")
    assert error == (
        "Permission denied by 127.0.0.1: ssh could not log in with your keys or agent."
    )


def test_connection_refused(testbed: Testbed) -> None:
    error = first_error("qemu+ssh://root@127.0.0.1:1/system")
    assert "refused the connection" in error


def test_wrong_socket_path(testbed: Testbed) -> None:
    # With socket= libvirt runs nc on the far end (this machine's sshd): netcat must be
    # installed for the socket itself to be what fails.
    if shutil.which("nc") is None:
        need("netcat (nc) is not installed; scripts/install-system.sh installs netcat-openbsd")
    error = first_error(testbed.ssh_uri + "&socket=/run/libvirt/no-such-sock")
    assert error.startswith("The libvirt socket was not found on 127.0.0.1")


def test_proxy_program_missing_on_the_far_host(testbed: Testbed) -> None:
    program = f"tvirt-no-such-netcat-{os.getpid()}"
    assert shutil.which(program) is None
    error = first_error(testbed.ssh_uri + f"&netcat={program}")
    assert error == (
        f"{program}, the program named by the URI's netcat= option, is not installed on "
        "127.0.0.1: install it there, or correct or drop the netcat= option."
    )


def test_good_ssh_uri_connects(testbed: Testbed) -> None:
    inventory = Inventory()
    manager = HostManager(inventory.apply, reconnect=False)
    try:
        worker = manager.add(testbed.ssh_uri)
        wait_for(lambda: worker.host_id in inventory.listed, 60, "listing over ssh")
        host = inventory.hosts[worker.host_id]
        assert host.state is HostState.CONNECTED and host.hypervisor == "QEMU"
        assert "no_tty=1" in host.uri
    finally:
        manager.stop()
