"""The VM operations (tvirt.ops.vms): the lifecycle through one entry point, reading a VM
and its XML, cloning and deleting; read-only mode refuses before the host is asked, and
a failure is one sentence. On libvirt's test driver, and cloning on the real libvirtd."""

from __future__ import annotations

import os
from collections.abc import Callable

import libvirt
import pytest
from ops_hosts import opened, undefine_if_present

from conftest import Testbed
from tvirt.actions import Action
from tvirt.clone import CloneError
from tvirt.model import VMState
from tvirt.ops import vms
from tvirt.ops.run import Failed, Refused

AFTER = "; restart tvirt without --readonly to make changes."


def test_act_info_xml_clone_and_delete(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm = host.vm("vm0001")  # shut off
        result = vms.act(host.worker, Action.START, vm.uuid).result(10)
        assert result.ok and result.message == f"Started vm0001 on {host.worker.label}."
        assert vms.info(host.worker, vm.uuid).result(10).state is VMState.RUNNING
        assert "<name>vm0001</name>" in vms.xml(host.worker, vm.uuid, inactive=True).result(10)
        vms.settled(host.worker).result(10)
        # The worker told its sink too, so a table following it sees the change.
        assert host.vm("vm0001").state is VMState.RUNNING
        vms.act(host.worker, Action.FORCE_OFF, vm.uuid).result(10)
        said = vms.clone(host.worker, vm, "vm0001-copy").result(10)
        assert said == "Cloned vm0001 to vm0001-copy; it is shut off."
        copy = host.vm("vm0001-copy")
        assert copy.uuid != vm.uuid and copy.state is VMState.SHUTOFF
        gone = vms.delete(host.worker, copy.uuid).result(10)
        assert gone.ok and gone.message == f"Deleted vm0001-copy on {host.worker.label}."
        with pytest.raises(Failed):
            vms.info(host.worker, copy.uuid).result(10)


def test_read_only_refuses_every_change_and_still_reads(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2), readonly=True) as host:
        vm = host.vm("vm0001")
        label = host.worker.label
        result = vms.act(host.worker, Action.START, vm.uuid).result(10)
        assert not result.ok
        assert result.message == f"Read-only mode refused to start vm0001 on {label}{AFTER}"
        deleted = vms.delete(host.worker, vm.uuid, remove_storage=True).result(10)
        assert deleted.message == f"Read-only mode refused to delete vm0001 on {label}{AFTER}"
        future = vms.clone(host.worker, vm, "vm0001-copy")
        # Refused before the host is asked: nothing was queued on its worker.
        assert future.done()
        with pytest.raises(Refused) as caught:
            future.result()
        assert str(caught.value) == f"Read-only mode refused to clone vm0001 on {label}{AFTER}"
        assert vms.info(host.worker, vm.uuid).result(10).state is VMState.SHUTOFF
        assert not host.recorder.inventory.find("vm0001-copy")


def test_failures_are_one_sentence(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        running = host.vm("vm0000")
        result = vms.act(host.worker, Action.START, running.uuid).result(10)
        assert not result.ok and result.message.startswith(
            f"Could not start vm0000 on {host.worker.label}: "
        )
        assert "already running" in result.message and "\n" not in result.message
        with pytest.raises(CloneError) as caught:  # tvirt's own refusal, not libvirt's
            vms.clone(host.worker, running, "copy").result(10)
        assert str(caught.value) == "vm0000 must be shut off to be cloned, so its disks agree."
        with pytest.raises(Failed) as missing:
            vms.xml(host.worker, "00000000-0000-0000-0000-00000000dead").result(10)
        text = str(missing.value)
        assert "Domain not found" in text and text.endswith(".") and "\n" not in text
        assert missing.value.host == host.worker.label


@pytest.mark.real
def test_clone_and_delete_on_the_real_host(testbed: Testbed, guest: str) -> None:
    name = f"tvirt-ops-clone-{os.getpid()}"
    with opened(testbed.qemu_uri) as host:
        vm = host.vm(guest)
        with pytest.raises(CloneError) as taken:
            vms.clone(host.worker, vm, guest).result(60)
        assert str(taken.value) == f"A VM named {guest} already exists."
        try:
            assert vms.clone(host.worker, vm, name).result(60) == (
                f"Cloned {guest} to {name}; it is shut off."
            )
            copy = host.vm(name)
            assert "<kernel>" in vms.xml(host.worker, copy.uuid, inactive=True).result(30)
            result = vms.delete(host.worker, copy.uuid).result(60)
            assert result.ok, result.message
        finally:
            undefine_if_present(testbed.qemu_uri, name)
        conn = libvirt.open(testbed.qemu_uri)
        try:
            assert name not in [d.name() for d in conn.listAllDomains(0)]
        finally:
            conn.close()
