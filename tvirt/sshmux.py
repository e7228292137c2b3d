"""One ssh connection per host for the commands tvirt runs there (OpenSSH connection
sharing), instead of a handshake per command.

The first command to a host starts a master (ControlMaster=auto) whose socket lives in
tvirt's private runtime directory, in a directory of this process's own (another tvirt
of the same user never rides on it, so closing it never cuts their commands); later
commands ride on it. A master lingers
PERSIST_SECONDS after its last command (a killed tvirt leaves nothing for long), and
close_all, run when the process exits, closes every master this process may have started
(`ssh -O exit`). Host-key checking and BatchMode stay as the caller's ssh argv has them.
Where no private directory can be had, commands connect on their own as before.

Sharing can be turned off (`[ssh] share_connections = false`, or set_sharing from the app's
setting): every command then connects on its own. It is read from the config on first use
and applied when each command starts (`apply`), so a runner made earlier follows a change;
a master already running is not cut, it ends PERSIST_SECONDS after its last command.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import stat
import subprocess
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path

PERSIST_SECONDS = 30  # longer than the Gluster view's 10 s tick: its commands share one
CLOSE_TIMEOUT = 10.0
# The socket's name is ssh's hash of (local host, remote host, port, user): short enough
# for the 108-byte limit of a socket path, and one per destination.
SOCKET_NAME = "%C"

_lock = threading.Lock()
_started: dict[tuple[str, ...], None] = {}  # the ssh argv of each master, in order
_hooked = False
_sharing: bool | None = None  # None: not read from the config yet


def control_dir() -> Path | None:
    """$XDG_RUNTIME_DIR/tvirt (platformdirs' runtime dir without one), mode 0700 and ours,
    or None if it cannot be made so."""
    base = os.environ.get("XDG_RUNTIME_DIR", "")
    if base:
        path = Path(base) / "tvirt"
    else:
        import platformdirs

        with warnings.catch_warnings():  # it warns that it falls back to /tmp/runtime-UID
            warnings.simplefilter("ignore")
            path = Path(platformdirs.user_runtime_dir("tvirt"))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)
        info = os.stat(path, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            return None
        if info.st_mode & 0o077:
            path.chmod(0o700)
        return path if _safe_parent(path.parent) else None
    except OSError:
        return None


def _safe_parent(path: Path) -> bool:
    """Only we or root can swap our directory out of its parent (a shared /tmp's
    runtime-UID made by someone else is refused)."""
    info = os.stat(path)
    if info.st_uid == os.getuid():
        return True
    return info.st_uid == 0 and (not info.st_mode & 0o022 or bool(info.st_mode & stat.S_ISVTX))


def process_dir() -> Path | None:
    """This process's directory for its masters' sockets (made on first use; those of
    processes that are gone are removed then), or None without a private directory."""
    base = control_dir()
    if base is None:
        return None
    path = base / str(os.getpid())
    if not path.is_dir():
        _prune(base)
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError:
            return None
    return path


def _prune(base: Path) -> None:
    """Remove the socket directories of processes that are gone (killed: their masters
    ended PERSIST_SECONDS after their last command, the directories stayed)."""
    for entry in base.iterdir():
        if entry.name.isdigit() and not Path(f"/proc/{entry.name}").exists():
            with contextlib.suppress(OSError):
                for leftover in entry.iterdir():
                    leftover.unlink()
                entry.rmdir()


def sharing() -> bool:
    """Whether commands share one connection per host: set_sharing's value, else the
    config's `[ssh] share_connections` (on when the config cannot be read: the command
    that loads it says why)."""
    global _sharing
    if _sharing is None:
        from tvirt import config

        try:
            _sharing = config.load().share_connections
        except config.ConfigError:
            _sharing = True
    return _sharing


def set_sharing(on: bool | None) -> None:
    """Sharing on or off from now on; None: as the config says (read again)."""
    global _sharing
    _sharing = on


def options() -> tuple[str, ...]:
    """The ssh options that share one connection per destination, or () with sharing
    off or without a private directory."""
    if not sharing():
        return ()
    where = process_dir()
    if where is None:
        return ()
    return (
        "-o", "ControlMaster=auto",
        "-o", f"ControlPath={where / SOCKET_NAME}",
        "-o", f"ControlPersist={PERSIST_SECONDS}",
    )


def shared(argv: Sequence[str]) -> bool:
    return any(a.startswith("ControlPath=") for a in argv)


_OURS = ("ControlMaster=", "ControlPath=", "ControlPersist=")


def apply(ssh_argv: Sequence[str]) -> tuple[str, ...]:
    """ssh's argv up to the destination, with sharing as it is set now (options() before
    the destination, or none of them)."""
    *rest, destination = ssh_argv
    kept: list[str] = []
    for word in rest:
        if word.startswith(_OURS) and kept and kept[-1] == "-o":
            kept.pop()
        else:
            kept.append(word)
    return (*kept, *options(), destination)


def remember(ssh_argv: Sequence[str]) -> None:
    """Note a master this process may start (ssh's argv up to the destination), to close
    it at exit."""
    global _hooked
    with _lock:
        _started[tuple(ssh_argv)] = None
        if not _hooked:
            atexit.register(close_all)
            _hooked = True


def master_pid(ssh_argv: Sequence[str]) -> int | None:
    """The pid of the master answering for this destination (`ssh -O check`), or None."""
    *options_, destination = ssh_argv
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        done = subprocess.run([*options_, "-O", "check", destination], capture_output=True,
                              stdin=subprocess.DEVNULL, text=True, timeout=CLOSE_TIMEOUT,
                              check=False)
        found = re.search(r"pid=(\d+)", done.stderr)
        if done.returncode == 0 and found:
            return int(found.group(1))
    return None


def close_all() -> None:
    """Close every master this process may have started; one that is gone already, or
    never started, is no failure."""
    with _lock:
        started = list(_started)
        _started.clear()
    for argv in started:
        *options_, destination = argv
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run([*options_, "-O", "exit", destination], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=CLOSE_TIMEOUT, check=False)
    base = control_dir()
    if base is not None:
        with contextlib.suppress(OSError):  # a master still removing its socket: pruned later
            (base / str(os.getpid())).rmdir()
