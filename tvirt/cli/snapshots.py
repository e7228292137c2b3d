"""`tvirt snapshot list|create|revert|delete VM ...`."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from tvirt import snapshots
from tvirt.cli.plumbing import (
    EXIT_OK,
    chosen_vm,
    confirm,
    emit,
    refuse_readonly,
    vm_subcommand,
    wait,
)
from tvirt.ops import snapshots as ops


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
        with chosen_vm(args) as (worker, vm):
            tree = wait(ops.tree(worker, vm), args.timeout, vm.host_id)
        emit(args, [asdict(s) for s in tree], [line(s) for s in tree])
        if not tree and not args.json:
            print(f"{args.vm}: no snapshots")
        return EXIT_OK
    if action == "revert":
        confirm(args, f"Revert {args.vm} to {args.name}? Changes since then are lost.",
                args.name)
    elif action == "delete":
        confirm(args, f"Delete snapshot {args.name} of {args.vm}?", args.name)
    with chosen_vm(args) as (worker, vm):
        what = {"create": "snapshot", "revert": "revert"}.get(action, "delete a snapshot of")
        refuse_readonly(args, worker.readonly, f"{what} {vm.name}")
        if action == "create":
            job = ops.create(worker, vm, args.name, args.description, disk_only=args.disk_only)
        elif action == "revert":
            job = ops.revert(worker, vm, args.name)
        else:
            job = ops.delete(worker, vm, args.name, children=args.children)
        message = wait(job, args.timeout, vm.host_id)
    emit(args, [{"name": args.name, "vm": args.vm, "message": message}],
         [f"{args.name}: {message}"], single=True)
    return EXIT_OK


def line(snap: snapshots.SnapshotInfo) -> str:
    """One snapshot per line, indented by depth, name and state first."""
    mark = ", current" if snap.current else ""
    kind = "disk-only" if snap.disk_only else "full"
    desc = f", {snap.description}" if snap.description else ""
    return f"{'  ' * snap.depth}{snap.name}: {snap.state}{mark}, {kind}{desc}"
