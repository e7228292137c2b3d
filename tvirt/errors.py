"""Turning libvirt and ssh failures into one clear sentence each."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any, TypeGuard

if TYPE_CHECKING:
    import libvirt

# Exit statuses of the plain commands (docs/user-guide.md lists them).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3
EXIT_INTERRUPTED = 130


class TvirtError(Exception):
    """Every failure tvirt itself raises: str() is the one sentence for a person.

    ``host`` (a label or URI) and ``subject`` (the VM, pool, volume or device) say what
    it concerns where the raiser knows; ``exit_code`` is the plain command's exit status
    when this error ends it (tvirt.cli.plumbing.report is the one place that uses it)."""

    exit_code: int = EXIT_FAILED
    # Class defaults, so subclasses that also derive from OSError (whose __init__ does
    # not chain to ours) still have them.
    host: str = ""
    subject: str = ""

    def __init__(self, message: str = "", *, host: str = "", subject: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.subject = subject


class UsageError(TvirtError):
    """A value or choice the person typed cannot be used (exit status 2)."""

    exit_code = EXIT_USAGE

# Ordered: the first matching fragment wins. ssh's own wording reaches us through
# libvirt's error message, so these match ssh and libvirt text alike.
_SSH_PATTERNS: list[tuple[tuple[str, ...], str]] = [
    (
        ("host key verification failed", "remote host identification has changed"),
        "The host key of {host} is unknown or has changed; verify it and add it to "
        "known_hosts (for example with ssh-keyscan), then retry.",
    ),
    (
        ("permission denied", "authentication failed", "authentication unavailable"),
        "Permission denied by {host}: ssh could not log in with your keys or agent.",
    ),
    (
        ("could not resolve hostname", "name or service not known"),
        "The host name {host} could not be resolved.",
    ),
    (
        ("no route to host", "network is unreachable"),
        "There is no network route to {host}.",
    ),
    (
        ("connection refused",),
        "{host} refused the connection: is sshd (or libvirtd) running there?",
    ),
    (
        ("connection timed out", "operation timed out"),
        "Connecting to {host} timed out.",
    ),
    (
        # Only socket failures: other "No such file or directory" errors (a missing
        # iptables binary, say) must keep libvirt's own words.
        ("failed to connect socket", "nc: /", "unix connect failed"),
        "The libvirt socket was not found on {host}: is libvirtd running, and is the "
        "URI path (/system or /session) right?",
    ),
    (
        ("cannot recv data", "end of file while reading data"),
        "The connection to {host} closed unexpectedly; ssh or libvirtd on the far end "
        "may have refused it.",
    ),
]


# For an ssh URI libvirt runs a proxy on the far host with `sh -c`: virt-ssh-helper, or nc
# for socket=, proxy=netcat or a netcat= program (and when virt-ssh-helper is missing).
# A missing program comes back as that shell's complaint: "sh: 1: nc: not found" (dash),
# "sh: line 1: nc: command not found" (bash), "sh: nc: not found" (busybox).
_MISSING_PROGRAM = re.compile(
    r"\bsh: (?:line )?(?:\d+: )?(?P<program>[^\s:]+): (?:command )?not found"
)
_MISSING_SENTENCES = {
    "nc": "nc (netcat) is not installed on {host}, and libvirt runs it there to reach the "
    "libvirt socket: install netcat-openbsd on {host}, or drop the URI's socket= and "
    "proxy=netcat options so that libvirt can use virt-ssh-helper.",
    "virt-ssh-helper": "virt-ssh-helper is not installed on {host}, and libvirt runs it "
    "there to reach the libvirt socket: install libvirt-daemon on {host}, or put "
    "proxy=netcat in the URI if netcat is installed there.",
}
_MISSING_NETCAT_OPTION = (
    "{program}, the program named by the URI's netcat= option, is not installed on {host}: "
    "install it there, or correct or drop the netcat= option."
)


# libvirt was built without the driver a URI names (xen:///system on a QEMU-only host):
# no retry can ever succeed.
_NO_DRIVER = "no connection driver available"


def permanent(exc: BaseException) -> bool:
    """A connection failure that retrying cannot cure."""
    return _NO_DRIVER in str(exc).lower()


def explain(exc: BaseException, host: str = "the host") -> str:
    """One sentence that says what went wrong, never a traceback."""
    text = str(exc).strip()
    lowered = text.lower()
    if _NO_DRIVER in lowered:
        return (
            f"libvirt on {host} has no driver for this URI ({_sentence(text).rstrip('.')}), "
            "so it is not retried; install that driver or correct the URI."
        )
    lv = _libvirt_of(exc)
    if lv is not None and _is_libvirt_error(exc):
        code = exc.get_error_code()
        if code == lv.VIR_ERR_OPERATION_INVALID:
            return _sentence(_libvirt_message(exc) or text)
        if code == lv.VIR_ERR_NO_DOMAIN:
            return "That virtual machine no longer exists."
        if code == lv.VIR_ERR_OPERATION_DENIED or "read-only" in lowered:
            return "The connection is read-only, so the change was refused."
        missing = _missing_program(text, host)
        if missing:
            return missing
    for fragments, template in _SSH_PATTERNS:
        if any(fragment in lowered for fragment in fragments):
            return template.format(host=host)
    if lv is not None:
        return _sentence(_libvirt_message(exc) or text)
    return _sentence(text or type(exc).__name__)


def _libvirt_of(exc: BaseException) -> Any:
    """libvirt's module when exc is a libvirt error, else None. Looked up, not imported:
    a libvirt error exists only once libvirt is loaded, and the commands that never need
    libvirt (`tvirt --version`, completion) start faster without it."""
    module = sys.modules.get("libvirt")
    if module is not None and isinstance(exc, module.libvirtError):
        return module
    return None


def _is_libvirt_error(exc: BaseException) -> TypeGuard[libvirt.libvirtError]:
    return _libvirt_of(exc) is not None


def _missing_program(text: str, host: str) -> str:
    """The sentence for a proxy program missing on the far host, or ''."""
    match = _MISSING_PROGRAM.search(text)
    if match is None:
        return ""
    program = match.group("program")
    template = _MISSING_SENTENCES.get(program, _MISSING_NETCAT_OPTION)
    return template.format(host=host, program=program)


def _libvirt_message(exc: libvirt.libvirtError) -> str:
    message = exc.get_error_message() or ""
    return str(message).strip()


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        return "An unknown error occurred."
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def libvirt_sentence(exc: libvirt.libvirtError) -> str:
    """libvirt's own words for a refused change (verbatim, as one line); connection
    failures still get the explained sentence, which says what to check."""
    lv = _libvirt_of(exc)
    if lv is None or exc.get_error_domain() in (lv.VIR_FROM_RPC, lv.VIR_FROM_REMOTE):
        return explain(exc)
    text = " ".join(str(exc.get_error_message() or exc).split())
    return text if text.endswith((".", "!", "?")) else f"{text}."


def sentence(exc: BaseException) -> str:
    """One sentence for any failure a change can end in: libvirt's own words for a
    refused change, tvirt's own errors as they are, anything else explained."""
    if _libvirt_of(exc) is not None:
        return libvirt_sentence(exc)
    if isinstance(exc, TvirtError | ValueError):
        return str(exc)
    return explain(exc)


def os_sentence(exc: OSError, doing: str = "") -> str:
    """An operating-system failure as one sentence with the path it concerns:
    "Could not write /mnt/out.img: No space left on device." """
    # OSError.__str__, not str(): a subclass may build its sentence from this one.
    reason = exc.strerror or OSError.__str__(exc) or type(exc).__name__
    path = exc.filename
    if path is None:
        return _sentence(f"{doing}: {reason}" if doing else reason)
    other = f" -> {exc.filename2}" if exc.filename2 is not None else ""
    return _sentence(f"{doing or 'Could not use'} {path}{other}: {reason}")
