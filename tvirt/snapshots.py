"""VM snapshots: a tree with the current one marked, create, revert, delete.

Runs on the host's worker thread. Full snapshots are internal (qcow2 disks hold them,
and a running VM's memory is saved too); disk-only snapshots are external overlay files.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from tvirt import validate
from tvirt.errors import TvirtError


class SnapshotError(TvirtError):
    """One sentence: why the snapshot action was refused."""


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    state: str  # the VM's state when it was taken: running, shut off, disk-snapshot, ...
    parent: str
    depth: int
    current: bool
    created: int  # seconds since the epoch
    description: str
    disk_only: bool


def snapshot_tree(dom: libvirt.virDomain) -> list[SnapshotInfo]:
    """Depth-first, roots and siblings by creation time, so a tree reads top to bottom."""
    current = ""
    if dom.hasCurrentSnapshot(0):
        current = dom.snapshotCurrent(0).getName()
    records: dict[str, tuple[str, int, str, str, bool]] = {}
    for snap in dom.listAllSnapshots(0):
        root = ET.fromstring(snap.getXMLDesc(0))
        state = root.findtext("state") or "unknown"
        disk_only = state == "disk-snapshot"
        records[snap.getName()] = (
            root.findtext("parent/name") or "",
            int(root.findtext("creationTime") or 0),
            (root.findtext("description") or "").strip(),
            "shut off" if state == "shutoff" else state,
            disk_only,
        )
    children: dict[str, list[str]] = {}
    for name, (parent, _created, *_rest) in sorted(records.items(), key=lambda r: r[1][1]):
        children.setdefault(parent if parent in records else "", []).append(name)
    out: list[SnapshotInfo] = []

    def walk(parent: str, depth: int) -> None:
        for name in children.get(parent, []):
            par, created, description, state, disk_only = records[name]
            out.append(
                SnapshotInfo(name, state, par, depth, name == current, created, description,
                             disk_only)
            )
            walk(name, depth + 1)

    walk("", 0)
    return out


def create_snapshot(
    dom: libvirt.virDomain, name: str, description: str = "", disk_only: bool = False
) -> str:
    try:
        validate.name(name, "snapshot")
    except validate.Invalid as exc:
        raise SnapshotError(str(exc)) from None
    if name in dom.snapshotListNames(0):
        raise SnapshotError(f"{dom.name()} already has a snapshot called {name!r}.")
    snap = ET.Element("domainsnapshot")
    ET.SubElement(snap, "name").text = name
    if description:
        ET.SubElement(snap, "description").text = description
    flags = 0
    if disk_only:
        flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY
        if dom.isActive():
            flags |= libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC
    dom.snapshotCreateXML(ET.tostring(snap, encoding="unicode"), flags)
    kind = "disk-only" if disk_only else ("full (disks and memory)" if dom.isActive() else "full")
    return f"Created the {kind} snapshot {name} of {dom.name()}."


def _lookup(dom: libvirt.virDomain, name: str) -> libvirt.virDomainSnapshot:
    try:
        return dom.snapshotLookupByName(name, 0)
    except libvirt.libvirtError:
        raise SnapshotError(f"{dom.name()} has no snapshot called {name!r}.") from None


def revert_snapshot(dom: libvirt.virDomain, name: str) -> str:
    snap = _lookup(dom, name)
    dom.revertToSnapshot(snap, 0)
    from tvirt.model import VMState

    state = VMState.from_libvirt(dom.state()[0]).word
    return f"Reverted {dom.name()} to snapshot {name}; it is now {state}."


def delete_snapshot(dom: libvirt.virDomain, name: str, children: bool = False) -> str:
    snap = _lookup(dom, name)
    flags = libvirt.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN if children else 0
    snap.delete(flags)
    extra = " and its children" if children else ""
    return f"Deleted snapshot {name}{extra} of {dom.name()}."
