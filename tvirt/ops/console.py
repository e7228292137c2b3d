"""What the console screen and command read besides the serial stream: the domain XML
(its graphics and serial devices). The stream itself is tvirt.console.ConsoleSession,
which runs on its host's worker on its own; the screen is tvirt.ops.display."""

from __future__ import annotations

from concurrent.futures import Future

from tvirt.ops import vms
from tvirt.ops.run import Host


def domain_xml(host: Host, uuid: str) -> Future[str]:
    """The running VM's XML: which displays and serial console it has now."""
    return vms.xml(host, uuid)
