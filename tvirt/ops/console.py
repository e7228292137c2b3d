"""What the console screen and command read besides the serial stream: the domain XML
(its graphics and serial devices) and a screenshot. The stream itself is
tvirt.console.ConsoleSession, which runs on its host's worker on its own."""

from __future__ import annotations

from concurrent.futures import Future

from tvirt.console import Picture, take_screenshot
from tvirt.ops import vms
from tvirt.ops.run import Host, on_host


def domain_xml(host: Host, uuid: str) -> Future[str]:
    """The running VM's XML: which displays and serial console it has now."""
    return vms.xml(host, uuid)


def screenshot(host: Host, uuid: str) -> Future[Picture]:
    """The VM's screen as a picture (PNG or PPM decoded). A failure is explained (a VM
    without a display has no screen to take), not quoted in libvirt's words."""
    return on_host(host, lambda conn: take_screenshot(conn, uuid), explained=True)
