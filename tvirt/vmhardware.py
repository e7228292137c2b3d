"""A VM's overview and hardware, and the changes to it. Runs on the host's worker thread.

Every change says where it took effect: "live and in the config", or "in the config
only (takes effect at the next boot)" when libvirt cannot apply it to the running VM.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from tvirt import validate
from tvirt.errors import TvirtError, explain
from tvirt.model import VMState
from tvirt.words import plural

CONFIG: int = libvirt.VIR_DOMAIN_AFFECT_CONFIG
LIVE: int = libvirt.VIR_DOMAIN_AFFECT_LIVE
BOOT_DEVICES = ("hd", "cdrom", "network", "fd")
NIC_MODELS = ("virtio", "e1000", "rtl8139")
DISK_BUSES = ("virtio", "sata", "scsi", "ide", "usb")
MAC_RE = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")


class HardwareError(TvirtError):
    """One sentence: why the change was refused. Nothing was changed."""


@dataclass(frozen=True)
class Device:
    kind: str  # disk, cdrom, nic, controller, serial, console, graphics, video
    key: str  # what identifies it in commands: target dev, MAC, index
    summary: str
    # Of a running VM: "next boot" (only in the config) or "until shutdown" (only live).
    pending: str = ""


@dataclass(frozen=True)
class Overview:
    name: str
    state: str
    uuid: str
    host: str
    uptime_s: float | None
    vcpus: int
    max_vcpus: int
    memory_mib: int
    max_memory_mib: int
    # What the config says, for the next boot (the same as above unless it was changed
    # in the config only while the VM runs).
    next_vcpus: int
    next_memory_mib: int
    next_max_memory_mib: int
    autostart: bool
    persistent: bool
    boot_order: tuple[str, ...]
    devices: tuple[Device, ...]


def overview(conn: libvirt.virConnect, dom: libvirt.virDomain) -> Overview:
    state = VMState.from_libvirt(dom.state()[0])
    root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    live = ET.fromstring(dom.XMLDesc(0))
    max_vcpus, vcpus = _vcpus(live)
    uptime = None
    if dom.isActive():
        try:
            uptime = _uptime(conn, dom)
        except (libvirt.libvirtError, OSError, ValueError):
            uptime = None
    return Overview(
        name=dom.name(),
        state=state.word,
        uuid=dom.UUIDString(),
        host=conn.getHostname(),
        uptime_s=uptime,
        vcpus=vcpus,
        max_vcpus=max_vcpus,
        memory_mib=_kib(live, "currentMemory") // 1024,
        max_memory_mib=_kib(live, "memory") // 1024,
        next_vcpus=_vcpus(root)[1],
        next_memory_mib=_kib(root, "currentMemory") // 1024,
        next_max_memory_mib=_kib(root, "memory") // 1024,
        autostart=bool(dom.autostart()) if dom.isPersistent() else False,
        persistent=bool(dom.isPersistent()),
        boot_order=boot_order(root),
        devices=tuple(merged_devices(live, root) if dom.isActive() else devices(root)),
    )


def next_boot(ov: Overview) -> str:
    """' (next boot: 2 vCPUs, memory 256 of 256 MiB)' when the config differs from the
    running VM, else ''."""
    now = (ov.vcpus, ov.memory_mib, ov.max_memory_mib)
    then = (ov.next_vcpus, ov.next_memory_mib, ov.next_max_memory_mib)
    if now == then:
        return ""
    return (
        f" (next boot: {plural(ov.next_vcpus, 'vCPU')}, memory "
        f"{ov.next_memory_mib} of {ov.next_max_memory_mib} MiB)"
    )


def _vcpus(root: ET.Element) -> tuple[int, int]:
    """(maximum, current) vCPUs of a domain XML."""
    vcpu = root.find("vcpu")
    maximum = int(vcpu.text or 1) if vcpu is not None else 1
    return maximum, int(vcpu.get("current", maximum)) if vcpu is not None else 1


def _uptime(conn: libvirt.virConnect, dom: libvirt.virDomain) -> float | None:
    """From the QEMU process's start on a local host; unknown elsewhere."""
    if not conn.getURI().startswith("qemu:///"):
        return None
    pidfile = f"/run/libvirt/qemu/{dom.name()}.pid"
    with open(pidfile) as f:
        pid = int(f.read().strip())
    with open(f"/proc/{pid}/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        host_up = float(f.read().split()[0])
    return max(0.0, host_up - start_ticks / os.sysconf("SC_CLK_TCK"))


def _kib(root: ET.Element, tag: str) -> int:
    el = root.find(tag)
    if el is None or not el.text:
        return 0
    factor = {"KiB": 1, "k": 1, "MiB": 1024, "M": 1024, "GiB": 1024**2, "G": 1024**2}
    return int(el.text) * factor.get(el.get("unit", "KiB"), 1)


def boot_order(root: ET.Element) -> tuple[str, ...]:
    per_device = []
    for dev in root.find("devices") or []:
        boot = dev.find("boot")
        if boot is not None:
            per_device.append((int(boot.get("order", "0")), _device_key(dev)))
    if per_device:
        return tuple(key for _order, key in sorted(per_device))
    if root.find("os/kernel") is not None:
        return ("kernel",)
    return tuple(b.get("dev", "") for b in root.findall("os/boot"))


def devices(root: ET.Element) -> list[Device]:
    found = []
    for dev in root.find("devices") or []:
        kind = dev.tag
        if dev.tag == "disk":
            kind = "cdrom" if dev.get("device") == "cdrom" else "disk"
            source = dev.find("source")
            path = ""
            if source is not None:
                path = source.get("file") or source.get("dev") or source.get("volume") or ""
            fmt = dev.find("driver")
            bus = dev.find("target")
            summary = (
                f"{path or 'empty'}, bus {bus.get('bus', '?') if bus is not None else '?'}"
                f", format {fmt.get('type', '?') if fmt is not None else '?'}"
            )
        elif dev.tag == "interface":
            kind = "nic"
            source = dev.find("source")
            model = dev.find("model")
            where = ""
            if source is not None:
                where = source.get("network") or source.get("bridge") or ""
            summary = (
                f"{dev.get('type')} {where}, model "
                f"{model.get('type', '?') if model is not None else 'default'}"
            )
        elif dev.tag == "controller":
            summary = f"{dev.get('type')} {dev.get('model', '')}".strip()
        elif dev.tag in ("serial", "console"):
            target = dev.find("target")
            port = target.get("port", "0") if target is not None else "0"
            summary = f"{dev.get('type')}, port {port}"
        elif dev.tag == "graphics":
            summary = f"{dev.get('type')} on {dev.get('listen', '?')} port {dev.get('port', '?')}"
        elif dev.tag == "video":
            model = dev.find("model")
            summary = model.get("type", "?") if model is not None else "?"
        else:
            continue
        found.append(Device(kind, _device_key(dev), summary))
    return found


def merged_devices(live: ET.Element, config: ET.Element) -> list[Device]:
    """A running VM's devices, plus those only in its config (added there while it runs,
    or whose live change was refused), so each can be seen and removed. A device only in
    the live VM (removed from the config) is marked as gone at the next boot."""
    running = devices(live)
    saved = devices(config)
    keys = {(d.kind, d.key) for d in saved}
    found = [d if (d.kind, d.key) in keys or d.kind not in _CHANGEABLE
             else Device(d.kind, d.key, d.summary, "until shutdown") for d in running]
    known = {(d.kind, d.key) for d in running}
    found += [Device(d.kind, d.key, d.summary, "next boot") for d in saved
              if (d.kind, d.key) not in known and d.kind in _CHANGEABLE]
    return found


_CHANGEABLE = ("disk", "cdrom", "nic")


def _device_key(dev: ET.Element) -> str:
    if dev.tag == "disk":
        target = dev.find("target")
        return target.get("dev", "") if target is not None else ""
    if dev.tag == "interface":
        mac = dev.find("mac")
        return mac.get("address", "") if mac is not None else ""
    if dev.tag == "controller":
        return f"{dev.get('type')}{dev.get('index', '0')}"
    return dev.tag


# -- changes ------------------------------------------------------------------
def set_memory(
    conn: libvirt.virConnect, dom: libvirt.virDomain, mib: int, live: bool = True
) -> str:
    """The memory, checked against the host. In the config the maximum follows: raised
    when the memory goes above it, lowered with it when they were equal (no balloon room
    was set aside) or when it is more than the host has, so a change can be undone."""
    host_mib = _host_memory_mib(conn)
    validate.check_memory(mib, host_mib)
    kib = mib * 1024
    root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    max_kib, cur_kib = _kib(root, "memory"), _kib(root, "currentMemory")
    notes = []
    if kib > max_kib:
        dom.setMemoryFlags(kib, CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
        notes.append(f"raised the maximum to {mib} MiB in the config")
    elif kib < max_kib and (max_kib == cur_kib or max_kib > host_mib * 1024):
        dom.setMemoryFlags(kib, CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
        notes.append(f"lowered the maximum to {mib} MiB in the config")
    dom.setMemoryFlags(kib, CONFIG)
    where = "in the config"
    if live and dom.isActive():
        live_max = _kib(ET.fromstring(dom.XMLDesc(0)), "memory")
        if kib > live_max:
            where = (
                f"in the config only; the running VM's maximum is {live_max // 1024} MiB, "
                "so it takes effect at the next boot"
            )
        else:
            try:
                dom.setMemoryFlags(kib, LIVE)
                where = "live and in the config"
            except libvirt.libvirtError as exc:
                where = f"in the config only (live change refused: {explain(exc)})"
    elif dom.isActive():
        where = "in the config only; it takes effect at the next boot"
    extra = f" ({'; '.join(notes)})" if notes else ""
    return f"Set the memory of {dom.name()} to {mib} MiB {where}{extra}."


def set_max_memory(conn: libvirt.virConnect, dom: libvirt.virDomain, mib: int) -> str:
    """The maximum memory, in the config (a running VM keeps its own until it stops).
    Below the memory, the memory comes down with it."""
    validate.check_memory(mib, _host_memory_mib(conn))
    kib = mib * 1024
    root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    dom.setMemoryFlags(kib, CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    note = ""
    if kib < _kib(root, "currentMemory"):
        dom.setMemoryFlags(kib, CONFIG)
        note = f" (the memory came down to {mib} MiB with it)"
    where = "in the config only; it takes effect at the next boot" if dom.isActive() else (
        "in the config")
    return f"Set the maximum memory of {dom.name()} to {mib} MiB {where}{note}."


def set_vcpus(
    conn: libvirt.virConnect, dom: libvirt.virDomain, count: int, live: bool = True
) -> str:
    """The vCPUs, checked against the host. In the config the maximum follows as the
    memory's does: raised above it, lowered with it when they were equal or when it is
    more than the host offers."""
    from tvirt.vmcreate import resource_limits

    limit = resource_limits(conn).vcpu_limit
    validate.vcpus(count, limit)
    root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    maximum, current = _vcpus(root)
    if count > maximum or (count < maximum and (maximum == current or maximum > limit)):
        # Lowering the maximum takes the current count down with it; set again below.
        dom.setVcpusFlags(count, CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
    dom.setVcpusFlags(count, CONFIG)
    where = "in the config"
    if dom.isActive():
        where = "in the config only; it takes effect at the next boot"
        if live:
            try:
                dom.setVcpusFlags(count, LIVE)
                where = "live and in the config"
            except libvirt.libvirtError as exc:
                where = f"in the config only (live change refused: {explain(exc)})"
    return f"Set {dom.name()} to {plural(count, 'vCPU')} {where}."


def _host_memory_mib(conn: libvirt.virConnect) -> int:
    from tvirt.vmcreate import resource_limits

    return resource_limits(conn).memory_mib


def _disk_targets(dom: libvirt.virDomain) -> set[str]:
    targets = set()
    for flags in (0, libvirt.VIR_DOMAIN_XML_INACTIVE):
        for t in ET.fromstring(dom.XMLDesc(flags)).iter("target"):
            if t.get("dev"):
                targets.add(t.get("dev", ""))
    return targets


def next_target(dom: libvirt.virDomain, bus: str) -> str:
    prefix = {"virtio": "vd", "ide": "hd"}.get(bus, "sd")
    used = _disk_targets(dom)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        if f"{prefix}{letter}" not in used:
            return f"{prefix}{letter}"
    raise HardwareError(f"{dom.name()} has no free {bus} disk name left.")


def add_disk(
    conn: libvirt.virConnect, dom: libvirt.virDomain, path: str, bus: str = "virtio",
    cdrom: bool = False,
) -> str:
    if bus not in DISK_BUSES:
        raise HardwareError(f"The disk bus must be one of {', '.join(DISK_BUSES)}, not {bus!r}.")
    if path:
        # Refused up front: libvirt takes a missing file into the config of a shut-off
        # VM without a word, and the VM then fails to start.
        validate.existing_path(conn, path, "CD image" if cdrom else "disk image")
    fmt = "raw"
    if path:
        try:
            vol = ET.fromstring(conn.storageVolLookupByPath(path).XMLDesc(0))
            el = vol.find("target/format")
            fmt = el.get("type", "raw") if el is not None else "raw"
        except libvirt.libvirtError:
            fmt = "qcow2" if path.endswith(".qcow2") else "raw"
    target = next_target(dom, "sata" if cdrom and bus == "virtio" else bus)
    disk = ET.Element("disk", type="file", device="cdrom" if cdrom else "disk")
    ET.SubElement(disk, "driver", name="qemu", type="raw" if cdrom else fmt)
    if path:
        ET.SubElement(disk, "source", file=path)
    ET.SubElement(disk, "target", dev=target, bus="sata" if cdrom and bus == "virtio" else bus)
    if cdrom:
        ET.SubElement(disk, "readonly")
    where = _attach(dom, disk, "add")
    what = "CD drive" if cdrom else "disk"
    return f"Added {what} {target} ({path or 'empty'}) to {dom.name()} {where}."


def remove_disk(dom: libvirt.virDomain, target: str) -> str:
    disk = _find(dom, "disk", lambda d: _device_key(d) == target)
    if disk is None:
        raise HardwareError(f"{dom.name()} has no disk {target!r}.")
    where = _detach(dom, disk)
    return f"Removed disk {target} from {dom.name()} {where}; its storage was kept."


def change_media(
    conn: libvirt.virConnect, dom: libvirt.virDomain, target: str, path: str
) -> str:
    """Insert (path) or eject ('') the CD in drive target."""
    if path:
        validate.existing_path(conn, path, "CD image")
    disk = _find(
        dom, "disk", lambda d: _device_key(d) == target and d.get("device") == "cdrom"
    )
    if disk is None:
        raise HardwareError(f"{dom.name()} has no CD drive {target!r}.")
    source = disk.find("source")
    if source is not None:
        disk.remove(source)
    if path:
        index = 1 if disk.find("driver") is not None else 0
        disk.insert(index, ET.Element("source", file=path))
    xml = ET.tostring(disk, encoding="unicode")
    # A drive added to the config of a running VM is not in the live VM yet.
    live = dom.isActive() and target in _live_targets(dom)
    dom.updateDeviceFlags(xml, CONFIG | LIVE if live else CONFIG)
    done = f"Inserted {path} into" if path else "Ejected the media of"
    where = " (live and in the config)" if live else " (in the config)"
    return f"{done} {target} of {dom.name()}{where}."


def add_nic(
    conn: libvirt.virConnect,
    dom: libvirt.virDomain,
    kind: str,
    source: str,
    model: str = "virtio",
    mac: str = "",
) -> str:
    if kind not in ("network", "bridge"):
        raise HardwareError(f"A NIC connects to a network or a bridge, not {kind!r}.")
    if not source:
        raise HardwareError(f"A {kind} NIC needs the {kind}'s name.")
    if model not in NIC_MODELS:
        raise HardwareError(f"The NIC model must be one of {', '.join(NIC_MODELS)}, not {model!r}.")
    if mac and not MAC_RE.match(mac):
        raise HardwareError(f"{mac!r} is not a MAC address like 52:54:00:12:34:56.")
    if kind == "network":
        try:
            conn.networkLookupByName(source)
        except libvirt.libvirtError:
            raise HardwareError(f"There is no libvirt network called {source!r}.") from None
    nic = ET.Element("interface", type=kind)
    if mac:
        ET.SubElement(nic, "mac", address=mac)
    ET.SubElement(nic, "source", {kind: source})
    ET.SubElement(nic, "model", type=model)
    where = _attach(dom, nic, "add")
    added = _find(dom, "interface", lambda n: True, last=True)
    address = _device_key(added) if added is not None else mac
    return f"Added a {model} NIC {address} on {kind} {source} to {dom.name()} {where}."


def remove_nic(dom: libvirt.virDomain, mac: str) -> str:
    nic = _find(dom, "interface", lambda n: _device_key(n).lower() == mac.lower())
    if nic is None:
        raise HardwareError(f"{dom.name()} has no NIC with MAC {mac!r}.")
    where = _detach(dom, nic)
    return f"Removed NIC {mac} from {dom.name()} {where}."


def set_boot_order(conn: libvirt.virConnect, dom: libvirt.virDomain, order: list[str]) -> str:
    """The config's <os><boot dev=...> list; per-device boot orders are dropped."""
    bad = [d for d in order if d not in BOOT_DEVICES]
    if bad or not order:
        raise HardwareError(
            f"The boot order is a list of {', '.join(BOOT_DEVICES)}, not {' '.join(order)!r}."
        )
    if len(set(order)) != len(order):
        raise HardwareError("Each boot device may appear only once in the boot order.")
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
    root = ET.fromstring(dom.XMLDesc(flags))
    os_el = root.find("os")
    if os_el is None:
        raise HardwareError(f"{dom.name()} has no <os> element to hold a boot order.")
    for boot in os_el.findall("boot"):
        os_el.remove(boot)
    for dev in root.find("devices") or []:
        for boot in dev.findall("boot"):
            dev.remove(boot)
    position = len([c for c in os_el if c.tag in ("type", "loader", "nvram", "kernel",
                                                  "initrd", "cmdline")])
    for i, dev_name in enumerate(order):
        os_el.insert(position + i, ET.Element("boot", dev=dev_name))
    conn.defineXML(ET.tostring(root, encoding="unicode"))
    note = " (direct kernel boot still comes first)" if os_el.find("kernel") is not None else ""
    return f"Set the boot order of {dom.name()} to {', '.join(order)} in the config{note}."


def _find(dom: libvirt.virDomain, tag: str, match: object, last: bool = False) -> ET.Element | None:
    """The device in the config XML (the live one if the VM is transient), else in the
    running VM (a device whose removal from the config went through but not live)."""
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE if dom.isPersistent() else 0
    for xml_flags in (flags, 0) if flags and dom.isActive() else (flags,):
        devices_el = ET.fromstring(dom.XMLDesc(xml_flags)).find("devices")
        hits = [d for d in (devices_el if devices_el is not None else []) if d.tag == tag
                and match(d)]  # type: ignore[operator]
        if hits:
            return hits[-1] if last else hits[0]
    return None


def _attach(dom: libvirt.virDomain, element: ET.Element, _verb: str) -> str:
    xml = ET.tostring(element, encoding="unicode")
    if not dom.isActive():
        dom.attachDeviceFlags(xml, CONFIG)
        return "in the config"
    try:
        dom.attachDeviceFlags(xml, CONFIG | LIVE)
        return "live and in the config"
    except libvirt.libvirtError as exc:
        dom.attachDeviceFlags(xml, CONFIG)
        return f"in the config only (live change refused: {explain(exc)})"


def _detach(dom: libvirt.virDomain, element: ET.Element) -> str:
    xml = ET.tostring(element, encoding="unicode")
    if not dom.isActive():
        dom.detachDeviceFlags(xml, CONFIG)
        return "in the config"
    key = _device_key(element)
    if not _has(dom, 0, element.tag, key):
        # Added to the config while running: the live VM never had it.
        dom.detachDeviceFlags(xml, CONFIG)
        return "in the config (the running VM never had it)"
    if dom.isPersistent() and not _has(dom, libvirt.VIR_DOMAIN_XML_INACTIVE, element.tag, key):
        # Already gone from the config; only the running VM still has it.
        dom.detachDeviceFlags(xml, LIVE)
        return "from the running VM (the config no longer had it)"
    try:
        dom.detachDeviceFlags(xml, CONFIG | LIVE)
        return "live and in the config (the guest may take a moment to let go)"
    except libvirt.libvirtError as exc:
        dom.detachDeviceFlags(xml, CONFIG)
        return f"in the config only (live change refused: {explain(exc)})"


def _has(dom: libvirt.virDomain, flags: int, tag: str, key: str) -> bool:
    found = ET.fromstring(dom.XMLDesc(flags)).find("devices")
    return any(d.tag == tag and _device_key(d) == key for d in (found if found is not None else []))


def _live_targets(dom: libvirt.virDomain) -> set[str]:
    return {t.get("dev", "") for t in ET.fromstring(dom.XMLDesc(0)).iter("target")}


def define_edited_xml(conn: libvirt.virConnect, dom: libvirt.virDomain, xml: str) -> str:
    """Define hand-edited XML; libvirt's own error is raised verbatim (nothing is lost)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise HardwareError(f"The XML is not well-formed: {exc}.") from None
    # Checked before defining: a changed UUID or name would define a second VM.
    if (root.findtext("uuid") or "").strip().lower() != dom.UUIDString().lower():
        raise HardwareError("The edited XML must keep the VM's UUID.")
    if (root.findtext("name") or "").strip() != dom.name():
        raise HardwareError("The edited XML must keep the VM's name; use clone for a copy.")
    new = conn.defineXML(xml)
    return f"Saved the XML of {new.name()} to the config{_pending(new)}."


def _pending(dom: libvirt.virDomain) -> str:
    return "; changes apply at the next boot" if dom.isActive() else ""
