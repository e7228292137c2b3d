"""A VM's snapshots: the tree, taking one, returning to one, deleting one."""

from __future__ import annotations

from concurrent.futures import Future

from tvirt import snapshots
from tvirt.model import VMInfo
from tvirt.ops.run import Host, on_vm


def tree(host: Host, vm: VMInfo) -> Future[list[snapshots.SnapshotInfo]]:
    """Every snapshot, parents before children, with its depth; the current one marked."""
    return on_vm(host, vm.uuid, lambda _conn, dom: snapshots.snapshot_tree(dom))


def create(
    host: Host, vm: VMInfo, name: str, description: str = "", *, disk_only: bool = False
) -> Future[str]:
    """A full snapshot (disks, and memory when running) or a disk-only one."""
    return on_vm(
        host, vm.uuid,
        lambda _conn, dom: snapshots.create_snapshot(dom, name, description, disk_only),
        change=f"snapshot {vm.name}",
    )


def revert(host: Host, vm: VMInfo, name: str) -> Future[str]:
    """Return the VM to the snapshot; what changed since is lost (callers ask first)."""
    return on_vm(
        host, vm.uuid, lambda _conn, dom: snapshots.revert_snapshot(dom, name),
        change=f"revert {vm.name}",
    )


def delete(host: Host, vm: VMInfo, name: str, *, children: bool = False) -> Future[str]:
    """Delete the snapshot (and its children); the VM itself stays as it is."""
    return on_vm(
        host, vm.uuid, lambda _conn, dom: snapshots.delete_snapshot(dom, name, children),
        change=f"delete a snapshot of {vm.name}",
    )
