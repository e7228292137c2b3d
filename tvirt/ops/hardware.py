"""A VM's hardware: the overview with its device list, and every change to it (memory,
vCPUs, disks, CD media, NICs, boot order, the config XML). tvirt.vmhardware does the work
on the host's worker; each change returns its sentence, which says where it took effect."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future

import libvirt

from tvirt import vmhardware as hw
from tvirt.model import VMInfo
from tvirt.ops.run import Host, on_vm

Change = Callable[[libvirt.virConnect, libvirt.virDomain], str]


def _change(host: Host, vm: VMInfo, what: str, job: Change) -> Future[str]:
    """`what` is the verb phrase of the change ("change the memory of"): read-only mode
    refuses it with the VM's name."""
    return on_vm(host, vm.uuid, job, change=f"{what} {vm.name}")


def overview(host: Host, vm: VMInfo) -> Future[hw.Overview]:
    """Name, state, uptime, vCPUs, memory (now and at the next boot), boot order, devices."""
    return on_vm(host, vm.uuid, hw.overview)


def config_xml(host: Host, vm: VMInfo) -> Future[str]:
    """The config XML, the one an edit starts from and define_xml saves."""
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE
    return on_vm(host, vm.uuid, lambda _conn, dom: str(dom.XMLDesc(flags)))


def define_xml(host: Host, vm: VMInfo, text: str) -> Future[str]:
    """Define hand-edited XML for the VM; it must keep the VM's name and UUID."""
    return _change(
        host, vm, "change the XML of", lambda conn, dom: hw.define_edited_xml(conn, dom, text)
    )


def set_memory(host: Host, vm: VMInfo, mib: int, *, live: bool = True) -> Future[str]:
    return _change(
        host, vm, "change the memory of", lambda conn, dom: hw.set_memory(conn, dom, mib, live)
    )


def set_max_memory(host: Host, vm: VMInfo, mib: int) -> Future[str]:
    return _change(
        host, vm, "change the maximum memory of",
        lambda conn, dom: hw.set_max_memory(conn, dom, mib),
    )


def set_vcpus(host: Host, vm: VMInfo, count: int, *, live: bool = True) -> Future[str]:
    return _change(
        host, vm, "change the vCPUs of", lambda conn, dom: hw.set_vcpus(conn, dom, count, live)
    )


def add_disk(
    host: Host, vm: VMInfo, path: str, bus: str = "virtio", *, cdrom: bool = False
) -> Future[str]:
    """Attach a volume's or file's path as a disk, or a CD drive (empty without a path)."""
    return _change(
        host, vm, "add a disk to", lambda conn, dom: hw.add_disk(conn, dom, path, bus, cdrom)
    )


def remove_disk(host: Host, vm: VMInfo, target: str) -> Future[str]:
    """Detach the disk or CD drive with this target (vdb, sda); its storage is kept."""
    return _change(host, vm, "remove a disk from", lambda _conn, dom: hw.remove_disk(dom, target))


def change_media(host: Host, vm: VMInfo, target: str, path: str) -> Future[str]:
    """Insert the image at path into the CD drive target, or eject it (path empty)."""
    return _change(
        host, vm, "change the CD media of",
        lambda conn, dom: hw.change_media(conn, dom, target, path),
    )


def add_nic(
    host: Host, vm: VMInfo, kind: str, source: str, model: str = "virtio", mac: str = ""
) -> Future[str]:
    """A NIC on a libvirt network (kind "network") or a host bridge (kind "bridge")."""
    return _change(
        host, vm, "add a NIC to",
        lambda conn, dom: hw.add_nic(conn, dom, kind, source, model, mac),
    )


def remove_nic(host: Host, vm: VMInfo, mac: str) -> Future[str]:
    return _change(host, vm, "remove a NIC from", lambda _conn, dom: hw.remove_nic(dom, mac))


def set_boot_order(host: Host, vm: VMInfo, order: list[str]) -> Future[str]:
    """The config's boot devices in order, from hw.BOOT_DEVICES."""
    devices = list(order)
    return _change(
        host, vm, "change the boot order of",
        lambda conn, dom: hw.set_boot_order(conn, dom, devices),
    )
