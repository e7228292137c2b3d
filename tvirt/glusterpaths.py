"""One name for a file on a Gluster volume, however a VM or a pool reaches it: through a
FUSE mount (a netfs pool of format glusterfs, a file path under its target), or as a
network disk (`<source protocol='gluster' name='VOLUME/PATH'>`, a gluster pool's
`gluster://HOST/VOLUME/PATH`). "Used by" compares these names, so a VM whose disk is a
network disk is seen using the file a netfs pool lists, and the other way round.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from typing import Any

Mounts = list[tuple[str, str]]  # (target path on this host, "VOLUME[/SUBDIR]")


def mounts(conn: Any) -> Mounts:
    """Where this host's running glusterfs netfs pools mount which volume."""
    found: Mounts = []
    for pool in conn.listAllStoragePools(0):
        with contextlib.suppress(Exception):  # a pool gone meanwhile has no mount
            root = ET.fromstring(pool.XMLDesc(0))
            fmt = root.find("source/format")
            if root.get("type") != "netfs" or fmt is None or fmt.get("type") != "glusterfs":
                continue
            target = (root.findtext("target/path") or "").rstrip("/")
            source = (root.find("source/dir").get("path") or "").strip("/")  # type: ignore[union-attr]
            if target and source and pool.isActive():
                found.append((target, source))
    return found


def key(path: str, where: Mounts) -> str:
    """`gluster:/VOLUME/PATH` for a file on a Gluster volume, else ""."""
    if path.startswith("gluster://"):
        rest = path[len("gluster://") :].partition("/")[2]
        return f"gluster:/{rest.strip('/')}" if rest else ""
    for target, source in where:
        if path.startswith(target + "/"):
            return f"gluster:/{source}/{path[len(target) + 1 :]}"
    return ""


def network_key(source: ET.Element) -> str:
    """The name of a `<source protocol='gluster' name=...>` network disk, else ""."""
    name = source.get("name") or ""
    if source.get("protocol") != "gluster" or not name:
        return ""
    return f"gluster:/{name.strip('/')}"
