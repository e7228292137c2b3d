"""Checking and normalising libvirt URIs before anything connects to them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from tvirt.errors import UsageError

DEMO_URI = "test:///default"
SYSTEM_URI = "qemu:///system"

_DRIVERS = {"qemu", "test", "lxc", "xen", "ch", "bhyve", "vbox", "openvz"}
_TRANSPORTS = {"ssh", "libssh", "libssh2", "tcp", "tls", "unix"}
_HOST_RE = re.compile(r"^[A-Za-z0-9._-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")
_USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class URIError(UsageError, ValueError):
    """A URI that tvirt refuses, with a one-sentence reason."""


@dataclass(frozen=True)
class ParsedURI:
    uri: str
    driver: str
    transport: str
    user: str
    host: str
    port: int | None
    path: str

    @property
    def remote(self) -> bool:
        return bool(self.host)

    @property
    def uses_ssh(self) -> bool:
        return self.transport in {"ssh", "libssh", "libssh2"}

    @property
    def demo(self) -> bool:
        return self.driver == "test"

    @property
    def label(self) -> str:
        """The URI's own short name: host (or 'localhost') plus the driver path. What
        screens and commands show is `tvirt.labels.host_labels`, which starts from it."""
        return self.label_at(self.host)

    def label_at(self, where: str) -> str:
        """The short name with `where` as the host's name ('' for the local host)."""
        if self.driver == "test":
            source = "default" if self.path == "/default" else self.path.rsplit("/", 1)[-1]
            return f"{where} demo {source}" if where else f"demo {source}"
        return f"{where or 'localhost'} {self.driver}{self.path}"


def parse_uri(text: str) -> ParsedURI:
    """Validate a libvirt URI and return it normalised.

    SSH URIs get ``no_tty=1`` so ssh can never prompt on the app's terminal, and
    ``no_verify=1`` is refused because tvirt never disables host-key checking.
    """
    raw = text.strip()
    if not raw:
        raise URIError("The connection URI is empty.")
    if any(ord(ch) < 32 or ch.isspace() for ch in raw):
        raise URIError("The connection URI contains spaces or control characters.")
    if "://" not in raw:
        raise URIError(
            f"'{raw}' is not a libvirt URI; expected something like qemu:///system "
            "or qemu+ssh://user@host/system."
        )
    parts = urlsplit(raw)
    driver, _, transport = parts.scheme.partition("+")
    if driver not in _DRIVERS:
        raise URIError(f"'{parts.scheme}' is not a known libvirt driver in '{raw}'.")
    if transport and transport not in _TRANSPORTS:
        raise URIError(f"'{transport}' is not a libvirt transport in '{raw}'.")
    try:
        port = parts.port
    except ValueError:
        raise URIError(f"The port in '{raw}' is not a number between 1 and 65535.") from None
    if port is not None and not 0 < port < 65536:
        raise URIError(f"The port in '{raw}' is not a number between 1 and 65535.")
    host = parts.hostname or ""
    if parts.netloc and not host:
        raise URIError(f"The host part of '{raw}' is empty.")
    if host and not _HOST_RE.match(host if ":" not in host else f"[{host}]"):
        raise URIError(f"'{host}' is not a valid host name.")
    user = parts.username or ""
    if user and not _USER_RE.match(user):
        raise URIError(f"'{user}' is not a valid user name.")
    if parts.password:
        raise URIError("Passwords in URIs are refused; tvirt never stores passwords.")
    if transport and not host:
        raise URIError(f"'{raw}' names the {transport} transport but no host.")
    if host and not transport and driver != "test":
        transport = "tls"
    if driver == "qemu" and parts.path not in {"/system", "/session"}:
        raise URIError(f"A qemu URI must end in /system or /session, not '{parts.path or '/'}'.")
    if driver == "test" and not parts.path:
        raise URIError("A test URI needs a path, such as test:///default.")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "no_verify" and value not in {"", "0"} for key, value in query):
        raise URIError("no_verify is refused: tvirt never disables host-key checking.")
    if transport in {"ssh", "libssh", "libssh2"} and not any(k == "no_tty" for k, _ in query):
        query.append(("no_tty", "1"))
    normalised = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if query:
        normalised += "?" + urlencode(query)
    return ParsedURI(
        uri=normalised,
        driver=driver,
        transport=transport,
        user=user,
        host=host,
        port=port,
        path=parts.path,
    )
