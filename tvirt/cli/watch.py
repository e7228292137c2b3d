"""`tvirt watch`: one line per event or state change, for as long as it runs.

Lines are only ever appended, never redrawn, so a screen reader speaks each one once
and `grep` or `tail` can follow them. Ctrl+C ends it (exit status 0). Hosts
reconnect by themselves; the loss and the return are lines too.

Text lines (name first, then what happened, every state a word)::

    web01 on host1: running
    web01 on host1: running -> shut off
    web01 on host1: removed
    host host1: connected
    host host1: connected -> disconnected (Connection lost: the keepalive timed out.)

With --json, one JSON object per line; the schema is in docs/user-guide.md.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
from datetime import UTC, datetime

from tvirt import config
from tvirt.cli import pipes
from tvirt.cli.plumbing import EXIT_OK, EXIT_USAGE
from tvirt.inventory import Inventory
from tvirt.manager import HostManager, choose_uris
from tvirt.model import HostInfo, VMInfo
from tvirt.updates import (
    DomainChanged,
    DomainRemoved,
    DomainsListed,
    HostChanged,
    Update,
)
from tvirt.uri import URIError

Record = dict[str, object]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = sub.add_parser(
        "watch",
        help="print one line per VM or host state change until Ctrl+C",
        description="Print one line per event or state change, never redrawing. "
        "The first lines give every VM's state; Ctrl+C stops (exit status 0).",
    )
    watch.add_argument(
        "--changes-only",
        action="store_true",
        help="leave out the first listing of every VM's state",
    )
    watch.set_defaults(run=run)


class Watcher:
    """Turns worker updates into records, keeping its own Inventory.

    Call only from one thread (the watch loop); workers hand updates over a queue.
    """

    def __init__(self, *, initial: bool = True) -> None:
        self.inventory = Inventory()
        self.initial = initial

    def records(self, update: Update) -> list[Record]:
        inv = self.inventory
        if isinstance(update, HostChanged):
            before = inv.hosts.get(update.host.host_id)
            inv.apply(update)
            host = update.host
            if before is not None and (before.state, before.label) == (host.state, host.label):
                return []
            return [_host_record(host, before)]
        if isinstance(update, DomainsListed):
            first = update.host_id not in inv.listed
            old = {k: v for k, v in inv.vms.items() if v.host_id == update.host_id}
            inv.apply(update)
            out: list[Record] = []
            for vm in sorted(update.vms, key=lambda v: v.name.lower()):
                prev = old.pop(vm.key, None)
                if prev is None:
                    if first and self.initial:
                        out.append(self._vm_record(vm, None, "listed"))
                    elif not first:
                        out.append(self._vm_record(vm, None, "added"))
                elif prev.state is not vm.state:
                    out.append(self._vm_record(vm, prev, "changed"))
            out += [self._vm_record(vm, vm, "removed") for vm in old.values()]
            return out
        if isinstance(update, DomainChanged):
            prev = inv.apply(update)
            vm = update.vm
            if prev is None:
                return [self._vm_record(vm, None, "added")]
            if prev.state is not vm.state:
                return [self._vm_record(vm, prev, "changed")]
            if prev.autostart != vm.autostart:
                return [self._vm_record(vm, prev, "autostart")]
            return []
        if isinstance(update, DomainRemoved):
            gone = inv.apply(update)
            if gone is None:
                return []
            return [self._vm_record(gone, gone, "removed")]
        return []

    def _vm_record(self, vm: VMInfo, before: VMInfo | None, event: str) -> Record:
        host = self.inventory.hosts.get(vm.host_id)
        return {
            "time": _now(),
            "kind": "vm",
            "event": event,
            "name": vm.name,
            "host": host.label if host else vm.host_id,
            "uri": vm.host_id,
            "uuid": vm.uuid,
            "state": vm.state.word,
            "previous_state": before.state.word if before and event == "changed" else None,
            "autostart": vm.autostart,
        }


def _host_record(host: HostInfo, before: HostInfo | None) -> Record:
    # A host's label changes when another host makes it ambiguous or its hostname comes
    # (tvirt.labels): "renamed" says so when nothing else changed.
    renamed = before is not None and before.label != host.label
    event = "added" if before is None else "changed"
    if before is not None and before.state is host.state:
        event = "renamed"
    return {
        "time": _now(),
        "kind": "host",
        "event": event,
        "name": host.label,
        "host": host.label,
        "uri": host.uri,
        "state": host.state.word,
        "previous_state": before.state.word if before and event == "changed" else None,
        "previous_name": before.label if before and renamed else None,
        "error": host.error,
    }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def line(record: Record) -> str:
    """One record as a sentence-like line: name first, then what happened."""
    state = str(record["state"])
    if record["kind"] == "host":
        if record["event"] == "renamed":
            return f"host {record['name']}: renamed from {record['previous_name']}"
        was = f" (was {record['previous_name']})" if record.get("previous_name") else ""
        text = f"host {record['name']}{was}: "
        text += f"{record['previous_state']} -> {state}" if record["previous_state"] else state
        return text + (f" ({record['error']})" if record.get("error") else "")
    where = f"{record['name']} on {record['host']}"
    event = record["event"]
    if event == "changed":
        return f"{where}: {record['previous_state']} -> {state}"
    if event == "added":
        return f"{where}: new, {state}"
    if event == "removed":
        return f"{where}: removed"
    if event == "autostart":
        return f"{where}: autostart {'on' if record['autostart'] else 'off'}"
    return f"{where}: {state}"


def run(args: argparse.Namespace) -> int:
    cfg = config.load()
    uris, _source = choose_uris(args.connect, cfg)
    updates: queue.Queue[Update] = queue.Queue()
    manager = HostManager(updates.put, readonly=True, reconnect=True)
    watcher = Watcher(initial=not args.changes_only)
    try:
        try:
            manager.add_all(uris)
        except URIError as exc:
            print(f"tvirt: {exc}", file=sys.stderr)
            return EXIT_USAGE
        while True:
            try:
                update = updates.get(timeout=0.5)
            except queue.Empty:
                if pipes.reader_left():
                    return EXIT_OK  # `tvirt watch | head -1` after a quiet while
                continue
            for record in watcher.records(update):
                print(json.dumps(record) if args.json else line(record), flush=True)
            if pipes.closed.is_set():
                # `tvirt watch | head` closed the pipe: that is a normal way to stop.
                return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # `tvirt watch | head` closed the pipe: that is a normal way to stop.
        return EXIT_OK
    finally:
        manager.stop()
