"""Virtual network operations: list (with DHCP leases), start, stop, autostart, define,
undefine. A refused change comes back in libvirt's own words (tvirt.networks raises its
own NetworkError sentences for a missing network or a bad spec)."""

from __future__ import annotations

from concurrent.futures import Future

from tvirt import networks
from tvirt.networks import NetInfo, NetSpec
from tvirt.ops.run import Host, on_host


def list_all(host: Host) -> Future[list[NetInfo]]:
    """Every network of the host, sorted by name; an active one with its leases."""
    return on_host(host, networks.list_networks)


def start(host: Host, name: str) -> Future[str]:
    return on_host(
        host, lambda c: networks.start_network(c, name), change=f"start the network {name}"
    )


def stop(host: Host, name: str) -> Future[str]:
    """Its VMs lose their link: callers confirm first."""
    return on_host(
        host, lambda c: networks.stop_network(c, name), change=f"stop the network {name}"
    )


def autostart(host: Host, name: str, on: bool) -> Future[str]:
    return on_host(
        host,
        lambda c: networks.set_autostart(c, name, on),
        change=f"change the autostart of the network {name}",
    )


def define(host: Host, spec: NetSpec, *, start: bool = False) -> Future[str]:
    """Checked again on the host against its existing names (tvirt.networks.spec_problems)."""
    return on_host(
        host,
        lambda c: networks.define_network(c, spec, start),
        change=f"define the network {spec.name}",
    )


def undefine(host: Host, name: str) -> Future[str]:
    """Stops it first if active: callers confirm first."""
    return on_host(
        host, lambda c: networks.undefine_network(c, name), change=f"remove the network {name}"
    )
