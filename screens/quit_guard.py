"""Quitting while a change is under way asks first.

`q` is also the key that closes many tools' screens, so a person watching a migration or a
wipe may press it meaning "close this". Without a question the app would end at once and
leave an upload, a wipe or a wizard's steps part done. The changes under way are the app's
workers in the groups below (their methods' names pick out the changing ones where a group
also loads data).
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.worker import Worker, WorkerState

from .dialogs import ConfirmDialog, Confirmed

# (worker group, worker name or "" for any) -> what it is, in words
CHANGES: dict[tuple[str, str], str] = {
    ("migrate", ""): "a migration (libvirt completes it without tvirt; its end is not shown)",
    ("wizard-run", "_run"): "a wizard's steps (they stop part way)",
    ("wizard-run", "_undo"): "a wizard's undo (it stops part way)",
    ("wizard", "_create"): "the creation of a VM",
    ("storage-long", "_wipe_now"): "a volume wipe (libvirt finishes it without tvirt)",
    ("storage-transfer", ""): "an upload or download (the volume is left part written)",
}
LIVE = (WorkerState.PENDING, WorkerState.RUNNING)


def _what(worker: Worker[object]) -> str | None:
    return CHANGES.get((worker.group, worker.name)) or CHANGES.get((worker.group, ""))


def changes_under_way(app: App[Any]) -> list[str]:
    """What would be cut short if the app ended now, each once, in start order."""
    found = [_what(w) for w in app.workers if w.state in LIVE]
    return list(dict.fromkeys(what for what in found if what))


class QuitDialog(ConfirmDialog):
    """The question itself; q again in it quits, like Quit."""


def ask_before_quitting(app: App[Any]) -> bool:
    """True (and the question shown) when something is under way; the app quits if the
    person confirms. False: nothing would be lost, quit now."""
    running = changes_under_way(app)
    if not running or isinstance(app.screen, QuitDialog):
        return False
    dialog = QuitDialog(
        "Quit while a change is under way?",
        running,
        "Quitting now stops tvirt's part of it. Press n or Escape to stay and let it finish.",
        "Quit",
    )

    def answered(answer: Confirmed | None) -> None:
        if answer is not None:
            app.exit()

    app.push_screen(dialog, answered)
    return True
