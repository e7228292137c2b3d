"""The live graphical display's two calls: one screenshot (one job on the host's worker,
so stats and actions of that host wait at most one frame) and key chords for sendKey."""

from __future__ import annotations

from concurrent.futures import Future

import libvirt

from tvirt.keymap import Chord
from tvirt.ops.run import Host, on_host, on_vm
from tvirt.screenshot import Frame, grab

# Milliseconds each chord is held down: long enough for a PS/2 keyboard's scan.
HOLD_MS = 20
# Chords per worker job when typing text: a long paste never holds the worker for long.
BATCH = 16


def frame(host: Host, uuid: str) -> Future[Frame]:
    """The VM's screen as libvirt sent it (undecoded, with its digest). A failure is
    explained (a VM without a display has no screen to take)."""
    return on_host(host, lambda conn: grab(conn, uuid), explained=True)


def send_chords(host: Host, uuid: str, name: str, chords: list[Chord]) -> Future[int]:
    """Press each chord in turn (its keys together) on the VM's keyboard; the count sent.
    Read-only mode refuses, as libvirt would."""

    def job(_conn: libvirt.virConnect, dom: libvirt.virDomain) -> int:
        for chord in chords:
            dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, HOLD_MS, list(chord), len(chord), 0)
        return len(chords)

    return on_vm(host, uuid, job, change=f"send keys to {name}", explained=True)


def batches(chords: list[Chord]) -> list[list[Chord]]:
    """Text's chords cut into worker jobs of at most BATCH each."""
    return [chords[i : i + BATCH] for i in range(0, len(chords), BATCH)]
