"""A VM's lifecycle, reading it, deleting and cloning it: the app and the commands call
these, never HostWorker.act or a virConnect themselves."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

import libvirt

from tvirt import domains
from tvirt.actions import Action, ActionResult
from tvirt.model import VMInfo
from tvirt.ops.run import Host, on_host, on_vm


class VMHost(Host, Protocol):
    """A host that also runs lifecycle actions: tvirt.host.HostWorker is one."""

    def act(
        self, action: Action, uuid: str, *, remove_storage: bool = False
    ) -> Future[ActionResult]: ...


def act(
    host: VMHost, action: Action, uuid: str, *, remove_storage: bool = False
) -> Future[ActionResult]:
    """A lifecycle action (start, shutdown, ..., delete). It never fails: the lookup,
    the read-only refusal and libvirt's failure all end in the result's sentence, and the
    worker tells its sink too, so the app's table and log follow whoever asked."""
    return host.act(action, uuid, remove_storage=remove_storage)


def delete(host: VMHost, uuid: str, *, remove_storage: bool = False) -> Future[ActionResult]:
    """Undefine the VM (forced off first), with its disks' volumes when remove_storage."""
    return act(host, Action.DELETE, uuid, remove_storage=remove_storage)


def info(host: Host, uuid: str) -> Future[VMInfo]:
    """The VM as it is now (name, state, vCPUs, memory, autostart)."""
    host_id = host.host_id
    return on_vm(host, uuid, lambda _conn, dom: domains.read_vm(dom, host_id))


def xml(host: Host, uuid: str, *, inactive: bool = False) -> Future[str]:
    """The domain XML: as it runs, or (inactive) the config it boots from next."""
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
    return on_vm(host, uuid, lambda _conn, dom: str(dom.XMLDesc(flags)))


def clone(host: Host, vm: VMInfo, new_name: str) -> Future[str]:
    """Copy a shut-off VM and its disk volumes under a new name (see tvirt.clone)."""
    from tvirt.clone import clone_vm  # here: clone brings the VM spec and its checks

    return on_vm(
        host, vm.uuid, lambda conn, dom: clone_vm(conn, dom, new_name), change=f"clone {vm.name}"
    )


def settled(host: Host) -> Future[None]:
    """Done once the host's worker has run every job queued before it (the version it
    reads after listing, say); fails at once if the host is not connected."""
    return on_host(host, lambda _conn: None)
