"""What a new VM should be (`VMSpec`), its validation, and the domain XML built from it.

No libvirt here: the spec is checked against plain host limits and turned into XML with
ElementTree, so user values are always escaped. `vmcreate.py` does the libvirt part.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from enum import Enum

from tvirt import validate
from tvirt.sizes import format_size

MIN_MEMORY_MIB = validate.MIN_MEMORY_MIB
MAX_DISK_MIB = 64 * 1024 * 1024  # 64 TiB: anything larger is a typo


class Source(Enum):
    """How the new VM gets its operating system."""

    ISO = "iso"
    KERNEL = "kernel"
    IMPORT = "import"
    PXE = "pxe"


class DiskKind(Enum):
    NEW = "new"
    EXISTING = "existing"
    NONE = "none"


class NetKind(Enum):
    NETWORK = "network"
    BRIDGE = "bridge"
    NONE = "none"


# The OS hint picks the device models: virtio for guests that have drivers, emulated
# devices that every OS knows otherwise.
OS_HINTS: dict[str, tuple[str, str, str]] = {
    # hint: (disk bus, disk target prefix, NIC model)
    "linux": ("virtio", "vd", "virtio"),
    "generic": ("sata", "sd", "e1000"),
    "windows": ("sata", "sd", "e1000"),
}
DISK_FORMATS = ("qcow2", "raw")


@dataclass(frozen=True)
class HostLimits:
    """What the host can give, read on the worker thread (see vmcreate.host_limits)."""

    memory_mib: int
    cpus: int
    max_vcpus: int
    domain_types: tuple[str, ...] = ("qemu",)
    # The host's CPU has the 'hypervisor' flag: it is itself a VM, so KVM would be nested.
    nested: bool = False
    existing_names: frozenset[str] = frozenset()
    pools: tuple[str, ...] = ()
    networks: tuple[str, ...] = ()
    # (pool, bytes available) for the running pools; an inactive pool's space is unknown.
    pool_free: tuple[tuple[str, int], ...] = ()

    def free_bytes(self, pool: str) -> int | None:
        return dict(self.pool_free).get(pool)

    @property
    def vcpu_limit(self) -> int:
        """The most vCPUs a VM may have here: no more than the host's CPUs."""
        return min(self.cpus, self.max_vcpus)


@dataclass(frozen=True)
class VMSpec:
    name: str
    memory_mib: int = 512
    vcpus: int = 1
    source: Source = Source.PXE
    iso: str = ""  # path of the ISO (a file or a pool volume's path)
    kernel: str = ""
    initrd: str = ""
    cmdline: str = ""
    disk: DiskKind = DiskKind.NONE
    disk_pool: str = ""
    disk_size_mib: int = 0
    disk_format: str = "qcow2"
    disk_path: str = ""  # existing volume or file (also the disk to import)
    net: NetKind = NetKind.NETWORK
    net_source: str = "default"
    serial: bool = True
    graphics: bool = False
    os_hint: str = "linux"
    domain_type: str = "qemu"
    arch: str = "x86_64"
    machine: str = "pc"

    @property
    def disk_volume_name(self) -> str:
        return f"{self.name}.{self.disk_format}"


def parse_size_mib(text: str, what: str = "size") -> int:
    """Memory ('memory') or a disk size in MiB, parsed by the shared checks
    (tvirt.validate); the memory's bounds are checked with the other resources."""
    return validate.parse_memory(text) if what == "memory" else validate.size_mib(text)


def name_problem(name: str, existing: frozenset[str] = frozenset()) -> str:
    """The sentence why `name` cannot name a VM, or ""."""
    try:
        validate.name(name, "VM", existing)
    except validate.Invalid as exc:
        return str(exc)
    return ""


# The wizard's steps, in order; problems() checks them all, step_problems() one.
STEPS = ("name and source", "memory and CPUs", "disk", "network and options")


def problems(spec: VMSpec, limits: HostLimits | None = None) -> list[str]:
    """Every reason the spec cannot be created, one sentence each; empty means fine."""
    return [p for step in STEPS for p in step_problems(spec, step, limits)]


def step_problems(spec: VMSpec, step: str, limits: HostLimits | None = None) -> list[str]:
    if step == STEPS[0]:
        existing = limits.existing_names if limits else frozenset()
        problem = name_problem(spec.name, existing)
        return ([problem] if problem else []) + _source_problems(spec)
    if step == STEPS[1]:
        return _resource_problems(spec, limits)
    if step == STEPS[2]:
        return _disk_problems(spec, limits)
    found = _net_problems(spec, limits)
    if spec.os_hint not in OS_HINTS:
        found.append(f"The OS hint must be one of {', '.join(OS_HINTS)}, not {spec.os_hint!r}.")
    if limits and spec.domain_type not in limits.domain_types:
        found.append(
            f"This host cannot run {spec.domain_type!r} guests; it offers "
            f"{', '.join(limits.domain_types) or 'none'}."
        )
    return found


def _resource_problems(spec: VMSpec, limits: HostLimits | None) -> list[str]:
    found = []
    try:
        validate.check_memory(spec.memory_mib, limits.memory_mib if limits else None)
    except validate.Invalid as exc:
        found.append(str(exc))
    try:
        validate.vcpus(spec.vcpus, limits.vcpu_limit if limits else None)
    except validate.Invalid as exc:
        found.append(str(exc))
    return found


def _source_problems(spec: VMSpec) -> list[str]:
    if spec.source is Source.ISO and not spec.iso:
        return ["Installing from an ISO needs the ISO's path."]
    if spec.source is Source.KERNEL and not spec.kernel:
        return ["Direct kernel boot needs the kernel's path."]
    if spec.source is Source.IMPORT and (spec.disk is not DiskKind.EXISTING or not spec.disk_path):
        return ["Importing needs an existing disk's path."]
    for what, path in spec_paths(spec, STEPS[0]):
        try:
            validate.absolute_path(path, what)
        except validate.Invalid as exc:
            return [str(exc)]
    return []


def spec_paths(spec: VMSpec, step: str = "") -> list[tuple[str, str]]:
    """(what, path) of every file the spec names, or of one step's: each must exist on the
    host (validate.existing_path, checked on the worker)."""
    first = [("ISO image", spec.iso), ("kernel", spec.kernel), ("initrd", spec.initrd)]
    if spec.source is Source.IMPORT:
        first.append(("disk image", spec.disk_path))
    disk = [("disk image", spec.disk_path)] if spec.disk is DiskKind.EXISTING else []
    if spec.source is Source.IMPORT:
        disk = []
    chosen = {STEPS[0]: first, STEPS[2]: disk}.get(step, []) if step else first + disk
    return [(what, path) for what, path in chosen if path]


def _disk_problems(spec: VMSpec, limits: HostLimits | None) -> list[str]:
    if spec.disk is DiskKind.NEW:
        found = []
        if not spec.disk_pool:
            found.append("A new disk needs a storage pool.")
        elif limits and spec.disk_pool not in limits.pools:
            found.append(f"There is no storage pool called {spec.disk_pool!r} on this host.")
        if spec.disk_size_mib < 1:
            found.append("A new disk needs a size of at least 1 MiB.")
        elif spec.disk_size_mib > MAX_DISK_MIB:
            found.append(f"A new disk of {spec.disk_size_mib} MiB is larger than 64 TiB.")
        if spec.disk_format not in DISK_FORMATS:
            found.append(
                f"The disk format must be one of {', '.join(DISK_FORMATS)}, "
                f"not {spec.disk_format!r}."
            )
        return found
    if spec.disk is DiskKind.EXISTING and spec.source is not Source.IMPORT:
        try:
            validate.absolute_path(spec.disk_path, "disk image")
        except validate.Invalid as exc:
            return [str(exc)]
    return []


def disk_space_warning(spec: VMSpec, limits: HostLimits | None) -> str:
    """A warning (or "") when a new disk is larger than its pool's free space. Not a
    refusal: the volume is sparse and only fills as the guest writes."""
    if spec.disk is not DiskKind.NEW or limits is None:
        return ""
    free = limits.free_bytes(spec.disk_pool)
    size = spec.disk_size_mib * 1024 * 1024
    if free is None or size <= free:
        return ""
    return (
        f"Warning: a {format_size(size)} disk is more than the {format_size(free)} free in "
        f"pool {spec.disk_pool}; the guest's writes fail once the pool is full."
    )


def _net_problems(spec: VMSpec, limits: HostLimits | None) -> list[str]:
    if spec.net is NetKind.NONE:
        return []
    if not spec.net_source:
        return [f"A {spec.net.value} NIC needs the {spec.net.value}'s name."]
    if spec.net is NetKind.NETWORK and limits and spec.net_source not in limits.networks:
        return [f"There is no libvirt network called {spec.net_source!r} on this host."]
    if spec.net is NetKind.BRIDGE and not re.match(r"^[A-Za-z0-9_.:-]{1,15}$", spec.net_source):
        return [f"{spec.net_source!r} is not a valid bridge name."]
    return []


def build_xml(spec: VMSpec, disk_source: str = "", disk_format: str = "") -> str:
    """The domain XML. disk_source/disk_format: the new volume's path once it exists."""
    bus, prefix, nic_model = OS_HINTS.get(spec.os_hint, OS_HINTS["generic"])
    dom = ET.Element("domain", type=spec.domain_type)
    _text(dom, "name", spec.name)
    _text(dom, "memory", str(spec.memory_mib), unit="MiB")
    _text(dom, "currentMemory", str(spec.memory_mib), unit="MiB")
    _text(dom, "vcpu", str(spec.vcpus), placement="static")
    os_el = ET.SubElement(dom, "os")
    _text(os_el, "type", "hvm", arch=spec.arch, machine=spec.machine)
    if spec.source is Source.KERNEL:
        _text(os_el, "kernel", spec.kernel)
        if spec.initrd:
            _text(os_el, "initrd", spec.initrd)
        if spec.cmdline:
            _text(os_el, "cmdline", spec.cmdline)
    for dev in _boot_order(spec):
        ET.SubElement(os_el, "boot", dev=dev)
    features = ET.SubElement(dom, "features")
    ET.SubElement(features, "acpi")
    ET.SubElement(features, "apic")
    ET.SubElement(dom, "clock", offset="utc")
    _text(dom, "on_poweroff", "destroy")
    _text(dom, "on_reboot", "restart")
    _text(dom, "on_crash", "destroy")
    devices = ET.SubElement(dom, "devices")
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    disk_path = disk_source or spec.disk_path
    if spec.disk is not DiskKind.NONE and disk_path:
        disk = ET.SubElement(devices, "disk", type="file", device="disk")
        ET.SubElement(disk, "driver", name="qemu", type=disk_format or _guess_format(disk_path))
        ET.SubElement(disk, "source", file=disk_path)
        ET.SubElement(disk, "target", dev=f"{prefix}{next(letters)}", bus=bus)
    if spec.source is Source.ISO:
        cd = ET.SubElement(devices, "disk", type="file", device="cdrom")
        ET.SubElement(cd, "driver", name="qemu", type="raw")
        ET.SubElement(cd, "source", file=spec.iso)
        ET.SubElement(cd, "target", dev="sdz" if prefix == "vd" else f"sd{next(letters)}",
                      bus="sata")
        ET.SubElement(cd, "readonly")
    if spec.net is not NetKind.NONE:
        nic = ET.SubElement(devices, "interface", type=spec.net.value)
        ET.SubElement(nic, "source", {spec.net.value: spec.net_source})
        ET.SubElement(nic, "model", type=nic_model)
    if spec.serial:
        serial = ET.SubElement(devices, "serial", type="pty")
        ET.SubElement(serial, "target", port="0")
        console = ET.SubElement(devices, "console", type="pty")
        ET.SubElement(console, "target", type="serial", port="0")
    if spec.graphics:
        graphics = ET.SubElement(devices, "graphics", type="vnc", port="-1", autoport="yes",
                                 listen="127.0.0.1")
        ET.SubElement(graphics, "listen", type="address", address="127.0.0.1")
        video = ET.SubElement(devices, "video")
        ET.SubElement(video, "model", type="vga")
    ET.indent(dom)
    return ET.tostring(dom, encoding="unicode")


def _boot_order(spec: VMSpec) -> list[str]:
    if spec.source is Source.ISO:
        return ["cdrom", "hd"]
    if spec.source is Source.PXE:
        return ["network", "hd"] if spec.disk is not DiskKind.NONE else ["network"]
    if spec.source is Source.KERNEL:
        return []  # the kernel boots directly; a boot element would be ignored
    return ["hd"]


def _guess_format(path: str) -> str:
    return "qcow2" if path.endswith(".qcow2") else "raw"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element
