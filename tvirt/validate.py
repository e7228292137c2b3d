"""One check per value a person types: memory, vCPUs, sizes, names and paths.

The new-VM and volume wizards, the hardware screen and the plain commands all call these
functions, so a bad value gets the same sentence wherever it was typed. Each raises
`Invalid` (a ValueError) whose text is that one sentence. Sizes are parsed by
`tvirt.sizes.parse_size`, the one size parser.

Only `existing_path` needs the host: it runs on the host's worker thread.
"""

from __future__ import annotations

import os
import re

import libvirt

from tvirt.errors import UsageError
from tvirt.sizes import MIB, SizeError, parse_size
from tvirt.words import plural

MIN_MEMORY_MIB = 16
MEMORY = "memory size"  # the name a memory size goes by in the size sentences
NAME_LONGEST = {"VM": 64, "network": 50}
NAME_DEFAULT_LONGEST = 200  # volumes, pools, snapshots
_NAME_OK = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+:@-]*$")
_WHOLE = re.compile(r"^[+-]?\d+$")


class Invalid(UsageError, ValueError):
    """A value that cannot be used; the text is one sentence saying why."""


# -- sizes ------------------------------------------------------------------
def size(text: str) -> int:
    """Bytes of a disk or volume size ('8G', '1.5 TiB'; a bare number is bytes)."""
    try:
        return parse_size(text)
    except SizeError as exc:
        raise Invalid(str(exc)) from None


def size_mib(text: str) -> int:
    """A disk size in whole MiB, rounded up (a new VM's disk is made in MiB)."""
    return -(-size(text) // MIB)


# -- memory -----------------------------------------------------------------
def memory_mib(text: str, host_mib: int | None = None) -> int:
    """MiB of memory typed as '512M', '2G' or a bare number of MiB (as virt-install),
    within check_memory's bounds."""
    return check_memory(parse_memory(text), host_mib)


def parse_memory(text: str) -> int:
    """Only the parsing of memory_mib, for a form that checks the bounds at its own step."""
    try:
        return parse_size(text, MEMORY, bare=MIB) // MIB
    except SizeError as exc:
        raise Invalid(str(exc)) from None


def check_memory(mib: int, host_mib: int | None = None) -> int:
    """At least MIN_MEMORY_MIB, and no more than the host has (when it is known)."""
    if mib < MIN_MEMORY_MIB:
        raise Invalid(f"Memory must be at least {MIN_MEMORY_MIB} MiB, not {mib} MiB.")
    if host_mib is not None and mib > host_mib:
        raise Invalid(f"Memory of {mib} MiB is more than the host has ({host_mib} MiB).")
    return mib


# -- vCPUs ------------------------------------------------------------------
def vcpus(value: str | int, host_vcpus: int | None = None) -> int:
    """A whole number of at least 1, and no more than the host offers (when known)."""
    text = str(value).strip()
    if not _WHOLE.match(text):
        raise Invalid(f"vCPUs must be a whole number, not {text!r}.")
    count = int(text)
    if count < 1:
        raise Invalid(f"A VM needs at least 1 vCPU, not {count}.")
    if host_vcpus is not None and count > host_vcpus:
        raise Invalid(f"The host offers at most {plural(host_vcpus, 'vCPU')}, not {count}.")
    return count


# -- names ------------------------------------------------------------------
def name(text: str, what: str = "VM", existing: frozenset[str] | set[str] = frozenset()) -> str:
    """A VM, volume, pool, network or snapshot name: one rule for all of them."""
    if not text:
        raise Invalid(f"Give the {what} a name.")
    longest = NAME_LONGEST.get(what, NAME_DEFAULT_LONGEST)
    if len(text) > longest:
        raise Invalid(f"A {what} name has at most {longest} characters; this has {len(text)}.")
    if "/" in text or "\\" in text:
        raise Invalid(f"A {what} name cannot contain a path separator (/ or \\).")
    if text[0] in ".-":
        raise Invalid(f"A {what} name cannot start with a dot or a dash.")
    if not _NAME_OK.match(text):
        raise Invalid(f"A {what} name may hold only letters, digits and . _ - + : @ (no spaces).")
    if text in existing:
        raise Invalid(f"A {what} named {text} already exists.")
    return text


# -- paths ------------------------------------------------------------------
def absolute_path(path: str, what: str) -> str:
    if not path.startswith("/"):
        raise Invalid(f"The {what} path must be absolute (start with /), not {path!r}.")
    return path


def existing_path(conn: libvirt.virConnect, path: str, what: str) -> str:
    """An absolute path that exists on the connection's host (worker thread only).

    A path that cannot be checked (a remote host reached without ssh, a directory this
    user may not search) is let through: libvirt then has the last word.
    """
    absolute_path(path, what)
    if exists_on_host(conn, path) is False:
        raise Invalid(f"There is no {what} at {path} on {_host_name(conn)}.")
    return path


def exists_on_host(conn: libvirt.virConnect, path: str) -> bool | None:
    """True or False, or None when it cannot be told."""
    try:
        conn.storageVolLookupByPath(path)
        return True
    except libvirt.libvirtError:
        pass  # not a volume of a running pool; maybe a plain file
    from tvirt.remote import RemoteError, runner_for
    from tvirt.uri import URIError, parse_uri

    try:
        uri = parse_uri(conn.getURI())
    except URIError:
        return None
    if not uri.remote:
        try:
            os.stat(path)
        except FileNotFoundError:
            return False
        except OSError:
            return None  # e.g. a directory this user may not search
        return True
    try:
        done = runner_for(uri).run(["test", "-e", path], timeout=20)
    except RemoteError:
        return None
    return {0: True, 1: False}.get(done.returncode)


def _host_name(conn: libvirt.virConnect) -> str:
    try:
        return str(conn.getHostname())
    except libvirt.libvirtError:
        return "the host"
