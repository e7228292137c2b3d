"""Moving a VM to another host. The migration holds its host's worker until it ends, so
its progress and a cancel go through a second worker on the same host (see
tvirt.migrate); `watcher` opens that one."""

from __future__ import annotations

from concurrent.futures import Future

from tvirt import migrate as core
from tvirt.host import HostWorker
from tvirt.model import VMInfo
from tvirt.ops.run import Host, on_host, on_vm
from tvirt.progress import Advanced


def migrate(
    host: Host,
    vm: VMInfo,
    dest_uri: str,
    *,
    live: bool = True,
    copy_storage: bool = False,
    dest_label: str = "",
) -> Future[str]:
    """Peer-to-peer: the source host's libvirtd connects to dest_uri itself."""
    return on_vm(
        host, vm.uuid,
        lambda _conn, dom: core.migrate(
            dom, dest_uri, live=live, copy_storage=copy_storage, dest_label=dest_label
        ),
        change=f"migrate {vm.name}",
    )


def storage_problem(source: Host, vm: VMInfo, dest: Host, dest_label: str) -> str:
    """Before copying storage: the sentence saying which pools the destination lacks,
    or "". Blocks: call it off any event loop (a thread, or the command's main thread)."""
    places = on_vm(source, vm.uuid, lambda _conn, dom: core.disk_places(dom)).result()
    missing = on_host(dest, lambda conn: core.missing_places(conn, places)).result()
    return core.no_pool(vm.name, dest_label, missing) if missing else ""


def watcher(source: HostWorker) -> HostWorker:
    """A second, started worker on the source host, for progress and cancel; it reports
    to no one (the first worker already tells the VM's changes). Stop it afterwards, off
    any event loop: stop() joins its thread."""
    second = HostWorker(source.uri, lambda _update: None, readonly=source.readonly,
                        reconnect=False, recheck_interval=None)
    second.start()
    return second


def progress(watcher: Host, uuid: str) -> Future[Advanced | None]:
    """The running migration's progress, None when there is none; `watcher` must be a
    second worker on the source host, not the one busy migrating."""
    return on_host(watcher, lambda conn: core.progress(conn, uuid))


def abort(watcher: Host, vm: VMInfo) -> Future[bool]:
    """Cancel the VM's running migration (through `watcher`, the second worker); the
    migration's own future then fails with the cancel's sentence. False: none ran."""
    return on_host(watcher, lambda conn: core.abort(conn, vm.uuid), change=f"cancel the "
                   f"migration of {vm.name}")
