"""What host workers report. The UI wraps these in Messages; the CLI prints them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tvirt.actions import ActionResult
from tvirt.model import HostInfo, VMInfo


@dataclass(frozen=True)
class HostChanged:
    host: HostInfo


@dataclass(frozen=True)
class DomainsListed:
    """The full list after a (re)connect; replaces whatever was known of the host."""

    host_id: str
    vms: tuple[VMInfo, ...]


@dataclass(frozen=True)
class DomainChanged:
    vm: VMInfo
    # libvirt started the VM here to receive a migration (started, detail migrated): the
    # app can then hold the row back until the source lets the VM go, whoever migrates it.
    incoming: bool = False


@dataclass(frozen=True)
class DomainsDetailed:
    """A batch of records whose vCPUs and memory were read after the listing."""

    host_id: str
    vms: tuple[VMInfo, ...]


@dataclass(frozen=True)
class DomainRemoved:
    host_id: str
    uuid: str
    name: str


@dataclass(frozen=True)
class ActionDone:
    result: ActionResult


Update = (
    HostChanged | DomainsListed | DomainChanged | DomainsDetailed | DomainRemoved | ActionDone
)
# Sinks may return something (Inventory.apply does); workers ignore it.
Sink = Callable[[Update], object]
