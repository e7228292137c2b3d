"""VM lifecycle actions: what each one calls and how it is described."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tvirt.errors import TvirtError


class Action(Enum):
    START = "start"
    SHUTDOWN = "shutdown"
    REBOOT = "reboot"
    FORCE_OFF = "destroy"
    PAUSE = "suspend"
    RESUME = "resume"
    AUTOSTART_ON = "autostart-on"
    AUTOSTART_OFF = "autostart-off"
    DELETE = "delete"

    @property
    def verb(self) -> str:
        return _WORDS[self][0]

    @property
    def past(self) -> str:
        return _WORDS[self][1]

    @property
    def destructive(self) -> bool:
        return self in {Action.FORCE_OFF, Action.DELETE, Action.REBOOT, Action.SHUTDOWN}

    @property
    def mutating(self) -> bool:
        # Every lifecycle action changes something; read-only mode refuses them all.
        return True

    @classmethod
    def from_name(cls, name: str) -> Action:
        aliases = {
            "force-off": cls.FORCE_OFF,
            "forceoff": cls.FORCE_OFF,
            "pause": cls.PAUSE,
            "undefine": cls.DELETE,
        }
        key = name.strip().lower()
        if key in aliases:
            return aliases[key]
        for action in cls:
            if action.value == key:
                return action
        raise ValueError(f"'{name}' is not an action.")


_WORDS = {
    Action.START: ("start", "started"),
    Action.SHUTDOWN: ("shut down", "asked to shut down"),
    Action.REBOOT: ("reboot", "asked to reboot"),
    Action.FORCE_OFF: ("force off", "forced off"),
    Action.PAUSE: ("pause", "paused"),
    Action.RESUME: ("resume", "resumed"),
    Action.AUTOSTART_ON: ("turn autostart on for", "turned autostart on for"),
    Action.AUTOSTART_OFF: ("turn autostart off for", "turned autostart off for"),
    Action.DELETE: ("delete", "deleted"),
}


@dataclass(frozen=True)
class ActionResult:
    host_id: str
    host_label: str
    vm_name: str
    action: Action
    ok: bool
    message: str


class ActionRefused(TvirtError):
    """Raised before any libvirt call, for example in read-only mode."""
