"""Everything that works on one host works on each of the lab's three at once.

Each feature is checked on every node with tvirt connected to all three together: the
command line with the lab's config (TVIRT_CONFIG) and --json for what reads across hosts
(hosts, list, pools, console, start and destroy of three VMs in one command), and one
in-process HostManager through the operations layer for the changes made on each node
(a command costs seconds of ssh handshakes on this shared 2-core machine; the operations
are what the commands call). Hosts are matched by URI. The module boots one tiny guest per
node, the three at once, and shares them; everything it makes has a per-process name and
is removed at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import libvirt
import pytest

from conftest import Lab, LabNode, Recorder, guest_xml, tvirt_bin, wait_for
from tvirt.host import HostWorker
from tvirt.manager import HostManager
from tvirt.model import VMInfo, VMState
from tvirt.networks import NetSpec
from tvirt.ops import networks as ops_networks
from tvirt.ops import snapshots as ops_snapshots
from tvirt.ops import storage as ops_storage
from tvirt.stats import StatsSnapshot
from tvirt.storage_model import PoolSpec, VolumeSpec

pytestmark = pytest.mark.real

TAG = f"tvirt-lab-each-{os.getpid()}"
POOL = TAG
POOL_DIR = f"/var/lib/libvirt/images/{TAG}"  # in each node's own /var/lib/libvirt
NETWORK = f"tvlab-each-{os.getpid()}"
SUBNETS = {"node1": "10.214.1.0/24", "node2": "10.214.2.0/24", "node3": "10.214.3.0/24"}


def _env(lab: Lab) -> dict[str, str]:
    return {**os.environ, "TVIRT_CONFIG": lab.config}


def tvirt(lab: Lab, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tvirt_bin(), *args], capture_output=True, text=True, timeout=180,
                          env=_env(lab), input=stdin)


def tvirt_json(lab: Lab, *args: str) -> Any:
    out = tvirt(lab, "--json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@dataclass
class Node:
    lab: LabNode
    worker: HostWorker
    guest: str  # the tiny guest this module boots
    snapper: str  # a VM that stays shut off, with a qcow2 disk, for snapshots

    @property
    def uri(self) -> str:
        return self.lab.uri


@dataclass
class Cluster:
    rec: Recorder
    manager: HostManager
    nodes: list[Node]

    def vm(self, node: Node, name: str) -> VMInfo:
        (vm,) = [v for v in self.rec.inventory.vms.values()
                 if v.name == name and v.host_id == node.worker.host_id]
        return vm


def _define(uri: str, xml: str) -> None:
    conn = libvirt.open(uri)
    try:
        conn.defineXML(xml)
    finally:
        conn.close()


def _remove(uri: str) -> None:
    """Everything of this module on one node, whatever state the tests left it in."""
    conn = libvirt.open(uri)
    try:
        for dom in conn.listAllDomains():
            if dom.name().startswith(TAG):
                if dom.isActive():
                    dom.destroy()
                for snap in dom.listAllSnapshots():
                    snap.delete()
                dom.undefine()
        for net in conn.listAllNetworks():
            if net.name() == NETWORK:
                if net.isActive():
                    net.destroy()
                net.undefine()
        for pool in conn.listAllStoragePools():
            if pool.name() == POOL:
                if not pool.isActive():
                    pool.create()
                for vol in pool.listAllVolumes():
                    vol.delete()
                pool.destroy()
                pool.delete()
                pool.undefine()
    finally:
        conn.close()


def _with_disk(xml: str, path: str) -> str:
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
            f"<source file='{path}'/><target dev='vda' bus='virtio'/></disk>")
    return xml.replace("<devices>", f"<devices>{disk}", 1)


@pytest.fixture(scope="module")
def cluster(lab: Lab) -> Iterator[Cluster]:
    """tvirt connected to the three nodes; on each, a dir pool with a qcow2 volume, a
    shut-off VM on it, and the tiny guest (shut off until `running`)."""
    rec = Recorder()
    manager = HostManager(rec)
    made: list[Node] = []
    try:
        for n in lab.nodes:
            made.append(Node(n, manager.add(n.uri), f"{TAG}-{n.name}", f"{TAG}-snap-{n.name}"))
        for node in made:
            pool = PoolSpec("dir", POOL, target=POOL_DIR)
            ops_storage.pool_define(node.worker, pool, build=True).result(120)
            spec = VolumeSpec("snap.qcow2", 16 * 1024 * 1024, format="qcow2")
            ops_storage.volume_create(node.worker, POOL, spec).result(120)
            _define(node.uri, _with_disk(guest_xml(node.snapper, lab.guest_kernel,
                                                   lab.guest_initrd), f"{POOL_DIR}/snap.qcow2"))
            _define(node.uri, guest_xml(node.guest, lab.guest_kernel, lab.guest_initrd))
        for node in made:
            wait_for(lambda n=node: n.worker.host_id in rec.inventory.listed, 120, "listing")
            # The lifecycle events of the definitions above have reached the inventory.
            wait_for(lambda n=node: {n.guest, n.snapper} <= {
                v.name for v in rec.inventory.vms.values() if v.host_id == n.worker.host_id
            }, 60, f"{node.lab.name}'s VMs")
        yield Cluster(rec, manager, made)
    finally:
        manager.stop()
        for node in made:
            _remove(node.uri)


def _row(rows: list[dict[str, Any]], name: str, uri: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r["name"] == name and r["uri"] == uri]
    return row


def _console_ready(uri: str, name: str) -> None:
    """Wait until the guest's shell is up: its READY line on the serial console."""
    conn = libvirt.open(uri)
    try:
        stream = conn.newStream(0)
        conn.lookupByName(name).openConsole(None, stream, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
        seen = bytearray()
        try:
            while b"#" not in seen.partition(b"TVIRT-GUEST-READY")[2]:
                data = stream.recv(4096)
                if not isinstance(data, bytes) or not data:
                    break
                seen += data
        finally:
            stream.abort()
        assert b"TVIRT-GUEST-READY" in seen, seen[-200:]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def running(lab: Lab, cluster: Cluster) -> list[Node]:
    """The three tiny guests started by one `tvirt start` across the three hosts, then
    booted in parallel (the first half of the lifecycle; destroy is a test)."""
    out = tvirt(lab, "start", *(n.guest for n in cluster.nodes))
    assert out.returncode == 0, out.stderr
    waits = [threading.Thread(target=_console_ready, args=(n.uri, n.guest), daemon=True)
             for n in cluster.nodes]
    for t in waits:
        t.start()
    for t in waits:
        t.join(180)
    assert not any(t.is_alive() for t in waits), "a guest did not boot within 180 s"
    return cluster.nodes


def test_listing_shows_each_nodes_vms_with_that_host(lab: Lab, cluster: Cluster) -> None:
    hosts = tvirt_json(lab, "hosts")
    assert sorted((h["uri"], h["hostname"], h["state"]) for h in hosts) == sorted(
        (n.uri, n.lab.name, "connected") for n in cluster.nodes)
    rows = tvirt_json(lab, "list")
    for node in cluster.nodes:
        for name in (node.guest, node.snapper):
            # On its own node only, and labelled with that node.
            (row,) = [r for r in rows if r["name"] == name]
            assert row["uri"] == node.uri and node.lab.name in row["host"], row


def test_console_answers_echo_on_each_node(lab: Lab, running: list[Node]) -> None:
    for node in running:
        out = subprocess.run(
            [tvirt_bin(), "console", node.guest],
            input=f"echo $((6*7)) {node.lab.name}\n".encode(), capture_output=True,
            timeout=60, env=_env(lab),
        )
        assert out.returncode == 0, out.stderr
        assert f"42 {node.lab.name}".encode() in out.stdout, out.stdout


def test_stats_arrive_for_each_nodes_running_vm(cluster: Cluster, running: list[Node]) -> None:
    seen: dict[str, StatsSnapshot] = {}
    for node in running:
        cluster.manager.watch_stats(node.worker.host_id,
                                    lambda s: seen.__setitem__(s.host_id, s), interval=0.5)
    # From the second sample of a host on, its guest's CPU use is known.
    wait_for(lambda: len(seen) == 3 and all(
        any(v.name == n.guest and v.cpu_percent is not None for v in seen[n.uri].vms)
        for n in running), 120, "each node's guest in its stats")
    for node in running:
        (vm,) = [v for v in seen[node.uri].vms if v.name == node.guest]
        assert vm.state is VMState.RUNNING, vm


def test_lifecycle_destroy_on_each_node(lab: Lab, running: list[Node]) -> None:
    out = tvirt(lab, "destroy", *(n.guest for n in running))
    assert out.returncode == 0, out.stderr
    rows = tvirt_json(lab, "list")
    for node in running:
        assert _row(rows, node.guest, node.uri)["state"] == "shut off"


def test_storage_pool_and_volume_on_each_node(lab: Lab, cluster: Cluster) -> None:
    pools = tvirt_json(lab, "pools")
    for node in cluster.nodes:
        assert _row(pools, POOL, node.uri)["state"] == "running"
        w = node.worker
        ops_storage.volume_create(w, POOL, VolumeSpec("scratch.raw", 4 << 20)).result(60)
        names = {v.name for v in ops_storage.list_volumes(w, POOL).result(60)}
        assert names == {"scratch.raw", "snap.qcow2"}
        ops_storage.volume_delete(w, POOL, "scratch.raw").result(60)
        names = {v.name for v in ops_storage.list_volumes(w, POOL).result(60)}
        assert names == {"snap.qcow2"}


def test_networks_defined_and_listed_on_each_node(cluster: Cluster) -> None:
    for node in cluster.nodes:
        spec = NetSpec(NETWORK, mode="isolated", subnet=SUBNETS[node.lab.name], dhcp=False)
        ops_networks.define(node.worker, spec).result(60)
    for node in cluster.nodes:
        (net,) = [n for n in ops_networks.list_all(node.worker).result(60) if n.name == NETWORK]
        assert net.state == "inactive" and net.forward == "isolated", net
        assert SUBNETS[node.lab.name].split("/")[0].rsplit(".", 1)[0] in net.ip_range, net


def test_snapshot_create_list_delete_on_each_node(cluster: Cluster) -> None:
    for node in cluster.nodes:
        vm = cluster.vm(node, node.snapper)
        ops_snapshots.create(node.worker, vm, "s1").result(120)
        assert [s.name for s in ops_snapshots.tree(node.worker, vm).result(60)] == ["s1"]
        ops_snapshots.delete(node.worker, vm, "s1").result(120)
        assert ops_snapshots.tree(node.worker, vm).result(60) == []
