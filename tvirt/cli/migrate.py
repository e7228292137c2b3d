"""`tvirt migrate VM DEST`: peer-to-peer migration with a progress line per second; the
destination is a URI or a connected host's label or hostname; Ctrl-C cancels."""

from __future__ import annotations

import argparse
from concurrent.futures import Future

from tvirt.cli.plumbing import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    connect,
    done_within,
    emit,
    one_vm,
    refuse_readonly,
)
from tvirt.cli.progress_term import TerminalProgress
from tvirt.host import HostWorker
from tvirt.inventory import Inventory
from tvirt.model import HostState, VMInfo
from tvirt.ops import migrate as ops
from tvirt.ops.run import Failed
from tvirt.progress import Started
from tvirt.uri import URIError, parse_uri

# Seconds between two progress reads, and how long a read or the cancel may take.
EVERY = 1.0
ASK_TIMEOUT = 10.0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "migrate",
        help="move a VM to another host (libvirt peer-to-peer migration); Ctrl-C cancels",
        description="Move a VM to another libvirt host. DEST is a URI, or the label or "
        "hostname of a host connected with -c. The source host's libvirtd connects to the "
        "destination's URI itself, so that URI must work from the source host. Ctrl-C "
        "cancels: libvirt aborts the migration and the VM stays where it was.",
    )
    cmd.add_argument("vm")
    cmd.add_argument("dest", metavar="DEST", help="destination: a URI, or a connected host")
    cmd.add_argument("--host", help="host label, URI or hostname when names clash")
    cmd.add_argument("--offline", action="store_true",
                     help="pause a running VM while it moves (a shut-off VM always moves "
                     "offline, its definition only)")
    cmd.add_argument("--copy-storage", action="store_true",
                     help="copy the disks too (they are not on storage both hosts share; "
                     "the destination needs the same storage pools)")
    cmd.set_defaults(run=run)


def destination(inventory: Inventory, text: str, vm: VMInfo) -> tuple[str, str]:
    """DEST as (URI, label): a URI as given (normalised), or a connected host other than
    the VM's own, named by its label, hostname or URI."""
    if "://" in text:
        try:
            uri = parse_uri(text)
        except URIError as exc:
            raise CLIError(str(exc), EXIT_USAGE) from None
        known = inventory.hosts.get(uri.uri)
        return uri.uri, known.label if known else uri.label
    hosts = [h for h in inventory.host_list() if h.matches(text)]
    if not hosts:
        labels = ", ".join(h.label for h in inventory.host_list()) or "none"
        raise CLIError(
            f"No host called '{text}' is connected; give its URI, or connect it with -c "
            f"(the hosts are: {labels}).", EXIT_USAGE)
    others = [h for h in hosts if h.host_id != vm.host_id]
    if not others:
        return hosts[0].uri, hosts[0].label  # the VM's own host: refused by the caller
    if len(others) > 1:
        names = ", ".join(h.label for h in others)
        raise CLIError(f"'{text}' names several hosts ({names}); give a URI.", EXIT_USAGE)
    if others[0].state is not HostState.CONNECTED:
        raise CLIError(f"{others[0].label} is not connected: "
                       f"{others[0].error or others[0].state.word}")
    return others[0].uri, others[0].label


def run(args: argparse.Namespace) -> int:
    manager, inventory = connect(args)
    watcher: HostWorker | None = None
    try:
        vm = one_vm(inventory, args.vm, args.host)
        worker = manager.get(vm.host_id)
        refuse_readonly(args, worker.readonly, f"migrate {vm.name}")
        dest, label = destination(inventory, args.dest, vm)
        if dest == vm.host_id:
            raise CLIError(f"{vm.name} is already on {label}.", EXIT_USAGE)
        if args.copy_storage and dest in manager.workers:
            try:
                problem = ops.storage_problem(worker, vm, manager.get(dest), label)
            except Failed as exc:
                raise CLIError(f"Could not migrate {vm.name}: {exc}") from None
            if problem:
                raise CLIError(problem)
        # The second connection first: once the migration holds the first, a Ctrl-C
        # needs it at once.
        watcher = ops.watcher(worker)
        job = ops.migrate(worker, vm, dest, live=not args.offline,
                          copy_storage=args.copy_storage, dest_label=label)
        show = TerminalProgress(quiet=args.json)
        show(Started(vm.name, "migrated"))
        try:
            while not done_within(job, EVERY):
                try:
                    now = ops.progress(watcher, vm.uuid).result(ASK_TIMEOUT)
                except Exception:  # progress is best effort: the migration goes on
                    now = None
                if now is not None:
                    show(now)
        except KeyboardInterrupt:
            _cancel(watcher, vm, job, inventory.hosts[vm.host_id].label)
        try:
            message = job.result(0)
        except Failed as exc:  # libvirt's refusal; tvirt's own sentences stand alone
            raise CLIError(f"Could not migrate {vm.name}: {exc}") from None
        emit(args, [{"name": vm.name, "uuid": vm.uuid, "state": "migrated",
                     "source": inventory.hosts[vm.host_id].label, "destination": label,
                     "destination_uri": dest, "message": message}],
             [message], single=True)
        return EXIT_OK
    finally:
        if watcher is not None:
            watcher.stop()
        manager.stop()


def _cancel(watcher: HostWorker, vm: VMInfo, job: Future[str], source: str) -> None:
    """Ctrl-C: abort through the second connection, wait for the migration to end, say so.
    A second Ctrl-C meanwhile leaves at once (libvirt still ends the abort by itself)."""
    try:
        ops.abort(watcher, vm).result(ASK_TIMEOUT)
    except Exception as exc:
        raise CLIError(f"Could not cancel the migration of {vm.name}: {exc}") from None
    if not done_within(job, ASK_TIMEOUT * 6):
        raise CLIError(f"Asked libvirt to cancel the migration of {vm.name}; it has not "
                       "answered yet.", EXIT_INTERRUPTED)
    if job.exception(0) is None:
        return  # it had already finished: the result is printed as usual
    raise CLIError(f"Cancelled: {vm.name} was not migrated and stays on {source}.",
                   EXIT_INTERRUPTED)
