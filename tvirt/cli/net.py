"""`tvirt net list|start|stop|autostart|define|undefine`."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from tvirt import networks
from tvirt.cli.plumbing import (
    EXIT_CONNECT,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    chosen_host,
    confirm,
    connect,
    connected_workers,
    emit,
    one_host,
    wait,
)
from tvirt.ops import networks as ops


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("net", help="list, start, stop or define virtual networks")
    nsub = cmd.add_subparsers(dest="net_command", metavar="ACTION", required=True)

    def add(name: str, help_text: str, named: bool = True) -> argparse.ArgumentParser:
        p = nsub.add_parser(name, help=help_text)
        if named:
            p.add_argument("name")
        p.add_argument("--host", help="host label, URI or hostname when several are connected")
        return p

    add("list", "networks with state, autostart, bridge, forward mode, range, leases", False)
    add("start", "start a network")
    p = add("stop", "stop a network (its VMs lose their link; asks first)")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    p = add("autostart", "start the network when libvirtd starts")
    p.add_argument("setting", choices=["on", "off"])
    p = add("define", "define a NAT or isolated network")
    p.add_argument("--mode", default="nat", help="nat or isolated (default nat)")
    p.add_argument("--subnet", default="192.168.150.0/24", help="IPv4 subnet (CIDR)")
    p.add_argument("--bridge", default="", help="bridge name (default: libvirt picks)")
    p.add_argument("--no-dhcp", action="store_true", help="no DHCP server")
    p.add_argument("--start", action="store_true", help="start it too")
    p = add("undefine", "stop and remove a network (asks first)")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    action = args.net_command
    if action == "list":
        return _list(args)
    name = args.name
    # Asked before connecting, as read-only mode refuses before asking (plumbing.confirm).
    if action == "stop":
        confirm(args, f"Stop network {name}? VMs on it lose their link.", name)
    elif action == "undefine":
        confirm(args, f"Remove network {name}?", name)
    elif action == "define":
        spec = networks.NetSpec(name, args.mode, args.subnet, args.bridge, not args.no_dhcp)
        found = networks.spec_problems(spec)
        if found:
            raise CLIError(" ".join(found), EXIT_USAGE)
    with chosen_host(args) as host:
        if action == "start":
            future = ops.start(host, name)
        elif action == "stop":
            future = ops.stop(host, name)
        elif action == "autostart":
            future = ops.autostart(host, name, args.setting == "on")
        elif action == "undefine":
            future = ops.undefine(host, name)
        else:
            future = ops.define(host, spec, start=args.start)
        message = wait(future, args.timeout, host.label)
    emit(args, [{"name": name, "message": message}], [f"{name}: {message}"], single=True)
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    """Networks on every connected host (or the one --host names), as `storage pools` does."""
    manager, inventory = connect(args)
    try:
        if args.host:
            workers = [one_host(args, manager, inventory)]
        else:
            workers = connected_workers(manager, inventory)
            if not workers:
                return EXIT_CONNECT
        rows = [(w, n) for w in workers for n in wait(ops.list_all(w), args.timeout, w.label)]
    finally:
        manager.stop()
    several = len(workers) > 1
    emit(
        args,
        [{**asdict(n), "host": w.label, "uri": w.host_id} for w, n in rows],
        [line(n, w.label if several else "") for w, n in rows],
    )
    return EXIT_OK


def line(net: networks.NetInfo, host: str = "") -> str:
    bridge = net.bridge or "no bridge"
    leases = f"{len(net.leases)} DHCP leases" + (f" ({'; '.join(net.leases)})" if net.leases
                                                 else "")
    where = f" on {host}" if host else ""
    return (
        f"{net.name}{where}: {net.state}, autostart {'on' if net.autostart else 'off'}, {bridge}, "
        f"forward {net.forward}, {net.ip_range or 'no IP'}, {leases}"
    )
