"""Typed Textual messages that carry worker updates onto the event loop."""

from __future__ import annotations

from textual.message import Message

from tvirt.actions import ActionResult
from tvirt.model import HostInfo, VMInfo
from tvirt.stats import StatsSnapshot
from tvirt.updates import (
    ActionDone,
    DomainChanged,
    DomainRemoved,
    DomainsDetailed,
    DomainsListed,
    HostChanged,
    Update,
)


class HostUpdated(Message):
    def __init__(self, host: HostInfo) -> None:
        super().__init__()
        self.host = host


class DomainsArrived(Message):
    """The full VM list of one host after a (re)connect."""

    def __init__(self, host_id: str, vms: tuple[VMInfo, ...]) -> None:
        super().__init__()
        self.host_id = host_id
        self.vms = vms


class DomainUpdated(Message):
    def __init__(self, vm: VMInfo) -> None:
        super().__init__()
        self.vm = vm


class DomainsFilled(Message):
    """vCPUs and memory of a batch of VMs, read after the host was listed."""

    def __init__(self, host_id: str, vms: tuple[VMInfo, ...]) -> None:
        super().__init__()
        self.host_id = host_id
        self.vms = vms


class DomainGone(Message):
    def __init__(self, host_id: str, uuid: str, name: str) -> None:
        super().__init__()
        self.host_id = host_id
        self.uuid = uuid
        self.name = name

    @property
    def key(self) -> str:
        return f"{self.host_id}/{self.uuid}"


class ActionFinished(Message):
    def __init__(self, result: ActionResult) -> None:
        super().__init__()
        self.result = result


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


def message_for(update: Update) -> Message:
    """The Message that carries one core update."""
    if isinstance(update, HostChanged):
        return HostUpdated(update.host)
    if isinstance(update, DomainsListed):
        return DomainsArrived(update.host_id, update.vms)
    if isinstance(update, DomainChanged):
        return DomainUpdated(update.vm)
    if isinstance(update, DomainsDetailed):
        return DomainsFilled(update.host_id, update.vms)
    if isinstance(update, DomainRemoved):
        return DomainGone(update.host_id, update.uuid, update.name)
    if isinstance(update, ActionDone):
        return ActionFinished(update.result)
    raise TypeError(f"Unknown update {update!r}")
