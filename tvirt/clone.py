"""Cloning a shut-off VM: a new name and UUID, new MACs, and each disk volume copied.

Runs on the host's worker thread. Disks that are pool volumes are copied with
storageVolCreateXMLFrom into the same pool; CD-ROMs stay shared; a disk outside any pool
is refused, because there is nowhere to put a copy that libvirt manages.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import libvirt

from tvirt.errors import TvirtError
from tvirt.vmspec import name_problem


class CloneError(TvirtError):
    """One sentence: why nothing was cloned (copies made so far were removed)."""


def clone_vm(conn: libvirt.virConnect, dom: libvirt.virDomain, new_name: str) -> str:
    existing = frozenset(d.name() for d in conn.listAllDomains(0))
    if problem := name_problem(new_name, existing):
        raise CloneError(problem)
    if dom.isActive():
        raise CloneError(f"{dom.name()} must be shut off to be cloned, so its disks agree.")
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE
    root = ET.fromstring(dom.XMLDesc(flags))
    _set(root, "name", new_name)
    uuid = root.find("uuid")
    if uuid is not None:
        root.remove(uuid)  # libvirt makes a new one
    for nic in root.iter("interface"):
        for mac in nic.findall("mac"):
            nic.remove(mac)  # libvirt makes new MACs
    made: list[libvirt.virStorageVol] = []
    try:
        for index, disk in enumerate(root.iter("disk")):
            if disk.get("device", "disk") != "disk":
                continue
            source = disk.find("source")
            path = source.get("file") if source is not None else None
            if source is None or not path:
                continue
            copy = _copy_volume(conn, path, new_name, index)
            made.append(copy)
            source.set("file", copy.path())
        new = conn.defineXML(ET.tostring(root, encoding="unicode"))
    except BaseException:
        for vol in made:
            try:
                vol.delete(0)
            except libvirt.libvirtError:
                pass
        raise
    copies = f" with {len(made)} disk copies" if made else ""
    return f"Cloned {dom.name()} to {new.name()}{copies}; it is shut off."


def _copy_volume(
    conn: libvirt.virConnect, path: str, new_name: str, index: int
) -> libvirt.virStorageVol:
    """A copy in the same pool, through the storage code (same format and capacity)."""
    from tvirt.storage import StorageError, volume_clone

    try:
        vol = conn.storageVolLookupByPath(path)
    except libvirt.libvirtError:
        raise CloneError(
            f"The disk {path} is not in a storage pool, so tvirt cannot copy it."
        ) from None
    pool = vol.storagePoolLookupByVolume()
    fmt_el = ET.fromstring(vol.XMLDesc(0)).find("target/format")
    fmt = fmt_el.get("type", "raw") if fmt_el is not None else "raw"
    suffix = "" if index == 0 else f"-{index}"
    try:
        info = volume_clone(conn, pool.name(), vol.name(), f"{new_name}{suffix}.{fmt}")
    except StorageError as exc:
        raise CloneError(f"Could not copy the disk {path}: {exc}") from None
    return conn.storageVolLookupByPath(info.path)


def _set(root: ET.Element, tag: str, text: str) -> None:
    el = root.find(tag)
    if el is None:
        el = ET.SubElement(root, tag)
    el.text = text
