"""Typed Textual messages that carry worker updates onto the event loop.

One name per event: each message is named after the core update it carries
(tvirt/updates.py) and has the same fields, so `DomainChanged` means the same thing on
both sides of the thread boundary. They are dataclasses (Textual's Message runs its own
setup in __post_init__), compared by identity like any message.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from textual.message import Message

from tvirt import updates
from tvirt.actions import ActionResult
from tvirt.model import HostInfo, VMInfo
from tvirt.stats import StatsSnapshot


@dataclass(eq=False)
class HostChanged(Message):
    host: HostInfo


@dataclass(eq=False)
class DomainsListed(Message):
    """The full VM list of one host after a (re)connect."""

    host_id: str
    vms: tuple[VMInfo, ...]


@dataclass(eq=False)
class DomainChanged(Message):
    vm: VMInfo
    incoming: bool = False


@dataclass(eq=False)
class DomainsDetailed(Message):
    """vCPUs and memory of a batch of VMs, read after the host was listed."""

    host_id: str
    vms: tuple[VMInfo, ...]


@dataclass(eq=False)
class DomainRemoved(Message):
    host_id: str
    uuid: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.host_id}/{self.uuid}"


@dataclass(eq=False)
class ActionDone(Message):
    result: ActionResult


class StatsArrived(Message):
    """One stats tick of one host, posted from its worker thread.

    The snapshot is already in the app's StatsHistory (added on the worker thread before
    posting), so this message only asks for a redraw. That is why coalescing is safe: if
    the event loop falls behind, an older unprocessed StatsArrived for the same host is
    dropped in favour of the newer one, and no history point is lost.
    """

    def __init__(self, snapshot: StatsSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot

    @property
    def host_id(self) -> str:
        return self.snapshot.host_id

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message about to be handled whether the next one in the queue
        # supersedes it; if so this one is dropped and the newer one handled instead.
        return (
            isinstance(message, StatsArrived)
            and message.snapshot.host_id == self.snapshot.host_id
            and message.snapshot.seq >= self.snapshot.seq
        )


_MESSAGES: dict[type, type[Message]] = {
    updates.HostChanged: HostChanged,
    updates.DomainsListed: DomainsListed,
    updates.DomainChanged: DomainChanged,
    updates.DomainsDetailed: DomainsDetailed,
    updates.DomainRemoved: DomainRemoved,
    updates.ActionDone: ActionDone,
}


def message_for(update: updates.Update) -> Message:
    """The Message that carries one core update: same name, same fields."""
    kind = _MESSAGES.get(type(update))
    if kind is None:
        raise TypeError(f"Unknown update {update!r}")
    return kind(*(getattr(update, f.name) for f in fields(update)))
