"""The one thread that runs libvirt's default event loop.

libvirt delivers domain lifecycle events, keepalive probes and close callbacks
through this loop, so it must be registered before any connection is opened.
Callbacks run on this thread; they only hand work to host workers, never block.
"""

from __future__ import annotations

import threading

import libvirt

_lock = threading.Lock()
_thread: threading.Thread | None = None


def ensure_event_loop() -> None:
    """Register libvirt's default event implementation and start its thread, once."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        # libvirt's default error handler prints to stderr, which would scribble over
        # the TUI; every error reaches the user as an exception we explain instead.
        libvirt.registerErrorHandler(_ignore_error, None)
        libvirt.virEventRegisterDefaultImpl()
        _thread = threading.Thread(target=_run, name="libvirt-events", daemon=True)
        _thread.start()


def _ignore_error(_context: object, _error: object) -> None:
    return None


def _run() -> None:
    while True:
        libvirt.virEventRunDefaultImpl()
