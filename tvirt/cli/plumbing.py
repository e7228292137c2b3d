"""What every command group shares: exit statuses and the one error handler, host choice
(--host, a HOST argument), waiting on a host's worker, read-only refusal before any
confirmation, and writing lines or JSON.

Every job runs on the host's worker thread (the only thread that may touch its
connection); the command waits for the future. Command modules import this module and
nothing else of tvirt.cli, so the package has no import circle.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import libvirt

from tvirt import config
from tvirt.errors import EXIT_CONNECT as EXIT_CONNECT
from tvirt.errors import EXIT_FAILED as EXIT_FAILED
from tvirt.errors import EXIT_INTERRUPTED as EXIT_INTERRUPTED
from tvirt.errors import EXIT_OK as EXIT_OK
from tvirt.errors import EXIT_USAGE as EXIT_USAGE
from tvirt.errors import TvirtError, libvirt_sentence
from tvirt.host import HostWorker
from tvirt.inventory import Inventory
from tvirt.labels import host_labels
from tvirt.manager import HostManager, choose_uris
from tvirt.model import HostInfo, HostState, VMInfo
from tvirt.ops.run import Host, refused
from tvirt.readonly import refusal
from tvirt.uri import SYSTEM_URI, ParsedURI, URIError, parse_uri

if TYPE_CHECKING:  # imported by command_host: only the commands run on hosts need them
    from tvirt.ops.hostcmd import CommandHost

T = TypeVar("T")

# Long calls (wipe, a big preallocated create) get this long before the command gives up.
LONG_TIMEOUT = 3600.0


# -- failures ---------------------------------------------------------------
class CLIError(TvirtError):
    """A command's own refusal, with the exit status it ends with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = code


def report(exc: TvirtError) -> int:
    """The one place a failure ends a command: its sentence on stderr, its exit status."""
    print(f"tvirt: {exc}", file=sys.stderr)
    return exc.exit_code


# -- hosts: connecting and choosing one --------------------------------------
SETTLE = 2.0


def connect(args: argparse.Namespace) -> tuple[HostManager, Inventory]:
    """Open the chosen URIs and wait until each host is listed or has failed.

    For commands: hosts never reconnect. The caller must stop the manager.
    """
    cfg = config.load()
    uris, _source = choose_uris(args.connect, cfg)
    inventory = Inventory()
    # A host that does not answer within the timeout is failed with that reason, so the
    # command can say why (a frozen host's ssh would wait for as long as it is frozen).
    manager = HostManager(inventory.apply, readonly=args.readonly or cfg.readonly,
                          reconnect=False, connect_timeout=args.timeout)
    try:
        manager.add_all(uris)
    except URIError as exc:
        manager.stop()
        raise CLIError(str(exc), EXIT_USAGE) from None
    # A moment past the workers' own timeout, for the failure they report at it.
    deadline = time.monotonic() + args.timeout + SETTLE
    while time.monotonic() < deadline:
        hosts = {h.host_id: h for h in inventory.host_list()}
        settled = [
            host_id in inventory.listed
            or (host_id in hosts and hosts[host_id].state is HostState.FAILED)
            for host_id in manager.workers
        ]
        if all(settled):
            break
        time.sleep(0.02)
    return manager, inventory


def only_host(hosts: list[HostInfo], wanted: str | None) -> list[HostInfo]:
    """The hosts --host names (all without it); naming none is a usage error."""
    if not wanted:
        return hosts
    chosen = [h for h in hosts if h.matches(wanted)]
    if not chosen:
        labels = ", ".join(h.label for h in hosts) or "none"
        raise CLIError(f"No host called '{wanted}'; the hosts are: {labels}.", EXIT_USAGE)
    return chosen


def one_vm(inventory: Inventory, name: str, host: str | None) -> VMInfo:
    if host:
        only_host(inventory.host_list(), host)
    found = inventory.find(name, host)
    if not found:
        where = f" on {host}" if host else ""
        raise CLIError(f"No VM called '{name}'{where}.", EXIT_FAILED)
    if len(found) > 1:
        labels = {h.host_id: h.label for h in inventory.host_list()}
        hosts = ", ".join(
            sorted(f"{labels.get(vm.host_id, vm.host_id)} ({vm.host_id})" for vm in found)
        )
        raise CLIError(
            f"'{name}' exists on several hosts: {hosts}; pick one with --host and its "
            "label or URI.",
            EXIT_USAGE,
        )
    return found[0]


def require_connected(inventory: Inventory) -> None:
    """A VM on a host that failed to connect is not "missing": say why instead."""
    hosts = inventory.host_list()
    if hosts and all(h.state is not HostState.CONNECTED for h in hosts):
        raise CLIError(f"{hosts[0].label}: {hosts[0].error or hosts[0].state.word}",
                       EXIT_CONNECT)


def connected_workers(manager: HostManager, inventory: Inventory) -> list[HostWorker]:
    """The connected hosts' workers; each host that failed is one line on stderr."""
    hosts = inventory.host_list()
    for host in hosts:
        if host.state is not HostState.CONNECTED:
            print(f"tvirt: {host.label}: {host.error or host.state.word}", file=sys.stderr)
    return [manager.get(h.host_id) for h in hosts if h.state is HostState.CONNECTED]


def resolve_host(args: argparse.Namespace, text: str) -> ParsedURI:
    """A HOST argument (a URI, localhost, or a chosen connection's host name or label)
    as the connection URI whose host runs the commands. A bad URI is a URIError (2)."""
    if "://" in text:
        return parse_uri(text)
    if text in {"localhost", "local"}:
        return parse_uri(SYSTEM_URI)
    uris, _ = choose_uris(args.connect, config.load())
    known = {parsed.uri: parsed for parsed in map(parse_uri, [*uris, *config.load().uris])}
    # Without connecting no hostname is known: the labels the URIs alone give.
    labels = host_labels(dict.fromkeys(known, ""))
    for parsed in known.values():
        names = {parsed.host, parsed.label, labels[parsed.uri], parsed.uri}
        if text in names and parsed.driver != "test":
            return parsed
    raise CLIError(
        f"No connection to '{text}'; give a URI such as qemu+ssh://root@{text}/system.",
        EXIT_USAGE,
    )


@contextlib.contextmanager
def command_host(
    args: argparse.Namespace, uri: ParsedURI, libvirt_too: bool = True
) -> Iterator[CommandHost]:
    """The host behind uri for commands run on it (disks, wipe, gluster), with its libvirt
    connection open for the command's length (libvirt_too); without one, why_no_libvirt
    says why."""
    from tvirt.ops.hostcmd import CommandHost
    from tvirt.remote import runner_for

    runner = runner_for(uri)  # a RemoteError before connecting: no ssh, nothing to ask
    if not libvirt_too:
        yield CommandHost(uri.label, runner, None, readonly=readonly(args),
                          gluster_host=uri.host, timeout=args.timeout, uri=uri.uri)
        return
    manager, inventory = connect(argparse.Namespace(**{**vars(args), "connect": [uri.uri]}))
    try:
        info = inventory.hosts.get(uri.uri)
        connected = info is not None and info.state is HostState.CONNECTED
        why = "" if connected else (info.error if info else "") or (
            f"no libvirt connection to {uri.label}"
        )
        yield CommandHost(
            uri.label,
            runner,
            manager.get(uri.uri) if connected else None,
            readonly=readonly(args),
            gluster_host=uri.host,
            why_no_libvirt=why,
            timeout=args.timeout,
            uri=uri.uri,
        )
    finally:
        manager.stop()


# -- running a job on a host's worker and waiting ----------------------------
def one_host(args: argparse.Namespace, manager: HostManager, inventory: Inventory) -> HostWorker:
    """The one connected host --host names (or the only one connected)."""
    hosts = [h for h in inventory.host_list() if h.state is HostState.CONNECTED]
    wanted = getattr(args, "host", None)
    if wanted:
        hosts = [h for h in hosts if h.matches(wanted)]
    if not hosts:
        failed = [h for h in inventory.host_list() if h.state is not HostState.CONNECTED]
        why = f": {failed[0].error}" if failed and failed[0].error else "."
        raise CLIError(f"No connected host{f' called {wanted}' if wanted else ''}{why}",
                       EXIT_CONNECT)
    if len(hosts) > 1:
        names = ", ".join(h.label for h in hosts)
        raise CLIError(f"Several hosts are connected ({names}); pick one with --host.",
                       EXIT_USAGE)
    return manager.get(hosts[0].host_id)


@contextmanager
def chosen_host(args: argparse.Namespace) -> Iterator[HostWorker]:
    """Connect, and the one host an operation runs on (one_host); closed afterwards."""
    manager, inventory = connect(args)
    try:
        yield one_host(args, manager, inventory)
    finally:
        manager.stop()


@contextmanager
def chosen_vm(args: argparse.Namespace) -> Iterator[tuple[HostWorker, VMInfo]]:
    """args.vm (on --host when names clash) and its host, while the command runs."""
    manager, inventory = connect(args)
    try:
        require_connected(inventory)
        vm = one_vm(inventory, args.vm, getattr(args, "host", None))
        yield manager.get(vm.host_id), vm
    finally:
        manager.stop()


# Ctrl-C's SIGINT may be delivered to any thread. A main thread blocked in one long wait
# is not woken when another thread takes the signal, so Python would run the handler
# only when the wait ends (a whole transfer later). Waiting in short slices lets the
# KeyboardInterrupt arrive at once.
SLICE = 0.2


def done_within(future: Future[Any], seconds: float) -> bool:
    """Whether the future ends within seconds, waiting in slices a Ctrl-C can break."""
    deadline = time.monotonic() + seconds
    while not future.done():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        with contextlib.suppress(FutureTimeout):
            future.exception(timeout=min(SLICE, left))
    return True


def result(future: Future[T], timeout: float | None = None) -> T:
    """future.result(timeout), but a Ctrl-C raises KeyboardInterrupt at once."""
    if not done_within(future, float("inf") if timeout is None else timeout):
        raise FutureTimeout()
    return future.result(timeout=0)


def wait(future: Future[T], timeout: float, label: str) -> T:
    """A job's result; libvirt's words for a refused change."""
    try:
        return result(future, timeout)
    except FutureTimeout:
        raise CLIError(f"No answer from {label} within {timeout:g} s.") from None
    except libvirt.libvirtError as exc:
        raise CLIError(libvirt_sentence(exc)) from None
    except (TvirtError, ValueError) as exc:
        # The host refused the change, even where a value was the reason (more memory
        # than the host has): a failed command (1), not a usage error.
        raise CLIError(str(exc)) from None


def wait_long(future: Future[T], doing: str) -> T:
    """A long job with no progress of its own (a wipe, a big preallocated create): "still
    working, N s" on stderr every 5 s meanwhile; gives up after LONG_TIMEOUT."""
    waited = 0
    while not done_within(future, 5.0):
        waited += 5
        if waited >= LONG_TIMEOUT:
            raise CLIError(f"{doing}: no answer within {LONG_TIMEOUT:g} s.")
        print(f"{doing}: still working, {waited} s (libvirt reports no progress)", file=sys.stderr)
    return wait(future, 0, doing)


# -- read-only refusal and confirmation -------------------------------------
# Read-only mode always refuses before anything asks: a question whose answer cannot
# matter wastes the user's time.
def readonly(args: argparse.Namespace) -> bool:
    """--readonly, or readonly = true in the config."""
    return bool(args.readonly or config.load().readonly)


def refuse_readonly(args: argparse.Namespace, readonly: bool, what: str) -> None:
    if readonly or args.readonly:
        raise CLIError(refusal(what), EXIT_FAILED)


def writable(host: Host, what: str) -> None:
    """Refuse a change on a read-only connection, naming the host, before any question,
    warning or check: the same refusal the operation itself would give."""
    refusal_error = refused(host, what)
    if refusal_error is not None:
        raise refusal_error


def confirm(args: argparse.Namespace, question: str, answer: str) -> None:
    """Destructive changes: --yes, or the user types `answer` at a terminal.

    Read-only mode refuses first, before asking: the question's first sentence ("Stop
    network web?") names the change in the refusal."""
    if readonly(args):
        change = question.split("?", 1)[0].strip()
        raise CLIError(refusal(change[:1].lower() + change[1:]), EXIT_FAILED)
    if getattr(args, "yes", False):
        return
    if not sys.stdin.isatty():
        raise CLIError("This change needs --yes when there is no terminal to ask.", EXIT_USAGE)
    typed = input(f"{question} Type {answer} to confirm: ")
    if typed.strip() != answer:
        raise CLIError("Nothing was changed.", EXIT_FAILED)


def confirm_typed(question: str, expected: str) -> None:
    """The storage commands' question: the caller has refused read-only and --yes."""
    if not sys.stdin.isatty():
        raise CLIError(
            f"{question.rstrip('?')} needs --yes when there is no terminal to ask.", EXIT_USAGE
        )
    answer = input(f"{question} Type {expected} to confirm: ")
    if answer.strip() != expected:
        raise CLIError("Nothing was changed.")


# -- parsers ----------------------------------------------------------------
def vm_subcommand(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
) -> argparse.ArgumentParser:
    """An action on one VM (`tvirt hw memory VM ...`): the VM, and --host for clashes."""
    p = sub.add_parser(name, help=help_text)
    p.add_argument("vm")
    p.add_argument("--host", help="host label, URI or hostname when names clash")
    return p


# -- output -----------------------------------------------------------------
def json_option(cmd: argparse.ArgumentParser) -> None:
    """--json on the command itself; SUPPRESS keeps a --json given before the command."""
    cmd.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


def emit(args: argparse.Namespace, records: Sequence[dict[str, object]], lines: Sequence[str],
         single: bool = False) -> None:
    """--json: the records (one object when single); else one line per record."""
    if args.json:
        print(json.dumps(records[0] if single and records else list(records), indent=2))
    else:
        for line in lines:
            print(line)


def say(args: argparse.Namespace, message: str, **data: Any) -> int:
    """A change done: its message, or {"ok": true, "message": ..., **data} with --json."""
    if args.json:
        print(json.dumps({"ok": True, "message": message, **data}, indent=2))
    else:
        print(message)
    return EXIT_OK
