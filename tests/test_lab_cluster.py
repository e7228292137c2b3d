"""The cluster overview and one host lost and healed, on the lab.

The lab's replica-3 volume (bricks on node1..3) is FUSE-mounted on node1 at a path of this
process, and a tiny guest runs on node1 from a disk file on it. Then node3 is cut off (its
link down; its glusterd must not be frozen: other tests share the volume, and a frozen
glusterd would hold their gluster transactions for minutes): the volume stays writable
from node1 (quorum, 2 of 3), the overview (in process, and `tvirt cluster --json`) shows
node3 lost and its brick offline, the guest keeps running and its console answers, and the
writes made meanwhile leave heal pending. Once node3 is back (always, in a `finally`) the
overview shows heal pending going down to zero.

The mount's client gives up on an unanswering brick after 5 s (a client option of this
mount alone; the volume keeps gluster's 42 s), so writes do not wait long while node3 is
away. Run time: about 110 to 130 s on the shared machine, node3 away about 50 s of it.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import libvirt
import pytest
from test_console_real import Guest
from test_lab_migrate import console_answers
from textual.widgets import DataTable

from conftest import Lab, LabNode, Recorder, guest_xml, tvirt_bin, wait_for
from tui_helpers import until
from tvirt import cluster
from tvirt.manager import HostManager
from tvirt.ops import cluster as cluster_ops
from tvirt.ops.hostcmd import CommandHost
from tvirt.screens.app import TvirtApp
from tvirt.screens.cluster_view import ClusterScreen

pytestmark = pytest.mark.real

TAG = f"tvirt-lab-cluster-{os.getpid()}"
MOUNT = f"/var/lib/libvirt/images/{TAG}"  # in node1's own /var/lib/libvirt
DISK = f"{MOUNT}/{TAG}.img"


def in_node(node: LabNode, *argv: str, timeout: float = 120) -> str:
    """argv in the node's namespaces (network, mount, UTS); its output."""
    done = subprocess.run(["nsenter", "-t", str(node.holder), "-m", "-u", "-n", "--", *argv],
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


@dataclass
class Setup:
    lab: Lab
    node1: LabNode
    node3: LabNode
    hosts: list[CommandHost]
    guest: str

    def overview(self) -> cluster.Overview:
        return cluster_ops.overview(self.hosts).result(180)

    def host(self, view: cluster.Overview, name: str) -> cluster.HostOverview:
        (found,) = [h for h in view.hosts if h.label.startswith(name)]
        return found

    def volume(self, view: cluster.Overview) -> cluster.VolumeHealth:
        (found,) = [v for v in view.volumes if v.name == self.lab.gluster_volume]
        return found


def _volume_client_option(lab: Lab, index: int) -> str:
    return f"xlator-option={lab.gluster_volume}-client-{index}.ping-timeout=5"


@contextmanager
def mounted(lab: Lab, node: LabNode) -> Iterator[None]:
    in_node(node, "mkdir", "-p", MOUNT)
    options = ",".join(_volume_client_option(lab, i) for i in range(3))
    try:
        in_node(node, "mount", "-t", "glusterfs", "-o", options,
                f"{node.name}:/{lab.gluster_volume}", MOUNT)
        yield
    finally:
        subprocess.run(["nsenter", "-t", str(node.holder), "-m", "-u", "-n", "--",
                        "sh", "-c", f"rm -rf -- {MOUNT}/{TAG}*; umount {MOUNT}; rmdir {MOUNT}"],
                       capture_output=True, timeout=120)


def _guest_with_disk(lab: Lab) -> str:
    xml = guest_xml(TAG, lab.guest_kernel, lab.guest_initrd)
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            f"<source file='{DISK}'/><target dev='vda' bus='virtio'/></disk>")
    return xml.replace("<devices>", "<devices>" + disk, 1)


@pytest.fixture(scope="module")
def setup(lab: Lab) -> Iterator[Setup]:
    node1, node3 = lab.nodes[0], lab.nodes[2]
    rec = Recorder()
    manager = HostManager(rec)
    try:
        workers = {n.name: manager.add(n.uri) for n in lab.nodes}
        for worker in workers.values():
            wait_for(lambda w=worker: w.host_id in rec.inventory.listed, 120, "listed")
        hosts = [cluster_ops.host_for(n.uri, workers[n.name], False) for n in lab.nodes]
        with mounted(lab, node1):
            in_node(node1, "truncate", "-s", "16M", DISK)
            conn = libvirt.open(node1.uri)
            try:
                conn.defineXML(_guest_with_disk(lab))
            finally:
                conn.close()
            guest = Guest(node1.uri, TAG)
            try:
                guest.ensure_running()
                yield Setup(lab, node1, node3, hosts, TAG)
            finally:
                try:
                    guest.destroy()
                    guest.dom.undefine()
                finally:
                    guest.conn.close()
    finally:
        manager.stop()


@contextmanager
def cut(node: LabNode) -> Iterator[None]:
    """node3 off the lab's bridge; always back."""
    assert node.name == "node3" and node.veth, "only node3 may be cut, through its link"
    link = ["ip", "link", "set", node.veth]
    try:
        subprocess.run([*link, "down"], check=True, timeout=30)
        yield
    finally:
        subprocess.run([*link, "up"], check=True, timeout=30)


def _writes(setup: Setup) -> None:
    """Writes from node1 while node3 is away: they go through, two of three bricks being
    quorum (the mount's client gives node3's brick up after 5 s)."""
    for i in range(3):
        in_node(setup.node1, "dd", "if=/dev/urandom", f"of={MOUNT}/{TAG}-w{i}", "bs=64k",
                "count=4", "conv=fsync")
    in_node(setup.node1, "sh", "-c", f"cat {MOUNT}/{TAG}-w2 > /dev/null")


def _lost(setup: Setup) -> cluster.Overview:
    """The core's overview, asked until it shows node3 lost."""
    seen: list[cluster.Overview] = []

    def lost() -> bool:
        seen.append(setup.overview())
        return setup.host(seen[-1], "node3").state == "lost"

    wait_for(lost, 120, "node3 lost in the overview")
    return seen[-1]


def _command(setup: Setup) -> dict[str, Any]:
    out = subprocess.run(
        [tvirt_bin(), "--timeout", "5", "--json", "cluster"], capture_output=True,
        text=True, timeout=180, env={**os.environ, "TVIRT_CONFIG": setup.lab.config},
    )
    assert out.returncode == 0, out.stderr
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def _row(screen: ClusterScreen, node: LabNode) -> list[str]:
    table = screen.query_one("#cluster-hosts", DataTable)
    return [str(c) for c in table.get_row(node.uri)]


def _volume_row(screen: ClusterScreen, name: str) -> list[str]:
    table = screen.query_one("#cluster-volumes", DataTable)
    return [str(c) for c in table.get_row(name)]


async def test_node3_lost_the_volume_stays_usable_and_heals(setup: Setup) -> None:
    lab, node1, node3 = setup.lab, setup.node1, setup.node3
    volume, brick3 = lab.gluster_volume, "node3:"
    app = TvirtApp(uris=[n.uri for n in lab.nodes])
    async with app.run_test(size=(180, 40)) as pilot:
        screen = ClusterScreen(interval=2.0)
        await app.push_screen(screen)
        # Before: every host up, all three bricks online, nothing to heal.
        await until(pilot, lambda: screen.view is not None and len(screen.view.hosts) == 3
                    and all(h.state == "up" for h in screen.view.hosts)
                    and _volume_row(screen, volume)[2] == "3 of 3", "three hosts up", 120)
        before = await asyncio.to_thread(setup.overview)
        assert setup.volume(before).bricks_up == 3, before.volumes
        assert setup.volume(before).quorum == "met"
        assert setup.host(before, "node1").vms.get("running", 0) >= 1
        with cut(node3):
            await asyncio.to_thread(_writes, setup)
            view = await asyncio.to_thread(_lost, setup)
            vol = setup.volume(view)
            (offline,) = setup.host(view, "node3").bricks
            assert not offline.online and offline.words.startswith("offline"), offline
            assert offline.name.startswith(brick3)
            assert vol.bricks_up == 2 and vol.quorum == "met", vol
            assert vol.heal_pending and vol.heal_pending > 0, vol
            assert setup.host(view, "node1").state == "up"
            assert all(b.online for b in setup.host(view, "node1").bricks)
            # The event log's lines for that change: host lost, brick offline, heal pending.
            lines = cluster.changes(before, view)
            assert any(line.startswith("node3") and "host lost" in line for line in lines)
            assert any(line.startswith(f"Brick {brick3}") and "offline" in line
                       for line in lines), lines
            assert f"Volume {volume}: heal pending {vol.heal_pending}" in lines
            # The plain command says the same.
            data = await asyncio.to_thread(_command, setup)
            (lost,) = [h for h in data["hosts"] if h["uri"] == node3.uri]
            assert lost["state"] == "lost" and lost["error"], lost
            assert [b["online"] for b in lost["bricks"]] == [False]
            (labvol,) = [v for v in data["volumes"] if v["name"] == volume]
            assert (labvol["bricks_up"], labvol["quorum"]) == (2, "met"), labvol
            # And so does the screen, with a line each in the app's event log.
            await until(pilot, lambda: _row(screen, node3)[1] == "lost"
                        and "offline" in _row(screen, node3)[3], "node3 lost on screen", 120)
            assert _volume_row(screen, volume)[2:5] == ["2 of 3", "3", "met"]
            logged = [m for m in app.messages if m.startswith("Cluster: ")]
            assert any("node3" in m and "host lost" in m for m in logged), logged
            assert any(m.startswith(f"Cluster: Brick {brick3}") and "offline" in m
                       for m in logged), logged
            # The guest on node1 runs on, and its console answers.
            state = setup.hosts[0].libvirt_call(
                lambda conn: conn.lookupByName(setup.guest).state())
            assert state[0] == libvirt.VIR_DOMAIN_RUNNING
            assert await asyncio.to_thread(console_answers, node1, setup.guest)
        # node3 is back: the overview shows its brick online and heal pending down to zero
        # (libvirt's reconnect, backoff up to 10 s, may come after the heal: both awaited).
        await until(pilot, lambda: _row(screen, node3)[1] == "up"
                    and _volume_row(screen, volume)[2] == "3 of 3"
                    and _volume_row(screen, volume)[5] == "0", "healed and node3 up", 600)
        assert screen.view is not None
        assert [b.online for b in setup.host(screen.view, "node3").bricks] == [True]
        logged = [m for m in app.messages if m.startswith("Cluster: ")]
        assert f"Cluster: Volume {volume}: healed, heal pending 0" in logged, logged
        assert any(m.startswith(f"Cluster: Brick {brick3}") and m.endswith("online")
                   for m in logged), logged
