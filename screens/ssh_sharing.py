"""Whether the commands tvirt runs on hosts share one ssh connection per host, set from
the command palette and saved in the config (`[ssh] share_connections`).

Saved before it is used: a save that fails changes nothing (the config file is written
atomically), and each value can be set back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tvirt import config, sshmux

from .form import Field, FormDialog

if TYPE_CHECKING:
    from .app import TvirtApp

TITLE = "SSH connection sharing"
CHOICES = (
    ("on", "On: one ssh connection per host for tvirt's commands"),
    ("off", "Off: every command makes its own ssh connection"),
)


def words(on: bool) -> str:
    return "on" if on else "off"


def set_sharing(app: TvirtApp, value: str) -> str:
    """Use and save "on" or "off"; returns a sentence saying why it failed, or ""."""
    if value not in ("on", "off"):
        return f"SSH connection sharing is on or off, not {value!r}."
    on = value == "on"
    before = sshmux.sharing()
    path = None
    if app.settings is not None:
        saved = app.settings.share_connections
        app.settings.share_connections = on
        try:
            path = config.save(app.settings)
        except OSError as exc:
            app.settings.share_connections = saved
            return f"Could not save SSH connection sharing: {exc.strerror}."
    sshmux.set_sharing(on)
    where = f", saved to {path}" if path is not None else ""
    app.say(f"SSH connection sharing now {value} (was {words(before)}){where}.")
    return ""


def ask_sharing(app: TvirtApp) -> None:
    async def apply(values: list[str]) -> str:
        return set_sharing(app, values[0])

    text = (
        "Commands tvirt runs on a host (gluster, lsblk, wipefs, dd, the wizards' steps) "
        "can share one ssh connection per host, or each make their own. Used from the "
        "next command; libvirt's own connection is not affected."
    )
    app.push_screen(
        FormDialog(
            TITLE,
            [Field("Sharing", words(sshmux.sharing()), choices=CHOICES)],
            text=text,
            apply=apply,
        )
    )
