"""A VM's serial console as a non-blocking libvirt stream. No UI here.

Threads:
- the stream is opened and closed on the host's worker thread (``HostWorker.call``);
- libvirt's event thread (tvirt/events.py) runs the stream callback: it reads what the
  guest printed and writes what the user typed. It never blocks: ``recv`` and ``send``
  on a non-blocking stream return -2 instead of waiting;
- ``send`` may be called from any thread. It only appends to a buffer and asks the
  event loop to report the stream writable; the callback then drains the buffer.

``on_output`` gets the guest's bytes and ``on_closed`` one sentence saying why the
console ended. Both run on libvirt's threads; a UI must hand them to its own thread.
"""

from __future__ import annotations

import logging
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import libvirt

from tvirt.errors import TvirtError, explain

T = TypeVar("T")
log = logging.getLogger(__name__)

READABLE = libvirt.VIR_STREAM_EVENT_READABLE
WRITABLE = libvirt.VIR_STREAM_EVENT_WRITABLE
TROUBLE = libvirt.VIR_STREAM_EVENT_ERROR | libvirt.VIR_STREAM_EVENT_HANGUP
CHUNK = 64 * 1024

# Linux input key codes (VIR_KEYCODE_SET_LINUX), for sendKey.
KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE, KEY_SYSRQ = 29, 56, 111, 99
_LINUX_LETTERS = {
    **dict(zip("qwertyuiop", range(16, 26), strict=True)),
    **dict(zip("asdfghjkl", range(30, 39), strict=True)),
    **dict(zip("zxcvbnm", range(44, 51), strict=True)),
    **dict(zip("1234567890", range(2, 12), strict=True)),
}
SYSRQ_KEYS = "bcdefhijklmnopqrstuvwxyz0123456789"


class Caller(Protocol):
    """What a console needs from a host: run a function on its connection's thread."""

    def call(self, fn: Callable[[libvirt.virConnect], T]) -> Future[T]: ...

    def on_drop(self, fn: Callable[[str], object]) -> Callable[[], None]: ...


class ConsoleError(TvirtError):
    """The console could not be opened; the message is one sentence."""


class ConsoleBusy(ConsoleError):
    """Another client holds the console. Opening with force=True takes it over."""


@dataclass(frozen=True)
class GraphicsInfo:
    """One graphical display of a VM, from its live XML."""

    kind: str
    listen: str
    port: int
    autoport: bool

    def describe(self, host: str) -> str:
        """Where the display is, and how to reach it over ssh when the host is remote."""
        if self.port <= 0:
            return f"{self.kind.upper()} display (no port yet: the VM is not running)."
        listen = self.listen or "127.0.0.1"
        text = f"{self.kind.upper()} display on {listen} port {self.port}"
        if self.kind == "vnc":
            text += f" (VNC display :{self.port - 5900})"
        text += "."
        if host:
            # Listening on every address (or loopback) means the far end reaches it locally.
            anywhere = ("0.0.0.0", "::", "127.0.0.1", "::1")  # noqa: S104 - compared, not bound
            target = "localhost" if listen in anywhere else listen
            text += (
                f" To reach it from here: ssh -N -L {self.port}:{target}:{self.port} {host}, "
                f"then point a {self.kind.upper()} viewer at localhost:{self.port}."
            )
        return text


def graphics_of(xml: str) -> list[GraphicsInfo]:
    """The VM's graphical displays (VNC, SPICE, ...) from its domain XML."""
    found = []
    for node in ET.fromstring(xml).iter("graphics"):
        listen = node.get("listen", "")
        sub = node.find("listen")
        if sub is not None and sub.get("address"):
            listen = sub.get("address", "")
        try:
            port = int(node.get("port", "-1"))
        except ValueError:
            port = -1
        found.append(
            GraphicsInfo(node.get("type", "?"), listen, port, node.get("autoport") == "yes")
        )
    return found


def has_serial_console(xml: str) -> bool:
    root = ET.fromstring(xml)
    return root.find("devices/console") is not None or root.find("devices/serial") is not None


class ConsoleSession:
    """One attachment to one VM's serial console."""

    def __init__(
        self,
        host: Caller,
        uuid: str,
        name: str,
        host_label: str,
        on_output: Callable[[bytes], object],
        on_closed: Callable[[str], object],
    ) -> None:
        self._host = host
        self.uuid = uuid
        self.name = name
        self.host_label = host_label
        self._on_output = on_output
        self._on_closed = on_closed
        self._lock = threading.Lock()
        self._stream: libvirt.virStream | None = None
        self._outbox = bytearray()
        self._events = 0
        self._closed_reason: str | None = None
        self._forget_drop: Callable[[], None] = _nothing
        self.attached = False

    # -- opening and closing (any thread; the work runs on the host's thread) --
    def open(self, *, force: bool = False) -> Future[None]:
        """Attach. The future fails with ConsoleBusy if another client holds the console
        (unless force), or with ConsoleError for any other reason."""
        return self._host.call(lambda conn: self._open(conn, force))

    def _open(self, conn: libvirt.virConnect, force: bool) -> None:
        if self.attached:
            return
        try:
            dom = conn.lookupByUUIDString(self.uuid)
            if not dom.isActive():
                raise ConsoleError(f"{self.name} is not running, so its console is closed.")
            stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        except libvirt.libvirtError as exc:
            raise ConsoleError(f"Cannot open the console of {self.name}: {explain(exc)}") from None
        flags = libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0
        flags |= libvirt.VIR_DOMAIN_CONSOLE_SAFE
        try:
            dom.openConsole(None, stream, flags)
        except libvirt.libvirtError as exc:
            _quietly(stream.abort)
            if _is_busy(exc):
                raise ConsoleBusy(
                    f"Another client is attached to the console of {self.name} on "
                    f"{self.host_label}. Taking it over disconnects that client."
                ) from None
            if exc.get_error_code() == libvirt.VIR_ERR_OPERATION_UNSUPPORTED:
                # SAFE needs driver support; plain open still works where it is missing.
                self._open_plain(dom, stream, force)
            else:
                raise ConsoleError(
                    f"Cannot open the console of {self.name}: {explain(exc)}"
                ) from None
        self._attach(stream)

    def _open_plain(self, dom: libvirt.virDomain, stream: libvirt.virStream, force: bool) -> None:
        try:
            dom.openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE if force else 0)
        except libvirt.libvirtError as exc:
            if _is_busy(exc):
                raise ConsoleBusy(
                    f"Another client is attached to the console of {self.name} on "
                    f"{self.host_label}. Taking it over disconnects that client."
                ) from None
            raise ConsoleError(f"Cannot open the console of {self.name}: {explain(exc)}") from None

    def _attach(self, stream: libvirt.virStream) -> None:
        with self._lock:
            self._stream = stream
            self._outbox.clear()
            self._closed_reason = None
            self._events = READABLE | TROUBLE
            self.attached = True
        stream.eventAddCallback(self._events, self._on_event, None)
        # A dead connection fires no stream event: the host's worker says when it goes.
        self._forget_drop = self._host.on_drop(lambda clause: self._dropped(stream, clause))

    def _dropped(self, stream: libvirt.virStream, clause: str) -> None:
        """On the host's thread, as its connection goes (lost, or closed by tvirt)."""
        with self._lock:
            if self._stream is not stream:
                return
            self._stream = None
            self.attached = False
            self._outbox.clear()
        _finish(stream)
        self._report(f"The console of {self.name} closed: {clause}.")

    def close(self, reason: str = "") -> Future[None]:
        """Detach (idempotent). on_closed gets the reason, unless it is empty."""
        stream = self._take_stream()
        if stream is None:
            done: Future[None] = Future()
            done.set_result(None)
            return done
        if reason:
            self._report(reason)
        return self._host.call(lambda _conn: _finish(stream))

    def _take_stream(self) -> libvirt.virStream | None:
        with self._lock:
            stream, self._stream = self._stream, None
            self.attached = False
            self._outbox.clear()
        self._forget_drop()
        return stream

    # -- input (any thread) ---------------------------------------------------
    def send(self, data: bytes) -> bool:
        """Queue bytes for the guest; False if the console is not attached."""
        if not data:
            return True
        with self._lock:
            stream = self._stream
            if stream is None:
                return False
            self._outbox += data
            if not self._events & WRITABLE:
                self._events |= WRITABLE
                try:
                    stream.eventUpdateCallback(self._events)
                except libvirt.libvirtError:
                    return False
        return True

    # -- special keys (through the host's thread) -----------------------------
    def send_ctrl_alt_del(self) -> Future[str]:
        return self._send_keys([KEY_LEFTCTRL, KEY_LEFTALT, KEY_DELETE], "Ctrl+Alt+Del")

    def send_sysrq(self, letter: str) -> Future[str]:
        letter = letter.lower()
        if letter not in _LINUX_LETTERS or letter not in SYSRQ_KEYS:
            failed: Future[str] = Future()
            failed.set_exception(ConsoleError(f"SysRq has no command on the key {letter!r}."))
            return failed
        keys = [KEY_LEFTALT, KEY_SYSRQ, _LINUX_LETTERS[letter]]
        return self._send_keys(keys, f"SysRq {letter}")

    def _send_keys(self, codes: list[int], label: str) -> Future[str]:
        def job(conn: libvirt.virConnect) -> str:
            try:
                dom = conn.lookupByUUIDString(self.uuid)
                dom.sendKey(libvirt.VIR_KEYCODE_SET_LINUX, 100, codes, len(codes), 0)
            except libvirt.libvirtError as exc:
                raise ConsoleError(
                    f"Could not send {label} to {self.name}: {explain(exc)} "
                    "(the guest needs a keyboard device, and the driver must support sendKey)."
                ) from None
            return (
                f"Sent {label} to {self.name}'s keyboard; the guest acts on it only if its "
                "keyboard driver and settings allow."
            )

        return self._host.call(job)

    # -- libvirt's event thread: never blocks ---------------------------------
    def _on_event(self, stream: libvirt.virStream, events: int, _opaque: Any) -> None:
        if stream is not self._stream:
            return
        if events & READABLE and not self._read(stream):
            return
        if events & WRITABLE:
            self._write(stream)
        if events & TROUBLE:
            self._ended(stream, "")

    def _read(self, stream: libvirt.virStream) -> bool:
        # Bounded, so a chatty guest cannot starve the loop; what one event brings goes out
        # in one on_output call, so a flood costs the UI one hand-over per event.
        received = bytearray()
        ended: str | None = None  # why the stream ended, if it did
        for _ in range(16):
            try:
                data = stream.recv(CHUNK)
            except libvirt.libvirtError as exc:
                ended = explain(exc)
                break
            if data == -2:
                break
            if data == -1 or not data:
                ended = ""
                break
            received += data
        if received:
            self._on_output(bytes(received))
        if ended is not None:
            self._ended(stream, ended)
            return False
        return True

    def _write(self, stream: libvirt.virStream) -> None:
        with self._lock:
            while self._outbox:
                try:
                    sent = stream.send(bytes(self._outbox[:CHUNK]))
                except libvirt.libvirtError as exc:
                    self._outbox.clear()
                    error = explain(exc)
                    break
                if sent == -2:
                    return
                if sent < 0:
                    self._outbox.clear()
                    error = "the stream refused the input"
                    break
                del self._outbox[:sent]
            else:
                self._events &= ~WRITABLE
                _quietly(lambda: stream.eventUpdateCallback(self._events))
                return
        self._ended(stream, error)

    def _ended(self, stream: libvirt.virStream, detail: str) -> None:
        """The stream hit EOF or an error: find out why on the host's thread."""
        with self._lock:
            current = self._stream
            if current is None or current is not stream:
                return
            self._stream = None
            self.attached = False
        self._forget_drop()
        _quietly(current.eventRemoveCallback)
        try:
            future = self._host.call(lambda conn: self._why(conn, stream, detail))
        except Exception:  # the host worker is gone
            self._report(f"The console of {self.name} closed: the connection was lost.")
            return
        future.add_done_callback(self._why_done)

    def _why(self, conn: libvirt.virConnect, stream: libvirt.virStream, detail: str) -> str:
        _finish(stream)
        try:
            dom = conn.lookupByUUIDString(self.uuid)
            state = dom.state()[0]
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return f"The console of {self.name} closed: the VM no longer exists."
            return (
                f"The console of {self.name} closed: the connection to {self.host_label} "
                f"was lost ({explain(exc)})"
            )
        if state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_SHUTDOWN,
                     libvirt.VIR_DOMAIN_CRASHED):
            return f"The console of {self.name} closed: the VM stopped."
        why = f" ({detail.rstrip('.')})" if detail else ""
        return (
            f"The console of {self.name} closed{why}: another client may have taken it "
            "over, or the guest's serial device went away."
        )

    def _why_done(self, future: Future[str]) -> None:
        exc = future.exception()
        if exc is None:
            self._report(future.result())
        else:
            self._report(
                f"The console of {self.name} closed: the connection to {self.host_label} "
                f"was lost ({explain(exc).rstrip('.')})."
            )

    def _report(self, reason: str) -> None:
        with self._lock:
            if self._closed_reason is not None:
                return
            self._closed_reason = reason
        try:
            self._on_closed(reason)
        except Exception:  # a UI that has gone away must not break libvirt's threads
            log.debug("console close report failed", exc_info=True)


def _is_busy(exc: libvirt.libvirtError) -> bool:
    text = str(exc).lower()
    return "active console session" in text or "console is in use" in text or (
        exc.get_error_code() == libvirt.VIR_ERR_OPERATION_FAILED and "console" in text
    )


def _finish(stream: libvirt.virStream) -> None:
    _quietly(stream.eventRemoveCallback)
    _quietly(stream.abort)


def _nothing() -> None:
    return None


def _quietly(fn: Callable[[], object]) -> None:
    try:
        fn()
    except libvirt.libvirtError:
        pass


# -- the escape key that leaves a console ("ctrl+]" in the config) -------------
_TEXTUAL_NAMES = {
    "@": "@",
    "[": "left_square_bracket",
    "\\": "backslash",
    "]": "right_square_bracket",
    "^": "circumflex_accent",
    "_": "underscore",
}


def escape_byte(spec: str) -> bytes:
    """The byte a terminal sends for "ctrl+X"."""
    char = spec.partition("+")[2]
    return bytes([ord(char.upper()) & 0x1F])


def escape_key_name(spec: str) -> str:
    """Textual's name for the key ("ctrl+right_square_bracket" for "ctrl+]")."""
    char = spec.partition("+")[2]
    return "ctrl+" + _TEXTUAL_NAMES.get(char, char)


def escape_label(spec: str) -> str:
    """How a person reads it: "Ctrl+]"."""
    char = spec.partition("+")[2]
    return "Ctrl+" + (char.upper() if char.isalpha() else char)
