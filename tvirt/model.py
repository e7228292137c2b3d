"""Immutable records that cross from host worker threads to the UI and CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class VMState(Enum):
    """libvirt domain states, each with the word shown to the user."""

    NOSTATE = 0
    RUNNING = 1
    BLOCKED = 2
    PAUSED = 3
    SHUTDOWN = 4
    SHUTOFF = 5
    CRASHED = 6
    PMSUSPENDED = 7

    @property
    def word(self) -> str:
        return _STATE_WORDS[self]

    @classmethod
    def from_libvirt(cls, code: int) -> VMState:
        try:
            return cls(code)
        except ValueError:
            return cls.NOSTATE


_STATE_WORDS = {
    VMState.NOSTATE: "no state",
    VMState.RUNNING: "running",
    VMState.BLOCKED: "blocked",
    VMState.PAUSED: "paused",
    VMState.SHUTDOWN: "shutting down",
    VMState.SHUTOFF: "shut off",
    VMState.CRASHED: "crashed",
    VMState.PMSUSPENDED: "suspended",
}


class HostState(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    FAILED = "failed"

    @property
    def word(self) -> str:
        return self.value


@dataclass(frozen=True)
class VMInfo:
    """One domain as last seen. Keyed by (host_id, uuid)."""

    host_id: str
    uuid: str
    name: str
    state: VMState
    # None: not read yet. A host whose bulk stats lack them is listed first and its
    # vCPUs and memory are filled in afterwards (see domains.list_domains).
    vcpus: int | None
    memory_kib: int | None
    autostart: bool
    persistent: bool = True

    @property
    def key(self) -> str:
        return f"{self.host_id}/{self.uuid}"


@dataclass(frozen=True)
class HostInfo:
    """A connection and what we know of the host behind it."""

    host_id: str
    uri: str
    label: str
    state: HostState
    demo: bool = False
    readonly: bool = False
    hypervisor: str = ""
    hv_version: str = ""
    libvirt_version: str = ""
    hostname: str = ""
    cpus: int = 0
    memory_kib: int = 0
    error: str = ""
    vm_count: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def matches(self, wanted: str) -> bool:
        """Whether `--host wanted` names this host. Accepted: the label every screen shows
        ("localhost qemu/system", case and spacing aside) or its first word ("localhost"),
        the URI as typed or normalised (or a part of it), and the hostname libvirt reports."""
        from tvirt.uri import URIError, parse_uri

        text = " ".join(wanted.split())
        if not text:
            return False
        low, label = text.lower(), self.label.lower()
        if low in (label, label.split(" ", 1)[0], self.hostname.lower()):
            return True
        if text in self.uri or text == self.host_id:
            return True
        try:
            return parse_uri(text).uri == self.uri
        except URIError:
            return False


def format_version(number: int) -> str:
    """libvirt packs versions as major*1e6 + minor*1e3 + release."""
    if number <= 0:
        return ""
    major, rest = divmod(number, 1_000_000)
    minor, release = divmod(rest, 1_000)
    return f"{major}.{minor}.{release}"
