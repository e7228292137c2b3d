"""Shell completion for bash and zsh, through argcomplete (a maintained library that
completes from the argparse parser itself, so commands and options never need a list of
their own), and `tvirt completion bash|zsh`, which prints the script to source.

The names of things on hosts (VMs, pools, volumes, networks) come from the hosts the
command line would use, each asked on a daemon thread with one short deadline for all: a
host that does not answer in time adds nothing, and a TAB never waits longer than that.
Nothing is ever printed but the completions (argcomplete owns stdout and stderr then).
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from tvirt.errors import EXIT_OK

SHELLS = ("bash", "zsh")
# Seconds every host together may take to answer one TAB.
TIMEOUT = 2.0

Lister = Callable[[Any, argparse.Namespace], Iterable[str]]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "completion",
        help="print the bash or zsh completion script (source it, or see the user guide)",
        description="Print the completion script for bash or zsh. For the running shell: "
        "eval \"$(tvirt completion bash)\"; scripts/install.sh installs it for good.",
    )
    cmd.add_argument("shell", choices=SHELLS)
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(script(args.shell), end="")
    return EXIT_OK


def script(shell: str) -> str:
    """The completion script for `tvirt` in this shell. use_defaults=False: no file names
    from the shell where tvirt offers nothing (a VM name with no host answering)."""
    from argcomplete.shell_integration import shellcode

    code: str = shellcode(["tvirt"], use_defaults=False, shell=shell)
    return code


def words_before_cursor() -> list[str]:
    """The whole words before the one being completed, without the program's name: what
    decides which command groups the parser needs."""
    from argcomplete.lexers import split_line

    line = os.environ.get("COMP_LINE", "")
    point = int(os.environ.get("COMP_POINT", len(line)))
    words: list[str] = split_line(line, point)[3]
    return words[1:]


def complete(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request and exit (argcomplete's protocol)."""
    import argcomplete

    attach(parser)
    argcomplete.autocomplete(
        parser,
        always_complete_options=False,  # options after a "-" only: names come first
        default_completer=argcomplete.completers.SuppressCompleter(),
    )


# -- which argument completes from what ------------------------------------------------
def attach(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Give each argument naming a thing on a host its completer, by its name in the
    parser (every group names a VM `vm`, a pool `pool`, and so on), at every depth."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                attach(command, (*path, name))
            continue
        completer = _completer_for(path, action)
        if completer is not None:
            action.completer = completer  # type: ignore[attr-defined]
        elif action.option_strings and action.nargs != 0 and not action.choices:
            # An option's free value (a size, a path): the shell completes file names.
            action.completer = _files()  # type: ignore[attr-defined]


def _files() -> Any:
    import argcomplete

    return argcomplete.completers.FilesCompleter()


# Positional file arguments: (command path, dest).
_FILE_ARGS = {("hw", "disk-add", "path"), ("hw", "media", "path"),
              ("vol", "upload", "file"), ("vol", "download", "file")}
# Volume names of the pool given before them, where the volume must exist.
_VOLUME_COMMANDS = {"delete", "resize", "clone", "wipe", "upload", "download"}
_NETWORK_COMMANDS = {"start", "stop", "autostart", "undefine"}


Completer = Callable[..., list[str]]


def _completer_for(path: tuple[str, ...], action: argparse.Action) -> Completer | None:
    dest, options = action.dest, action.option_strings
    if action.choices:
        return None  # argcomplete offers the choices
    if "--host" in options or (not options and dest == "host"):
        return _host_labels
    if "--connect" in options:
        return _uris
    if path == ("migrate",) and dest == "dest":
        return _destinations
    if options:
        return _names(_networks) if dest == "network" else None
    if dest in ("vm", "vms"):
        return _names(_vms)
    if dest == "pool":
        return _names(_pools)
    if path[:1] == ("vol",) and path[1:] and path[1] in _VOLUME_COMMANDS and dest == "name":
        return _names(_volumes)
    if path[:1] == ("net",) and path[1:] and path[1] in _NETWORK_COMMANDS and dest == "name":
        return _names(_networks)
    if (*path, dest) in _FILE_ARGS:
        return _files()  # type: ignore[no-any-return]
    return None


# -- names from the configuration alone ------------------------------------------------
def _chosen_uris(parsed: argparse.Namespace) -> list[str]:
    """The URIs this command line would open (-c before or after the command, else
    LIBVIRT_DEFAULT_URI, the config, the local daemon or the demo), normalised."""
    from tvirt import config
    from tvirt.manager import choose_uris
    from tvirt.uri import URIError, parse_uri

    flags = [*(getattr(parsed, "connect", None) or []), *getattr(parsed, "late_connect", [])]
    try:
        cfg = config.load()
    except Exception:  # a broken config: complete from the flags alone
        cfg = config.Config()
    found = []
    for text in choose_uris(flags, cfg)[0]:
        try:
            found.append(parse_uri(text).uri)
        except URIError:
            continue
    return found


def _host_labels(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
    from tvirt.uri import parse_uri

    try:
        return [parse_uri(uri).label for uri in _chosen_uris(parsed_args)]
    except Exception:  # completion never fails aloud
        return []


def _destinations(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
    """Where `migrate` can send a VM: a chosen host by the first word of its label (what
    DEST matches without quoting), or a URI from the config."""
    names = {label.split()[0] for label in _host_labels(prefix, parsed_args)}
    return sorted(names) + [uri for uri in _uris(prefix, parsed_args) if uri not in names]


def _uris(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
    try:
        from tvirt import config

        return list(config.load().uris)
    except Exception:
        return []


# -- names asked of the hosts ----------------------------------------------------------
def _names(lister: Lister) -> Completer:
    def complete_names(prefix: str, parsed_args: argparse.Namespace, **_kw: Any) -> list[str]:
        try:
            return sorted(set(gather(_chosen_uris(parsed_args), lister, parsed_args)))
        except Exception:
            return []

    return complete_names


def gather(
    uris: list[str], lister: Lister, parsed: argparse.Namespace, timeout: float = TIMEOUT
) -> list[str]:
    """lister(conn, parsed) on every host at once, each on a daemon thread: what arrived
    within the timeout. A thread still waiting on a host is left behind (argcomplete
    ends the process with os._exit right after)."""
    import libvirt

    # libvirt prints every error on stderr by default; a TAB must print nothing.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    answers: queue.Queue[list[str]] = queue.Queue()

    def ask(uri: str) -> None:
        names: list[str] = []
        try:
            conn = libvirt.openReadOnly(uri)
            try:
                names = list(lister(conn, parsed))
            finally:
                conn.close()
        except Exception:  # an unreachable host offers nothing
            names = []
        answers.put(names)

    for uri in uris:
        threading.Thread(target=ask, args=(uri,), daemon=True, name="tvirt-complete").start()
    deadline = time.monotonic() + timeout
    found: list[str] = []
    for _ in uris:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            found.extend(answers.get(timeout=left))
        except queue.Empty:
            break
    return found


def _vms(conn: Any, _parsed: argparse.Namespace) -> list[str]:
    return [dom.name() for dom in conn.listAllDomains(0)]


def _pools(conn: Any, _parsed: argparse.Namespace) -> list[str]:
    return [pool.name() for pool in conn.listAllStoragePools(0)]


def _volumes(conn: Any, parsed: argparse.Namespace) -> list[str]:
    pool = getattr(parsed, "pool", None)
    if not pool:
        return []
    return list(conn.storagePoolLookupByName(pool).listVolumes())


def _networks(conn: Any, _parsed: argparse.Namespace) -> list[str]:
    return [net.name() for net in conn.listAllNetworks(0)]
