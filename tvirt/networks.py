"""libvirt virtual networks: listing with DHCP leases, start, stop, autostart, define.

Runs on the host's worker thread. Defining builds the network XML with ElementTree from a
validated `NetSpec` (NAT or isolated, one IPv4 subnet with a DHCP range).
"""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import libvirt

from tvirt import validate
from tvirt.errors import TvirtError

MODES = ("nat", "isolated")
BRIDGE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")


class NetworkError(TvirtError):
    """One sentence: why the network change was refused."""


@dataclass(frozen=True)
class NetInfo:
    name: str
    state: str  # active or inactive
    autostart: bool
    persistent: bool
    bridge: str
    forward: str  # nat, route, bridge, ... or isolated
    ip_range: str  # 192.168.100.0/24, DHCP 192.168.100.2-192.168.100.254
    leases: tuple[str, ...]  # "ip mac hostname"


@dataclass(frozen=True)
class NetSpec:
    name: str
    mode: str = "nat"
    subnet: str = "192.168.150.0/24"
    bridge: str = ""  # libvirt picks virbrN when empty
    dhcp: bool = True


def list_networks(conn: libvirt.virConnect) -> list[NetInfo]:
    return sorted((_info(net) for net in conn.listAllNetworks(0)), key=lambda n: n.name)


def _info(net: libvirt.virNetwork) -> NetInfo:
    root = ET.fromstring(net.XMLDesc(0))
    forward = root.find("forward")
    mode = forward.get("mode", "nat") if forward is not None else "isolated"
    bridge = root.find("bridge")
    ranges = []
    for ip in root.findall("ip"):
        address, prefix = ip.get("address", ""), ip.get("prefix") or ip.get("netmask", "")
        text = f"{address}/{prefix}" if prefix else address
        for dhcp in ip.findall("dhcp/range"):
            text += f", DHCP {dhcp.get('start')}-{dhcp.get('end')}"
        ranges.append(text)
    leases: tuple[str, ...] = ()
    if net.isActive():
        try:
            leases = tuple(
                f"{lease.get('ipaddr', '?')} {lease.get('mac', '?')} "
                f"{lease.get('hostname') or '-'}"
                for lease in net.DHCPLeases()
            )
        except libvirt.libvirtError:
            leases = ()
    return NetInfo(
        name=net.name(),
        state="active" if net.isActive() else "inactive",
        autostart=bool(net.autostart()) if net.isPersistent() else False,
        persistent=bool(net.isPersistent()),
        bridge=bridge.get("name", "") if bridge is not None else "",
        forward=mode,
        ip_range="; ".join(ranges),
        leases=leases,
    )


def spec_problems(spec: NetSpec, existing: frozenset[str] = frozenset()) -> list[str]:
    found = []
    try:
        validate.name(spec.name, "network", existing)
    except validate.Invalid as exc:
        found.append(str(exc))
    if spec.mode not in MODES:
        found.append(f"The network mode must be nat or isolated, not {spec.mode!r}.")
    if spec.bridge and not BRIDGE_RE.match(spec.bridge):
        found.append(f"{spec.bridge!r} is not a valid bridge name (at most 15 characters).")
    try:
        subnet = ipaddress.ip_network(spec.subnet, strict=True)
    except ValueError:
        found.append(
            f"The subnet must be an IPv4 network like 192.168.150.0/24, not {spec.subnet!r}."
        )
    else:
        if subnet.version != 4 or not 8 <= subnet.prefixlen <= 29:
            found.append(
                f"The subnet must be IPv4 with a prefix from /8 to /29, not {spec.subnet!r}."
            )
        elif not subnet.is_private:
            found.append(f"The subnet {spec.subnet} is not a private range.")
    return found


def network_xml(spec: NetSpec) -> str:
    subnet = ipaddress.ip_network(spec.subnet)
    hosts = list(_first_hosts(subnet))
    root = ET.Element("network")
    ET.SubElement(root, "name").text = spec.name
    if spec.mode == "nat":
        forward = ET.SubElement(root, "forward", mode="nat")
        nat = ET.SubElement(forward, "nat")
        ET.SubElement(nat, "port", start="1024", end="65535")
    if spec.bridge:
        ET.SubElement(root, "bridge", name=spec.bridge, stp="on", delay="0")
    ip = ET.SubElement(root, "ip", address=str(hosts[0]), prefix=str(subnet.prefixlen))
    if spec.dhcp:
        dhcp = ET.SubElement(ip, "dhcp")
        ET.SubElement(dhcp, "range", start=str(hosts[1]), end=str(subnet.broadcast_address - 1))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def _first_hosts(subnet: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[object]:
    return [subnet.network_address + 1, subnet.network_address + 2]


def define_network(conn: libvirt.virConnect, spec: NetSpec, start: bool = False) -> str:
    existing = frozenset(n.name() for n in conn.listAllNetworks(0))
    found = spec_problems(spec, existing)
    if found:
        raise NetworkError(" ".join(found))
    net = conn.networkDefineXML(network_xml(spec))
    if start:
        try:
            net.create()
        except libvirt.libvirtError as exc:
            reason = " ".join(str(exc.get_error_message() or exc).split())
            raise NetworkError(
                f"Defined the network {spec.name}, but it did not start: {reason}"
            ) from None
        return f"Defined and started the {spec.mode} network {spec.name} ({spec.subnet})."
    return f"Defined the {spec.mode} network {spec.name} ({spec.subnet}); it is inactive."


def _lookup(conn: libvirt.virConnect, name: str) -> libvirt.virNetwork:
    try:
        return conn.networkLookupByName(name)
    except libvirt.libvirtError:
        raise NetworkError(f"There is no network called {name!r} on this host.") from None


def start_network(conn: libvirt.virConnect, name: str) -> str:
    net = _lookup(conn, name)
    if net.isActive():
        return f"The network {name} is already active."
    net.create()
    return f"Started the network {name}."


def stop_network(conn: libvirt.virConnect, name: str) -> str:
    net = _lookup(conn, name)
    if not net.isActive():
        return f"The network {name} is already inactive."
    net.destroy()
    return f"Stopped the network {name}; VMs on it lost their link."


def set_autostart(conn: libvirt.virConnect, name: str, on: bool) -> str:
    _lookup(conn, name).setAutostart(1 if on else 0)
    return f"Autostart of the network {name} is {'on' if on else 'off'}."


def undefine_network(conn: libvirt.virConnect, name: str) -> str:
    net = _lookup(conn, name)
    if net.isActive():
        net.destroy()
    if net.isPersistent():
        net.undefine()
    return f"Removed the network {name}."
