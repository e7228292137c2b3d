"""Creating a VM from a `VMSpec`. Every function here runs on the host's worker thread."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from tvirt import validate
from tvirt.errors import TvirtError, explain
from tvirt.vmspec import DiskKind, HostLimits, VMSpec, build_xml, problems, spec_paths


class CreateError(TvirtError):
    """A sentence saying why the VM was not created; nothing is left behind."""


@dataclass(frozen=True)
class Created:
    name: str
    uuid: str
    state: str
    disk_path: str
    message: str


def host_limits(conn: libvirt.virConnect) -> HostLimits:
    memory_mib, cpus, max_vcpus, types, nested = _resources(conn)
    pools = conn.listAllStoragePools(0)
    return HostLimits(
        memory_mib=memory_mib,
        cpus=cpus,
        max_vcpus=max_vcpus,
        domain_types=types,
        nested=nested,
        existing_names=frozenset(d.name() for d in conn.listAllDomains(0)),
        pools=tuple(p.name() for p in pools),
        networks=tuple(n.name() for n in conn.listAllNetworks(0)),
        pool_free=tuple((p.name(), int(p.info()[3])) for p in pools if p.isActive()),
    )


def resource_limits(conn: libvirt.virConnect) -> HostLimits:
    """Only the host's memory and vCPU limits: what a hardware change is checked against,
    read the same way as for a new VM but without listing VMs, pools and networks."""
    memory_mib, cpus, max_vcpus, types, nested = _resources(conn)
    return HostLimits(
        memory_mib=memory_mib, cpus=cpus, max_vcpus=max_vcpus, domain_types=types, nested=nested
    )


def _resources(conn: libvirt.virConnect) -> tuple[int, int, int, tuple[str, ...], bool]:
    info = conn.getInfo()
    caps = ET.fromstring(conn.getCapabilities())
    types = sorted(
        {d.get("type", "") for d in caps.iter("domain") if d.get("type")},
        key=lambda t: (t != "kvm", t),
    )
    if "kvm" in types and not _kvm_usable(conn):
        types.remove("kvm")  # listed, but libvirt cannot open /dev/kvm for a guest
    try:
        max_vcpus = conn.getMaxVcpus(types[0] if types else None)
    except libvirt.libvirtError:
        max_vcpus = int(info[2])
    nested = caps.find("./host/cpu/feature[@name='hypervisor']") is not None
    return int(info[1]), int(info[2]), max_vcpus, tuple(types), nested


def path_problems(conn: libvirt.virConnect, spec: VMSpec, step: str = "") -> list[str]:
    """Files the spec names (or one wizard step's) that do not exist on the host."""
    found = []
    for what, path in spec_paths(spec, step):
        try:
            validate.existing_path(conn, path, what)
        except validate.Invalid as exc:
            found.append(str(exc))
    return found


def _kvm_usable(conn: libvirt.virConnect) -> bool:
    """libvirt's own probe of KVM (/dev/kvm there and usable by QEMU) for this host."""
    try:
        conn.getDomainCapabilities(None, None, None, "kvm", 0)
    except libvirt.libvirtError:
        return False
    return True


def default_domain_type(limits: HostLimits) -> str:
    """kvm where the host offers it and is not itself a VM; else plain emulation (or the
    driver's only type, e.g. the test driver's)."""
    return choose_domain_type(limits)[0]


def choose_domain_type(limits: HostLimits) -> tuple[str, str]:
    """The virtualization type a new VM gets unless one is typed, and why, in words.

    On a host that is itself a VM, KVM is nested: where the outer hypervisor does not pass
    virtualization through, a kvm guest spins at 100% with a blank console, so emulation
    is the default there and kvm stays one word away."""
    types = limits.domain_types
    if "kvm" in types and not limits.nested:
        return "kvm", "kvm: the host offers KVM hardware virtualization (fast)."
    if "kvm" in types and "qemu" in types:
        return "qemu", (
            "qemu: this host is itself a virtual machine (its CPU has the hypervisor flag), "
            "where nested KVM guests often hang with a blank console; qemu emulates the CPU "
            "(TCG), slower but sure. Type kvm to try KVM anyway."
        )
    if "qemu" in types:
        return "qemu", (
            "qemu: the host offers no usable KVM (libvirt cannot use /dev/kvm), so the CPU "
            "is emulated (TCG), which is slower."
        )
    kind = types[0] if types else "qemu"
    return kind, f"{kind}: the only type this host offers."


def stall_hint(domain_type: str) -> str:
    """What to try when a started guest shows nothing on its console."""
    if domain_type == "kvm":
        return (
            "If it stays blank while its CPU is near 100%, KVM may not work on this host "
            "(nested virtualization): recreate it with virtualization type qemu. Otherwise "
            "its kernel may not write to the serial console (console=ttyS0)."
        )
    return (
        "Its kernel may not write to the serial console (console=ttyS0), or it is still "
        "booting: emulation (qemu) is slow. Press Enter in the console for a prompt."
    )


def create(
    conn: libvirt.virConnect, spec: VMSpec, *, xml: str = "", start: bool = False
) -> Created:
    """Validate, make the new volume, define, optionally start; undo everything on failure.

    xml: the (possibly hand-edited) domain XML to define instead of the built one; it must
    then already point at the new volume's path (see planned_disk_path).
    """
    found = problems(spec, host_limits(conn)) or path_problems(conn, spec)
    if found:
        raise CreateError(" ".join(found))
    vol = None
    disk_path = ""
    try:
        if spec.disk is DiskKind.NEW:
            vol = _new_volume(conn, spec)
            disk_path = vol.path()
        elif spec.disk is DiskKind.EXISTING:
            disk_path = spec.disk_path
        fmt = spec.disk_format if spec.disk is DiskKind.NEW else _format_of(conn, disk_path)
        dom = conn.defineXML(xml or build_xml(spec, disk_path, fmt))
    except libvirt.libvirtError as exc:
        _remove(vol)
        # libvirt's own words: they name the element it refused in the (edited) XML.
        reason = " ".join(str(exc.get_error_message() or exc).split())
        raise CreateError(f"Could not create {spec.name}: {reason}") from None
    state = "shut off"
    message = f"Created {spec.name}."
    if start:
        try:
            dom.create()
            state = "running"
            message = f"Created and started {spec.name}."
        except libvirt.libvirtError as exc:
            message = f"Created {spec.name}, but it did not start: {explain(exc)}"
    return Created(spec.name, dom.UUIDString(), state, disk_path, message)


def planned_disk_path(conn: libvirt.virConnect, spec: VMSpec) -> str:
    """Where the new volume will be, so the summary's XML can show it before it exists."""
    if spec.disk is DiskKind.EXISTING:
        return spec.disk_path
    if spec.disk is not DiskKind.NEW or not spec.disk_pool:
        return ""
    pool = conn.storagePoolLookupByName(spec.disk_pool)
    target = ET.fromstring(pool.XMLDesc(0)).findtext("target/path") or ""
    return f"{target.rstrip('/')}/{spec.disk_volume_name}" if target else ""


def _new_volume(conn: libvirt.virConnect, spec: VMSpec) -> libvirt.virStorageVol:
    """Through the storage code, which checks the name, format and free space."""
    from tvirt.storage import StorageError, VolumeSpec, volume_create

    try:
        info = volume_create(
            conn,
            spec.disk_pool,
            VolumeSpec(spec.disk_volume_name, spec.disk_size_mib * 1024 * 1024, spec.disk_format),
        )
    except StorageError as exc:
        raise CreateError(f"Could not make the disk of {spec.name}: {exc}") from None
    return conn.storageVolLookupByPath(info.path)


def _format_of(conn: libvirt.virConnect, path: str) -> str:
    if not path:
        return ""
    try:
        xml = conn.storageVolLookupByPath(path).XMLDesc(0)
    except libvirt.libvirtError:
        return ""  # a plain file outside any pool: guessed from its name
    fmt = ET.fromstring(xml).find("target/format")
    return fmt.get("type", "") if fmt is not None else ""


def _remove(vol: libvirt.virStorageVol | None) -> None:
    if vol is None:
        return
    try:
        vol.delete(0)
    except libvirt.libvirtError:
        pass  # best effort: the define error is what the user needs to read
