"""A connection being opened on a thread of its own, so its host's worker never waits.

Opening a qemu+ssh connection to a host that is frozen (its sshd stopped) or cut off
waits for as long as ssh does: without a ConnectTimeout, which a libvirt URI cannot set,
that is until the host answers again. A worker that opened connections itself would hold
every job of that host meanwhile: actions would hang instead of failing with a sentence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import libvirt

KEEPALIVE_INTERVAL = 2
KEEPALIVE_COUNT = 2

# Remote connections opened at once to one server (by host name), by this process. Fifty
# ssh handshakes at the same moment overflow sshd's default MaxStartups (10:30:100), which
# then drops a share of them at random, and each dropped host waits out its reconnect
# backoff (1, 2, 4 s...). Different servers have different sshds: they open side by side,
# up to OPEN_AT_ONCE in all so that the client's own handshakes stay bounded too.
PER_SERVER = 8
OPEN_AT_ONCE = 32
SLOTS = threading.BoundedSemaphore(OPEN_AT_ONCE)
_server_slots: dict[str, threading.BoundedSemaphore] = {}
_server_lock = threading.Lock()


def server_slots(server: str) -> threading.BoundedSemaphore:
    """The PER_SERVER places of one server (made on first use, kept for the process)."""
    with _server_lock:
        slots = _server_slots.get(server)
        if slots is None:
            slots = _server_slots[server] = threading.BoundedSemaphore(PER_SERVER)
        return slots



class Opening:
    """One attempt: open(uri) on a daemon thread, then done(self) is handed to post."""

    def __init__(self, deadline: float, server: str = "") -> None:
        self.deadline = deadline
        self.server = server  # the host name its handshake goes to
        self.overdue = False  # the worker has said that it does not answer
        self.abandoned = False  # the worker no longer wants the connection
        self.conn: libvirt.virConnect | None = None
        self.error: libvirt.libvirtError | None = None
        self._slot_lock = threading.Lock()
        self._slot_held = False

    def take_slot(self) -> None:
        """Wait for one of the server's PER_SERVER places, then one of the OPEN_AT_ONCE
        (a remote connection; a local one needs none: no handshake, no sshd). Always in
        that order, so no attempt holds a place of all while it waits for its server."""
        server_slots(self.server).acquire()
        SLOTS.acquire()
        with self._slot_lock:
            self._slot_held = True

    def give_slot(self) -> None:
        """Free the place: when the attempt ends, or as soon as it is overdue, so hosts
        that never answer (ssh waits for them without end) cannot hold every place."""
        with self._slot_lock:
            held, self._slot_held = self._slot_held, False
        if held:
            SLOTS.release()
            server_slots(self.server).release()

    def start(
        self,
        open_conn: Callable[[], libvirt.virConnect],
        post: Callable[[Opening], bool],
        name: str,
    ) -> None:
        """post(self) runs on this thread when the attempt ends; False means nobody will
        take the connection (the worker is stopping), so it is closed here."""

        def run() -> None:
            try:
                conn = open_conn()
            except libvirt.libvirtError as exc:
                self.error = exc
                post(self)
                return
            try:
                # Before anything else is asked: a host lost during the rest of the
                # connect is then noticed by keepalive instead of hanging a call.
                conn.setKeepAlive(KEEPALIVE_INTERVAL, KEEPALIVE_COUNT)
            except libvirt.libvirtError:
                pass  # Local drivers have no keepalive; they cannot drop either.
            self.conn = conn
            if not post(self):
                close_quietly(conn)

        threading.Thread(target=run, name=name, daemon=True).start()


def close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except libvirt.libvirtError:
        pass
