"""`tvirt net list|start|stop|autostart|define|undefine`."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from tvirt import networks
from tvirt.cli.plumbing import EXIT_OK, EXIT_USAGE, CLIError, chosen_host, confirm, emit, wait
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
        with chosen_host(args) as host:
            nets = wait(ops.list_all(host), args.timeout, host.label)
        emit(args, [asdict(n) for n in nets], [line(n) for n in nets])
        return EXIT_OK
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


def line(net: networks.NetInfo) -> str:
    bridge = net.bridge or "no bridge"
    leases = f"{len(net.leases)} DHCP leases" + (f" ({'; '.join(net.leases)})" if net.leases
                                                 else "")
    return (
        f"{net.name}: {net.state}, autostart {'on' if net.autostart else 'off'}, {bridge}, "
        f"forward {net.forward}, {net.ip_range or 'no IP'}, {leases}"
    )
