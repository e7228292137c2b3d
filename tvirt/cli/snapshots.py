"""`tvirt snapshot list|create|revert|delete VM ...`."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from tvirt import snapshots
from tvirt.cli.plumbing import EXIT_OK, confirm, emit, on_vm, vm_subcommand


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("snapshot", help="list, create, revert or delete VM snapshots")
    ssub = cmd.add_subparsers(dest="snapshot_command", metavar="ACTION", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return vm_subcommand(ssub, name, help_text)

    add("list", "the snapshots as a tree; the current one is marked")
    p = add("create", "take a snapshot (full by default)")
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.add_argument("--disk-only", action="store_true",
                   help="external disk-only snapshot (no memory state)")
    p = add("revert", "return the VM to a snapshot (asks first)")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    p = add("delete", "delete a snapshot (asks first)")
    p.add_argument("name")
    p.add_argument("--children", action="store_true", help="also delete its children")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    action = args.snapshot_command
    if action == "list":
        tree = on_vm(args, lambda _conn, dom: snapshots.snapshot_tree(dom))
        emit(args, [asdict(s) for s in tree], [line(s) for s in tree])
        if not tree and not args.json:
            print(f"{args.vm}: no snapshots")
        return EXIT_OK
    if action == "create":
        message = on_vm(
            args,
            lambda _conn, dom: snapshots.create_snapshot(
                dom, args.name, args.description, args.disk_only
            ),
            change="snapshot",
        )
    elif action == "revert":
        confirm(args, f"Revert {args.vm} to {args.name}? Changes since then are lost.",
                args.name)
        message = on_vm(args, lambda _conn, dom: snapshots.revert_snapshot(dom, args.name),
                        change="revert")
    else:
        confirm(args, f"Delete snapshot {args.name} of {args.vm}?", args.name)
        message = on_vm(
            args,
            lambda _conn, dom: snapshots.delete_snapshot(dom, args.name, args.children),
            change="delete a snapshot of",
        )
    emit(args, [{"name": args.name, "vm": args.vm, "message": message}],
         [f"{args.name}: {message}"], single=True)
    return EXIT_OK


def line(snap: snapshots.SnapshotInfo) -> str:
    """One snapshot per line, indented by depth, name and state first."""
    mark = ", current" if snap.current else ""
    kind = "disk-only" if snap.disk_only else "full"
    desc = f", {snap.description}" if snap.description else ""
    return f"{'  ' * snap.depth}{snap.name}: {snap.state}{mark}, {kind}{desc}"
