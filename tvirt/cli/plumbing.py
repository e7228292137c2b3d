"""Helpers shared by the feature commands: run a job on one host's or one VM's worker.

Every job runs on the host's worker thread (the only thread that may touch its
connection); the command waits for the future. Failures become one sentence (CLIError).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

import libvirt

from tvirt.errors import TvirtError, libvirt_sentence
from tvirt.inventory import Inventory
from tvirt.model import HostState
from tvirt.readonly import refusal

T = TypeVar("T")


def refuse_readonly(args: argparse.Namespace, readonly: bool, what: str) -> None:
    from tvirt.cli import EXIT_FAILED, CLIError

    if readonly or args.readonly:
        raise CLIError(refusal(what), EXIT_FAILED)


def on_host(
    args: argparse.Namespace, fn: Callable[[libvirt.virConnect], T], change: str = ""
) -> T:
    """Run fn(conn) on the one chosen host (--host, or the only one connected)."""
    from tvirt.cli import EXIT_CONNECT, EXIT_USAGE, CLIError, connect

    manager, inventory = connect(args)
    try:
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
        worker = manager.get(hosts[0].host_id)
        if change:
            refuse_readonly(args, worker.readonly, change)
        return _wait(worker.call(fn), args.timeout, hosts[0].label)
    finally:
        manager.stop()


def on_vm(
    args: argparse.Namespace,
    fn: Callable[[libvirt.virConnect, libvirt.virDomain], T],
    change: str = "",
) -> T:
    """Run fn(conn, dom) for args.vm on its host's worker."""
    from tvirt.cli import connect, one_vm

    manager, inventory = connect(args)
    try:
        _require_connected(inventory)
        vm = one_vm(inventory, args.vm, getattr(args, "host", None))
        worker = manager.get(vm.host_id)
        if change:
            refuse_readonly(args, worker.readonly, f"{change} {vm.name}")
        uuid = vm.uuid
        return _wait(
            worker.call(lambda conn: fn(conn, conn.lookupByUUIDString(uuid))),
            args.timeout,
            vm.host_id,
        )
    finally:
        manager.stop()


def _require_connected(inventory: Inventory) -> None:
    """A VM on a host that failed to connect is not "missing": say why instead."""
    from tvirt.cli import EXIT_CONNECT, CLIError

    hosts = inventory.host_list()
    if hosts and all(h.state is not HostState.CONNECTED for h in hosts):
        raise CLIError(f"{hosts[0].label}: {hosts[0].error or hosts[0].state.word}",
                       EXIT_CONNECT)


def _wait(future: Future[T], timeout: float, label: str) -> T:
    from tvirt.cli import CLIError

    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        raise CLIError(f"No answer from {label} within {timeout:g} s.") from None
    except libvirt.libvirtError as exc:
        raise CLIError(libvirt_sentence(exc)) from None
    except (TvirtError, ValueError) as exc:
        # The host refused the change, even where a value was the reason (more memory
        # than the host has): a failed command (1), not a usage error.
        raise CLIError(str(exc)) from None


def confirm(args: argparse.Namespace, question: str, answer: str) -> None:
    """Destructive changes: --yes, or the user types `answer` at a terminal.

    Read-only mode refuses first, before asking: the question's first sentence ("Stop
    network web?") names the change in the refusal."""
    from tvirt import config
    from tvirt.cli import EXIT_FAILED, EXIT_USAGE, CLIError

    if args.readonly or config.load().readonly:
        change = question.split("?", 1)[0].strip()
        raise CLIError(refusal(change[:1].lower() + change[1:]), EXIT_FAILED)
    if getattr(args, "yes", False):
        return
    if not sys.stdin.isatty():
        raise CLIError("This change needs --yes when there is no terminal to ask.", EXIT_USAGE)
    typed = input(f"{question} Type {answer} to confirm: ")
    if typed.strip() != answer:
        raise CLIError("Nothing was changed.", EXIT_FAILED)


def emit(args: argparse.Namespace, records: Sequence[dict[str, object]], lines: Sequence[str],
         single: bool = False) -> None:
    """--json: the records (one object when single); else one line per record."""
    if args.json:
        print(json.dumps(records[0] if single and records else list(records), indent=2))
    else:
        for line in lines:
            print(line)

