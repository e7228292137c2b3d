"""Storage records, the checks of what people type for them, and the XML libvirt is given.

Pure data: no libvirt calls and no threads, so the wizards can check a field and show the
XML before anything reaches a host. The operations on a host are in ``tvirt.storage``,
the uploads and downloads in ``tvirt.transfers``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from tvirt import validate
from tvirt.errors import TvirtError
from tvirt.sizes import format_size

# The pool types tvirt can define, and the volume formats each supports for new volumes.
POOL_TYPES = ("dir", "logical", "disk", "netfs", "gluster")
_FORMATS: dict[str, tuple[str, ...]] = {
    "dir": ("qcow2", "raw"),
    "fs": ("qcow2", "raw"),
    "netfs": ("qcow2", "raw"),
    "gluster": ("qcow2", "raw"),
    "logical": ("raw",),
    "disk": ("raw",),
}
# Logical volumes and partitions are always fully allocated: libvirt's "sparse" logical
# volume is an LVM snapshot with a virtual size, which is not what anyone means by sparse.
_SPARSE_OK = {"dir", "fs", "netfs", "gluster"}

NAME_MAX = validate.NAME_DEFAULT_LONGEST


class StorageError(TvirtError):
    """A refused or failed storage action, with a sentence for a person."""


@dataclass(frozen=True)
class PoolInfo:
    name: str
    uuid: str
    type: str
    state: str
    autostart: bool
    persistent: bool
    capacity: int
    allocation: int
    available: int
    path: str

    @property
    def active(self) -> bool:
        return self.state in ("running", "degraded")

    @property
    def used_fraction(self) -> float:
        return self.allocation / self.capacity if self.capacity else 0.0

    @property
    def usage_text(self) -> str:
        if not self.capacity:
            return "unknown"
        return (
            f"{format_size(self.allocation)} of {format_size(self.capacity)} used "
            f"({self.used_fraction:.0%})"
        )


@dataclass(frozen=True)
class VolumeInfo:
    pool: str
    name: str
    path: str
    format: str
    type: str
    capacity: int
    allocation: int
    used_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class PoolSpec:
    """The fields of a new pool; validate() says what is wrong with them."""

    type: str
    name: str
    target: str = ""  # dir, netfs, disk: the directory or device directory
    host: str = ""  # netfs, gluster
    source_dir: str = ""  # netfs: the export; gluster: the directory in the volume
    source_name: str = ""  # logical: the volume group; gluster: the gluster volume
    devices: tuple[str, ...] = ()  # logical: physical volumes; disk: the disk


@dataclass(frozen=True)
class VolumeSpec:
    name: str
    capacity: int
    format: str = "raw"
    allocation: str = "sparse"  # or "full"
    backing: str = ""  # path of a backing volume (qcow2 only)
    backing_format: str = ""


# -- validation -------------------------------------------------------------
def check_name(
    name: str, existing: set[str] | frozenset[str] = frozenset(), what: str = "volume"
) -> str:
    """The name if it is a fine pool or volume name; raises StorageError otherwise."""
    try:
        return validate.name(name, what, existing)
    except validate.Invalid as exc:
        raise StorageError(str(exc)) from None


def formats_for(pool_type: str) -> tuple[str, ...]:
    return _FORMATS.get(pool_type, ("raw",))


def allocations_for(pool_type: str) -> tuple[str, ...]:
    return ("sparse", "full") if pool_type in _SPARSE_OK else ("full",)


def check_capacity(capacity: int, available: int, allocation: str) -> str:
    """Refuses a preallocated volume larger than the pool's free space; returns a warning
    (or "") for a sparse one, which may fill the pool later."""
    if capacity <= 0:
        raise StorageError("A volume must have a capacity of at least one byte.")
    if capacity > available:
        if allocation == "full":
            raise StorageError(
                f"{format_size(capacity)} is more than the {format_size(available)} "
                "available in the pool."
            )
        return (
            f"Warning: {format_size(capacity)} is more than the {format_size(available)} "
            "available; the sparse volume will fail to write once the pool is full."
        )
    return ""


def check_spec(spec: VolumeSpec, pool_type: str) -> None:
    if spec.format not in formats_for(pool_type):
        raise StorageError(
            f"A {pool_type} pool makes volumes of format {', '.join(formats_for(pool_type))}, "
            f"not {spec.format}."
        )
    if spec.allocation not in allocations_for(pool_type):
        raise StorageError(f"A {pool_type} pool allocates volumes fully; sparse is not offered.")
    if spec.backing and spec.format != "qcow2":
        raise StorageError("Only a qcow2 volume can have a backing volume.")


def check_pool_spec(spec: PoolSpec, existing: set[str] | frozenset[str] = frozenset()) -> None:
    check_name(spec.name, existing, "pool")
    if spec.type not in POOL_TYPES:
        raise StorageError(f"tvirt defines pools of type {', '.join(POOL_TYPES)}, not {spec.type}.")
    if spec.type in ("dir", "netfs") and not spec.target.startswith("/"):
        raise StorageError("Give the target directory as an absolute path, such as /srv/images.")
    if spec.type == "logical" and not spec.source_name:
        raise StorageError("Give the name of the LVM volume group.")
    if spec.type == "disk" and (len(spec.devices) != 1 or not spec.devices[0].startswith("/dev/")):
        raise StorageError("Give one disk device, such as /dev/sdb.")
    if spec.type == "logical":
        for device in spec.devices:
            if not device.startswith("/dev/"):
                raise StorageError(f"{device} is not a device path under /dev.")
    if spec.type in ("netfs", "gluster") and not re.match(r"^[A-Za-z0-9.:_-]+$", spec.host or "-/"):
        raise StorageError("Give the server's host name or address.")
    if spec.type == "netfs" and not spec.source_dir.startswith("/"):
        raise StorageError("Give the exported directory as an absolute path, such as /export.")
    if spec.type == "gluster" and not spec.source_name:
        raise StorageError("Give the name of the gluster volume.")


# -- XML --------------------------------------------------------------------
def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def pool_xml(spec: PoolSpec) -> str:
    root = ET.Element("pool", {"type": spec.type})
    _text(root, "name", spec.name)
    source = ET.SubElement(root, "source")
    target_path = spec.target
    if spec.type == "logical":
        for device in spec.devices:
            ET.SubElement(source, "device", {"path": device})
        _text(source, "name", spec.source_name)
        ET.SubElement(source, "format", {"type": "lvm2"})
        target_path = f"/dev/{spec.source_name}"
    elif spec.type == "disk":
        ET.SubElement(source, "device", {"path": spec.devices[0]})
        target_path = spec.target or "/dev"
    elif spec.type == "netfs":
        ET.SubElement(source, "host", {"name": spec.host})
        ET.SubElement(source, "dir", {"path": spec.source_dir})
        ET.SubElement(source, "format", {"type": "auto"})
    elif spec.type == "gluster":
        ET.SubElement(source, "host", {"name": spec.host})
        ET.SubElement(source, "dir", {"path": spec.source_dir or "/"})
        _text(source, "name", spec.source_name)
        target_path = ""
    if not len(source):
        root.remove(source)
    if target_path:
        target = ET.SubElement(root, "target")
        _text(target, "path", target_path)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def volume_xml(spec: VolumeSpec) -> str:
    root = ET.Element("volume")
    _text(root, "name", spec.name)
    _text(root, "capacity", str(spec.capacity), unit="bytes")
    allocated = spec.capacity if spec.allocation == "full" else 0
    _text(root, "allocation", str(allocated), unit="bytes")
    target = ET.SubElement(root, "target")
    ET.SubElement(target, "format", {"type": spec.format})
    if spec.backing:
        backing = ET.SubElement(root, "backingStore")
        _text(backing, "path", spec.backing)
        ET.SubElement(backing, "format", {"type": spec.backing_format or "raw"})
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def clone_xml(source_xml: str, new_name: str) -> str:
    """A new volume's XML with the source volume's capacity and format, for createXMLFrom."""
    root = ET.fromstring(source_xml)
    clone = ET.Element("volume")
    _text(clone, "name", new_name)
    capacity = root.find("capacity")
    if capacity is not None:
        clone.append(capacity)
    fmt = root.find("target/format")
    if fmt is not None:
        ET.SubElement(ET.SubElement(clone, "target"), "format", {"type": fmt.get("type", "raw")})
    return ET.tostring(clone, encoding="unicode")
