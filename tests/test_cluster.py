"""The cluster overview's core: quorum, words, the event-log lines of a change, the
overview of real test-driver hosts, and `tvirt cluster` (plain and --json)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from conftest import Recorder, tvirt_bin, wait_for
from tvirt import cluster, gluster
from tvirt.cli.cluster import lines
from tvirt.manager import HostManager
from tvirt.ops import cluster as cluster_ops

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"


def _volume(replica: int = 3, **options: str) -> gluster.Volume:
    return gluster.Volume("vol", "Replicate", "Started", replica, 0, replica, options=options)


def test_quorum_counts_each_replica_set_as_afr_does() -> None:
    vol = _volume()
    assert cluster.quorum(vol, [True, True, True]) == "met"
    assert cluster.quorum(vol, [True, True, False]) == "met"
    assert cluster.quorum(vol, [True, False, False]) == "lost"
    # Two replica sets: one set down to one brick loses quorum for the volume.
    assert cluster.quorum(vol, [True, True, True, False, False, True]) == "lost"
    # Replica 2 enforces nothing unless told; "auto" with half up needs the first brick.
    assert cluster.quorum(_volume(2), [True, False]) == "not enforced"
    auto = _volume(2, **{"cluster.quorum-type": "auto"})
    assert (cluster.quorum(auto, [True, False]), cluster.quorum(auto, [False, True])) == (
        "met", "lost")
    fixed = _volume(**{"cluster.quorum-type": "fixed", "cluster.quorum-count": "1"})
    assert cluster.quorum(fixed, [False, False, True]) == "met"
    assert cluster.quorum(_volume(**{"cluster.quorum-type": "none"}), [False] * 3) == (
        "not enforced")


def _brick(host: str, online: bool, heal: int | None = 0) -> cluster.BrickHealth:
    return cluster.BrickHealth("vol", f"{host}:/bricks/vol", host, online, heal,
                               "" if online else "transport endpoint is not connected")


def _view(node3_up: bool, heal: int) -> cluster.Overview:
    hosts = tuple(
        cluster.HostOverview(
            name, f"qemu+ssh://root@{name}/system", "up" if name != "node3" or node3_up
            else "lost", "" if name != "node3" or node3_up else "Connection lost.",
            {"running": 1, "shut off": 2} if name == "node1" else {},
            (cluster.PoolUsage("vmstore", "running", 4 << 30, 1 << 30),),
            (_brick(name, name != "node3" or node3_up, heal if name != "node3" else None),),
            "connected")
        for name in ("node1", "node2", "node3"))
    up = 3 if node3_up else 2
    return cluster.Overview(hosts, (cluster.VolumeHealth("vol", "started", 3, up, 3, "met",
                                                         2 * heal),), "node1")


def test_words_say_every_state() -> None:
    view = _view(False, 6)
    node1, _node2, node3 = view.hosts
    assert node1.vm_words == "3 VMs (1 running, 2 shut off)"
    assert node1.pools[0].words == "vmstore 25% of 4 GiB"
    assert node1.bricks[0].words == "online, heal pending 6"
    assert node3.bricks[0].words == "offline"
    assert view.volumes[0].words == "started, 2 of 3 bricks up, quorum met, heal pending 12"
    text = lines(view)
    assert "node3: lost: Connection lost." in text
    assert "  brick node3:/bricks/vol (vol): offline" in text
    assert text[-1] == "  vol: started, 2 of 3 bricks up, quorum met, heal pending 12"


def test_changes_are_lines_only_when_a_word_changes() -> None:
    healthy, lost = _view(True, 0), _view(False, 6)
    assert cluster.changes(healthy, healthy) == []
    assert cluster.changes(None, healthy) == []  # the first look: only problems are news
    went = cluster.changes(healthy, lost)
    assert went == [
        "node3: host lost: Connection lost.",
        "Brick node3:/bricks/vol of vol: offline (transport endpoint is not connected)",
        "Volume vol: heal pending 12",
    ]
    # Counts that only move are no news; the overview shows them.
    assert cluster.changes(lost, _view(False, 9)) == []
    assert cluster.changes(None, lost) == went
    back = cluster.changes(_view(False, 9), _view(True, 0))
    assert back == ["node3: host up", "Brick node3:/bricks/vol of vol: online",
                    "Volume vol: healed, heal pending 0"]


def test_overview_of_test_driver_hosts_counts_vms_and_pools() -> None:
    rec = Recorder()
    manager = HostManager(rec)
    try:
        worker = manager.add(LAB)
        wait_for(lambda: LAB in rec.inventory.listed, 30, "the lab host listed")
        host = cluster_ops.host_for(LAB, worker, False)
        assert host.runner is None  # a demo host runs no commands: no gluster asked
        view = cluster_ops.overview([host]).result(30)
    finally:
        manager.stop()
    (row,) = view.hosts
    states = [vm.state.word for vm in rec.inventory.vms.values()]
    assert row.state == "up" and sum(row.vms.values()) == len(states) > 0
    assert row.vms["running"] == states.count("running")
    assert [p.name for p in row.pools] == sorted(p.name for p in row.pools) and row.pools
    assert view.volumes == () and view.gluster_error == ""


def test_tvirt_cluster_plain_and_json() -> None:
    plain = subprocess.run([tvirt_bin(), "-c", LAB, "cluster"], capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 0, plain.stderr
    out = subprocess.run([tvirt_bin(), "-c", LAB, "cluster", "--json"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    (host,) = data["hosts"]
    assert host["uri"] == LAB and host["state"] == "up" and host["error"] == ""
    assert set(host["vms"]) == {"running", "paused", "shut off", "other"}
    first = plain.stdout.splitlines()[0]
    assert first.startswith(f"{host['label']}: up, {sum(host['vms'].values())} VMs ("), first
    assert f"{host['vms']['running']} running" in first
    assert all(set(p) == {"name", "state", "capacity", "allocation"} for p in host["pools"])
    assert data["volumes"] == [] and data["gluster_host"] == ""
