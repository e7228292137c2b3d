"""A host's block devices, each classified safe or unsafe to wipe, with the reason in words.

Facts come from the host itself through a Runner: ``lsblk --json --bytes`` for the tree and
mounts (including swap, which lsblk reports from /proc/swaps), ``wipefs --json`` for the
signatures (lsblk's FSTYPE comes from udev, which is not always running), and the disk
paths of the host's libvirt domains. Anything tvirt cannot vouch for is "unknown", which
is treated exactly like unsafe.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tvirt.remote import RemoteError, Runner

LSBLK = [
    "lsblk",
    "--json",
    "--bytes",
    "-o",
    "NAME,PATH,TYPE,SIZE,MOUNTPOINTS,MODEL,SERIAL,RO",
]
WIPEABLE_TYPES = {"disk", "loop", "part"}
HOLDER_TYPES = {"lvm", "crypt", "mpath", "dm"}


class Safety(Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"
    UNKNOWN = "unknown"

    @property
    def wipeable(self) -> bool:
        return self is Safety.SAFE


@dataclass(frozen=True)
class Signature:
    device: str
    offset: str
    type: str


@dataclass
class Device:
    name: str
    path: str
    type: str
    size: int
    model: str = ""
    serial: str = ""
    readonly: bool = False
    mountpoints: list[str] = field(default_factory=list)
    children: list[Device] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    safety: Safety = Safety.UNKNOWN
    reasons: list[str] = field(default_factory=list)
    node_device: str = ""

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def walk(self) -> Iterable[Device]:
        yield self
        for child in self.children:
            yield from child.walk()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "safety": self.safety.value,
            "reason": self.reason,
            "type": self.type,
            "size": self.size,
            "model": self.model,
            "serial": self.serial,
            "mountpoints": self.mountpoints,
            "signatures": [s.type for d in self.walk() for s in d.signatures],
            "partitions": [c.path for c in self.children if c.type == "part"],
            "node_device": self.node_device,
        }


def parse_lsblk(text: str) -> list[Device]:
    data = json.loads(text)
    return [_device(raw) for raw in data.get("blockdevices", [])]


def _device(raw: dict[str, Any]) -> Device:
    return Device(
        name=str(raw.get("name") or ""),
        path=str(raw.get("path") or f"/dev/{raw.get('name')}"),
        type=str(raw.get("type") or ""),
        size=int(raw.get("size") or 0),
        model=str(raw.get("model") or "").strip(),
        serial=str(raw.get("serial") or "").strip(),
        readonly=bool(raw.get("ro")),
        mountpoints=[m for m in raw.get("mountpoints") or [] if m],
        children=[_device(c) for c in raw.get("children") or []],
    )


def parse_wipefs(text: str) -> list[Signature]:
    if not text.strip():
        return []
    data = json.loads(text)
    return [
        Signature(
            device=str(s.get("device") or ""),
            offset=str(s.get("offset") or ""),
            type=str(s.get("type") or ""),
        )
        for s in data.get("signatures", [])
    ]


def domain_disk_sources(xml_docs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Block or file sources of each domain's disks -> the domain's name."""
    found: dict[str, str] = {}
    for name, xml in xml_docs:
        root = ET.fromstring(xml)
        for source in root.iterfind("./devices/disk/source"):
            path = source.get("dev") or source.get("file")
            if path:
                found[path] = name
    return found


def vm_disks(conn: Any) -> dict[str, str]:
    """Run on the host worker: every domain's disk sources (defined and running)."""
    docs = [(dom.name(), dom.XMLDesc(0)) for dom in conn.listAllDomains(0)]
    return domain_disk_sources(docs)


def node_devices(conn: Any) -> dict[str, str]:
    """Run on the host worker: libvirt's storage node devices, block path -> device name."""
    import libvirt

    found: dict[str, str] = {}
    try:
        devices = conn.listAllDevices(libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE)
    except libvirt.libvirtError:
        return found
    for dev in devices:
        block = ET.fromstring(dev.XMLDesc(0)).findtext("./capability/block")
        if block:
            found[block] = dev.name()
    return found


def inventory(
    runner: Runner,
    vm_sources: dict[str, str] | None = None,
    nodedevs: dict[str, str] | None = None,
) -> list[Device]:
    """Top-level block devices of the host behind runner, each classified.

    vm_sources None means the host's VM disks could not be read, so no device can be
    vouched for: every one is unknown."""
    listed = runner.run(LSBLK)
    if not listed.ok:
        raise RemoteError(listed.sentence())
    devices = parse_lsblk(listed.out)
    _add_signatures(runner, devices)
    resolved = _resolve(runner, vm_sources or {})
    for dev in devices:
        if vm_sources is None:
            dev.reasons.append("the VM disks of this host could not be read")
        dev.node_device = (nodedevs or {}).get(dev.path, "")
        classify(dev, resolved)
    return devices


def _add_signatures(runner: Runner, devices: list[Device]) -> None:
    targets = [d for top in devices for d in top.walk() if d.type in WIPEABLE_TYPES]
    by_name = {d.name: d for d in targets}
    for dev in targets:
        # One device per call: wipefs stops at the first device it cannot open.
        probe = runner.run(["wipefs", "--json", "--no-act", dev.path])
        if not probe.ok:
            dev.reasons.append(f"its signatures could not be read ({probe.err or 'error'})")
            continue
        for sig in parse_wipefs(probe.out):
            by_name.get(sig.device, dev).signatures.append(sig)


def _resolve(runner: Runner, sources: dict[str, str]) -> dict[str, str]:
    """VM disk sources as real device paths on that host (symlinks such as by-id resolved)."""
    paths = [p for p in sources if p.startswith("/dev/")]
    resolved = dict(sources)
    if paths:
        real = runner.run(["readlink", "-f", "--", *paths])
        for path, target in zip(paths, real.out.splitlines(), strict=False):
            resolved[target] = sources[path]
    return resolved


def from_facts(
    lsblk_json: str,
    wipefs_json: dict[str, str],
    vm_sources: dict[str, str] | None,
    nodedevs: dict[str, str] | None = None,
) -> list[Device]:
    """Classify devices from saved command output (lsblk JSON, wipefs JSON per path); the
    same rules as inventory(), for recorded facts such as test fixtures."""
    devices = parse_lsblk(lsblk_json)
    for dev in (d for top in devices for d in top.walk()):
        if dev.path in wipefs_json:
            dev.signatures = parse_wipefs(wipefs_json[dev.path])
    for dev in devices:
        if vm_sources is None:
            dev.reasons.append("the VM disks of this host could not be read")
        dev.node_device = (nodedevs or {}).get(dev.path, "")
        classify(dev, vm_sources or {})
    return devices


def classify(dev: Device, vm_sources: dict[str, str]) -> None:
    """Set dev.safety and dev.reasons from everything under it."""
    doubts: list[str] = list(dev.reasons)  # what could not be checked
    if dev.type not in {"disk", "loop"}:
        doubts.append(f"it is a {dev.type or 'device of unknown type'}, not a whole disk")
    if not dev.size:
        doubts.append("its size is unknown")
    reasons: list[str] = []  # what is known to be in use
    if dev.readonly:
        reasons.append("it is read-only")
    for part in dev.walk():
        own = "it" if part is dev else f"its partition {part.path}"
        for mount in part.mountpoints:
            if mount == "[SWAP]":
                reasons.append(f"{own} is in use as swap")
            elif mount in {"/", "/boot", "/boot/efi"}:
                reasons.append(f"{own} holds {mount}")
            else:
                reasons.append(f"{own} is mounted on {mount}")
        if part is not dev and part.type in HOLDER_TYPES:
            reasons.append(f"{part.path} ({part.type}) is built on it")
        elif part is not dev and part.type.startswith("raid"):
            reasons.append(f"it is a member of the MD array {part.path}")
        for sig in part.signatures:
            if sig.type == "swap" and not any(m == "[SWAP]" for m in part.mountpoints):
                reasons.append(f"{own} is formatted as swap")
            elif sig.type == "LVM2_member":
                reasons.append(f"{own} is an LVM physical volume")
            elif sig.type == "linux_raid_member":
                reasons.append(f"{own} is an MD RAID member")
        for path, vm in vm_sources.items():
            if path == part.path:
                reasons.append(f"{own} is the disk of VM {vm}")
    # Known use outranks doubt: "unsafe, it holds /" says more than "unknown".
    dev.reasons = reasons + doubts
    if reasons:
        dev.safety = Safety.UNSAFE
    elif doubts:
        dev.safety = Safety.UNKNOWN
    else:
        dev.safety = Safety.SAFE
        found = [s.type for d in dev.walk() for s in d.signatures]
        dev.reasons = [
            "not mounted, not swap, no LVM or MD, no holders, no VM uses it"
            + (f"; old signatures: {', '.join(found)}" if found else "; no signatures")
        ]


def _facts(dev: Device) -> dict[tuple[str, ...], str]:
    """What a decision to wipe rests on, each fact keyed, in words."""
    found: dict[tuple[str, ...], str] = {}
    if dev.model or dev.serial:  # another disk now behind the same path
        found[("id", dev.model, dev.serial)] = f"model {dev.model}, serial {dev.serial}"
    if dev.readonly:
        found[("ro",)] = "it is read-only"
    for part in dev.walk():
        if part is not dev:
            found[("dev", part.path)] = f"{part.path} ({part.type}) on it"
        for mount in part.mountpoints:
            words = "in use as swap" if mount == "[SWAP]" else f"mounted on {mount}"
            found[("mount", part.path, mount)] = f"{part.path} {words}"
        for sig in part.signatures:
            found[("sig", sig.device, sig.type, sig.offset)] = (
                f"signature {sig.type} at {sig.offset} on {sig.device}"
            )
    return found


def changes(before: Device, after: Device | None) -> list[str]:
    """What differs between the device a person confirmed and a fresh reading of it, in
    words; empty when nothing a wipe depends on has changed."""
    if after is None:
        return [f"{before.path} is no longer a whole block device on that host"]
    old, new = _facts(before), _facts(after)
    found = []
    if before.size != after.size:
        found.append(f"its size changed from {before.size} to {after.size} bytes")
    found += [f"new: {words}" for key, words in new.items() if key not in old]
    found += [f"gone: {words}" for key, words in old.items() if key not in new]
    if after.safety is not before.safety:
        found.append(f"it is now {after.safety.value}: {after.reason}")
    return found


def find(devices: list[Device], path: str) -> Device | None:
    for dev in devices:
        if path in {dev.path, dev.name}:
            return dev
    return None
