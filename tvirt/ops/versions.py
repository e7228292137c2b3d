"""The versions a bug report needs from a host: its daemon's libvirt and its hypervisor."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass

import libvirt

from tvirt.model import format_version
from tvirt.ops.run import Host, on_host


@dataclass(frozen=True)
class HostVersions:
    daemon: str  # libvirt of the daemon serving the connection (libvirtd, virtqemud)
    hypervisor: str  # the driver's name: QEMU, Test, ...
    hypervisor_version: str  # "" where the driver has none


def library() -> str:
    """The libvirt library this process loaded."""
    return format_version(libvirt.getVersion())


def of_host(host: Host) -> Future[HostVersions]:
    """getLibVersion and getVersion on the host's worker; a failure is explained."""

    def read(conn: libvirt.virConnect) -> HostVersions:
        return HostVersions(
            daemon=format_version(conn.getLibVersion()),
            hypervisor=conn.getType(),
            hypervisor_version=format_version(conn.getVersion()),
        )

    return on_host(host, read, explained=True)
