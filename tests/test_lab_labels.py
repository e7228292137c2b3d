"""Host labels on the lab: two nodes reached through their local sockets have URIs that
name no host ("localhost qemu/system" both), yet every command and the app tell them
apart by the hostname each node's libvirtd reports."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import libvirt
import pytest

from conftest import Lab, guest_xml, tvirt_bin
from tui_helpers import until
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.uri import parse_uri

pytestmark = pytest.mark.real

NAME = f"tvirt-lab-label-{os.getpid()}"


@pytest.fixture(scope="module")
def twins(lab: Lab) -> Iterator[dict[str, str]]:
    """A shut-off VM of one name on node1 and node2 (never started): node name -> UUID."""
    defined: dict[str, str] = {}
    conns = {node.name: libvirt.open(node.local_uri) for node in lab.nodes[:2]}
    try:
        for name, conn in conns.items():
            dom = conn.defineXML(guest_xml(NAME, lab.guest_kernel, lab.guest_initrd))
            defined[name] = dom.UUIDString()
        yield defined
    finally:
        for name in defined:
            conns[name].lookupByName(NAME).undefine()
        for conn in conns.values():
            conn.close()


def _sockets(lab: Lab) -> list[str]:
    return ["-c", lab.nodes[0].local_uri, "-c", lab.nodes[1].local_uri]


def _tvirt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tvirt_bin(), *args], capture_output=True, text=True, timeout=120)


def _json(*args: str) -> Any:
    out = _tvirt(*args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_hosts_and_list_label_two_local_sockets_by_hostname(
    lab: Lab, twins: dict[str, str]
) -> None:
    hosts = _json(*_sockets(lab), "--json", "hosts")
    labels = {h["hostname"]: h["label"] for h in hosts}
    assert labels == {"node1": "node1 qemu/system", "node2": "node2 qemu/system"}
    vms = [vm for vm in _json(*_sockets(lab), "--json", "list") if vm["name"] == NAME]
    by_host = {vm["host"]: vm["uuid"] for vm in vms}
    assert by_host == {"node1 qemu/system": twins["node1"], "node2 qemu/system": twins["node2"]}


def test_host_option_picks_the_node_it_names(lab: Lab, twins: dict[str, str]) -> None:
    # The VM's name is on both nodes, so without --host the command must refuse.
    clash = _tvirt(*_sockets(lab), "--json", "info", NAME)
    assert clash.returncode == 2 and "node1 qemu/system" in clash.stderr
    for wanted in ("node2", "node2 qemu/system", "NODE2  qemu/system"):
        info = _json(*_sockets(lab), "--json", "info", NAME, "--host", wanted)
        assert (info["uuid"], info["host"]) == (twins["node2"], "node2 qemu/system"), wanted
    by_uri = _json(*_sockets(lab), "--json", "info", NAME, "--host", lab.nodes[0].local_uri)
    assert (by_uri["uuid"], by_uri["host"]) == (twins["node1"], "node1 qemu/system")


async def test_app_shows_each_socket_host_under_its_hostname(
    lab: Lab, twins: dict[str, str]
) -> None:
    uris = [parse_uri(node.local_uri).uri for node in lab.nodes[:2]]
    app = TvirtApp(uris=uris)
    async with app.run_test(size=(160, 40)) as pilot:

        def ready() -> bool:
            hosts = [app.hosts.get(uri) for uri in uris]
            rows = [vm for vm in app.dashboard.table.vms.values() if vm.name == NAME]
            return len(rows) == 2 and all(
                h is not None and h.state is HostState.CONNECTED and h.hostname for h in hosts
            )

        await until(pilot, ready, "both nodes connected with their VMs", 60)
        await pilot.pause()
        table = app.dashboard.table
        cells = {
            vm.uuid: str(table.get_cell(vm.key, "host"))
            for vm in table.vms.values()
            if vm.name == NAME
        }
        assert cells == {twins["node1"]: "node1 qemu/system", twins["node2"]: "node2 qemu/system"}
        panel = app.dashboard.host_list
        titles = sorted(
            str(panel.get_option(uri).prompt).split("\n", 1)[0] for uri in uris
        )
        assert titles == ["node1 qemu/system", "node2 qemu/system"]
