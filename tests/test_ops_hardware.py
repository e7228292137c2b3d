"""The hardware operations (tvirt.ops.hardware): the overview, every change and the XML
edit run on the host's worker; read-only mode refuses each change before the host is
asked; a refusal or a libvirt failure is one sentence. On libvirt's test driver, and
memory and vCPUs on the real libvirtd's guest."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

import libvirt
import pytest
from ops_hosts import opened

from conftest import Testbed
from tvirt.host import HostWorker
from tvirt.model import VMInfo
from tvirt.ops import hardware
from tvirt.ops.run import Failed, Refused
from tvirt.validate import Invalid
from tvirt.vmhardware import HardwareError

AFTER = "; restart tvirt without --readonly to make changes."
Change = Callable[[HostWorker, VMInfo], Future[str]]

CHANGES: list[tuple[str, Change]] = [
    ("change the memory of", lambda h, vm: hardware.set_memory(h, vm, 32)),
    ("change the maximum memory of", lambda h, vm: hardware.set_max_memory(h, vm, 32)),
    ("change the vCPUs of", lambda h, vm: hardware.set_vcpus(h, vm, 2)),
    ("add a disk to", lambda h, vm: hardware.add_disk(h, vm, "", "sata", cdrom=True)),
    ("remove a disk from", lambda h, vm: hardware.remove_disk(h, vm, "vda")),
    ("change the CD media of", lambda h, vm: hardware.change_media(h, vm, "sda", "")),
    ("add a NIC to", lambda h, vm: hardware.add_nic(h, vm, "network", "default")),
    ("remove a NIC from", lambda h, vm: hardware.remove_nic(h, vm, "52:54:00:00:00:01")),
    ("change the boot order of", lambda h, vm: hardware.set_boot_order(h, vm, ["cdrom"])),
    ("change the XML of", lambda h, vm: hardware.define_xml(h, vm, "<domain/>")),
]


def test_overview_changes_and_the_xml_edit(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm = host.vm("vm0001")  # shut off, 64 MiB, 1 vCPU
        w = host.worker
        before = hardware.overview(w, vm).result(10)
        assert (before.name, before.state, before.memory_mib, before.vcpus) == (
            "vm0001", "shut off", 64, 1)
        assert hardware.set_memory(w, vm, 48).result(10).startswith(
            "Set the memory of vm0001 to 48 MiB in the config")
        assert hardware.set_vcpus(w, vm, 2).result(10) == (
            "Set vm0001 to 2 vCPUs in the config.")
        assert hardware.set_boot_order(w, vm, ["cdrom", "hd"]).result(10) == (
            "Set the boot order of vm0001 to cdrom, hd in the config.")
        after = hardware.overview(w, vm).result(10)
        assert (after.memory_mib, after.vcpus, after.boot_order) == (48, 2, ("cdrom", "hd"))
        xml = hardware.config_xml(w, vm).result(10)
        assert "<boot dev='cdrom'/>" in xml
        edited = xml.replace("<boot dev='cdrom'/>", "")
        assert hardware.define_xml(w, vm, edited).result(10) == (
            "Saved the XML of vm0001 to the config.")
        assert hardware.overview(w, vm).result(10).boot_order == ("hd",)


@pytest.mark.parametrize(("what", "change"), CHANGES, ids=[w for w, _ in CHANGES])
def test_read_only_refuses_each_change_before_the_host_is_asked(
    node_xml: Callable[[int], str], what: str, change: Change
) -> None:
    with opened(node_xml(2), readonly=True) as host:
        vm = host.vm("vm0001")
        before = hardware.config_xml(host.worker, vm).result(10)
        future = change(host.worker, vm)
        assert future.done()  # nothing was queued on the host's worker
        with pytest.raises(Refused) as caught:
            future.result()
        assert str(caught.value) == (
            f"Read-only mode refused to {what} vm0001 on {host.worker.label}{AFTER}")
        assert hardware.config_xml(host.worker, vm).result(10) == before


def test_refusals_and_failures_are_one_sentence(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm = host.vm("vm0001")
        w = host.worker
        with pytest.raises(HardwareError) as ours:
            hardware.remove_disk(w, vm, "vdz").result(10)
        assert str(ours.value) == "vm0001 has no disk 'vdz'."
        with pytest.raises(HardwareError) as renamed:
            xml = hardware.config_xml(w, vm).result(10)
            hardware.define_xml(w, vm, xml.replace("vm0001", "other")).result(10)
        assert str(renamed.value) == (
            "The edited XML must keep the VM's name; use clone for a copy.")
        # The test driver cannot attach devices: libvirt's own words, one line.
        with pytest.raises(Failed) as theirs:
            hardware.add_nic(w, vm, "bridge", "br0").result(10)
        text = str(theirs.value)
        assert "not supported" in text and text.endswith(".") and "\n" not in text
        assert theirs.value.host == w.label


@pytest.mark.real
def test_memory_and_vcpus_on_the_real_guest(testbed: Testbed, guest: str) -> None:
    with opened(testbed.qemu_uri) as host:
        vm = host.vm(guest)  # shut off, 128 MiB, 1 vCPU
        w = host.worker
        try:
            assert hardware.set_memory(w, vm, 96).result(60).startswith(
                f"Set the memory of {guest} to 96 MiB in the config")
            assert hardware.set_vcpus(w, vm, 2).result(60) == (
                f"Set {guest} to 2 vCPUs in the config.")
            now = hardware.overview(w, vm).result(60)
            assert (now.memory_mib, now.vcpus, now.state) == (96, 2, "shut off")
            with pytest.raises(Invalid) as missing:
                hardware.add_disk(w, vm, "/nonexistent/tvirt-ops.qcow2").result(60)
            assert str(missing.value).startswith(
                "There is no disk image at /nonexistent/tvirt-ops.qcow2 on ")
        finally:
            conn = libvirt.open(testbed.qemu_uri)
            try:
                dom = conn.lookupByName(guest)
                config = libvirt.VIR_DOMAIN_AFFECT_CONFIG
                dom.setVcpusFlags(1, config | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
                dom.setMemoryFlags(128 * 1024, config | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
                dom.setMemoryFlags(128 * 1024, config)
            finally:
                conn.close()
