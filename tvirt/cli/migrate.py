"""`tvirt migrate VM DEST_URI`: peer-to-peer migration with a progress line per second."""

from __future__ import annotations

import argparse
from concurrent.futures import TimeoutError as FutureTimeout

from tvirt.cli.plumbing import EXIT_OK, EXIT_USAGE, CLIError, connect, emit, one_vm, refuse_readonly
from tvirt.cli.progress_term import TerminalProgress
from tvirt.host import HostWorker
from tvirt.ops import migrate as ops
from tvirt.ops.run import Failed
from tvirt.progress import Started
from tvirt.uri import URIError, parse_uri


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "migrate",
        help="move a VM to another host (libvirt peer-to-peer migration)",
        description="Move a VM to another libvirt host. The source host's libvirtd connects "
        "to DEST_URI itself, so that URI must work from the source host.",
    )
    cmd.add_argument("vm")
    cmd.add_argument("dest_uri", metavar="DEST_URI")
    cmd.add_argument("--host", help="host label, URI or hostname when names clash")
    cmd.add_argument("--offline", action="store_true", help="do not keep it running meanwhile")
    cmd.add_argument("--copy-storage", action="store_true",
                     help="copy the disks too (they are not on storage both hosts share)")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        dest = parse_uri(args.dest_uri).uri
    except URIError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    manager, inventory = connect(args)
    watcher: HostWorker | None = None
    try:
        vm = one_vm(inventory, args.vm, args.host)
        worker = manager.get(vm.host_id)
        refuse_readonly(args, worker.readonly, f"migrate {vm.name}")
        if dest == vm.host_id:
            raise CLIError(f"{vm.name} is already on {dest}.", EXIT_USAGE)
        job = ops.migrate(worker, vm, dest, live=not args.offline,
                          copy_storage=args.copy_storage)
        # A second connection to the source reads the progress: the first is busy.
        watcher = HostWorker(worker.uri, lambda _update: None, reconnect=False)
        watcher.start()
        show = TerminalProgress(quiet=args.json)
        show(Started(vm.name, "migrated"))
        while True:
            try:
                message = job.result(timeout=1.0)
                break
            except FutureTimeout:
                try:
                    now = ops.progress(watcher, vm.uuid).result(5)
                except Exception:  # progress is best effort: the migration goes on
                    now = None
                if now is not None:
                    show(now)
            except Failed as exc:
                raise CLIError(f"Could not migrate {vm.name}: {exc}") from None
        emit(args, [{"name": vm.name, "state": "migrated", "destination": dest,
                     "message": message}], [f"{vm.name}: migrated. {message}"], single=True)
        return EXIT_OK
    finally:
        if watcher is not None:
            watcher.stop()
        manager.stop()
