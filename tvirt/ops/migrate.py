"""Moving a VM to another host. The migration holds its host's worker until it ends, so
its progress is read through a second worker on the same host (see tvirt.migrate)."""

from __future__ import annotations

from concurrent.futures import Future

from tvirt import migrate as core
from tvirt.model import VMInfo
from tvirt.ops.run import Host, on_host, on_vm
from tvirt.progress import Advanced


def migrate(
    host: Host, vm: VMInfo, dest_uri: str, *, live: bool = True, copy_storage: bool = False
) -> Future[str]:
    """Peer-to-peer: the source host's libvirtd connects to dest_uri itself."""
    return on_vm(
        host, vm.uuid,
        lambda _conn, dom: core.migrate(dom, dest_uri, live=live, copy_storage=copy_storage),
        change=f"migrate {vm.name}",
    )


def progress(watcher: Host, uuid: str) -> Future[Advanced | None]:
    """The running migration's progress, None when there is none; `watcher` must be a
    second worker on the source host, not the one busy migrating."""
    return on_host(watcher, lambda conn: core.progress(conn, uuid))
