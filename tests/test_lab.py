"""The three-host lab of scripts/lab.sh: each node is a host of its own, reached over qemu+ssh."""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from typing import Any

import libvirt
import pytest

from conftest import Lab, guest_xml, tvirt_bin, wait_for

pytestmark = pytest.mark.real


def _tvirt_json(*args: str, env: dict[str, str] | None = None) -> Any:
    out = subprocess.run(
        [tvirt_bin(), *args], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_each_node_answers_its_own_hostname_through_tvirt(lab: Lab) -> None:
    assert [node.name for node in lab.nodes] == ["node1", "node2", "node3"]
    for node in lab.nodes:
        (host,) = _tvirt_json("--connect", node.uri, "--json", "hosts")
        assert host["state"] == "connected", host["error"]
        assert host["hostname"] == node.name
        assert host["uri"] == node.uri


def test_the_lab_config_lists_every_node(lab: Lab) -> None:
    env = {**os.environ, "TVIRT_CONFIG": lab.config}
    hosts = _tvirt_json("--json", "hosts", env=env)
    assert sorted(h["hostname"] for h in hosts) == ["node1", "node2", "node3"]
    assert all(h["state"] == "connected" for h in hosts)


def test_nodes_have_distinct_host_uuids(lab: Lab) -> None:
    uuids = set()
    for node in lab.nodes:
        conn = libvirt.open(node.uri)
        try:
            uuid = ET.fromstring(conn.getCapabilities()).findtext("./host/uuid")
        finally:
            conn.close()
        assert uuid
        uuids.add(uuid)
    assert len(uuids) == len(lab.nodes)


def test_each_node_sees_only_its_own_loop_devices(lab: Lab) -> None:
    every = {dev for node in lab.nodes for dev in node.loops}
    for node in lab.nodes:
        assert node.loops, f"{node.name} has no loop device"
        # A shell on the node (its sshd runs in the node's mount namespace) lists its /dev.
        out = subprocess.run(
            ["ssh", "-o", "BatchMode=yes", f"root@{node.name}", "ls", "/dev"],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.split()
        seen = {f"/dev/{name}" for name in out if name.startswith("loop")}
        assert seen == set(node.loops)
        assert not seen & (every - set(node.loops))
    # The main namespace has all of them: the lab made them there with losetup.
    assert all(os.path.exists(dev) for dev in every)


def test_gluster_volume_has_a_brick_online_on_each_node(lab: Lab) -> None:
    bricks = _tvirt_json("--connect", lab.nodes[0].uri, "--json", "gluster", "bricks")
    ours = [b for b in bricks if b["volume"] == lab.gluster_volume]
    assert sorted(b["name"].split(":", 1)[0] for b in ours) == ["node1", "node2", "node3"]
    assert [b["state"] for b in ours] == ["online"] * 3


def _cpu_time(uri: str, name: str) -> int:
    conn = libvirt.open(uri)
    try:
        return int(conn.lookupByName(name).info()[4])
    finally:
        conn.close()


def _active_on(uri: str, name: str) -> bool:
    conn = libvirt.open(uri)
    try:
        return bool(conn.lookupByName(name).isActive())
    except libvirt.libvirtError:
        return False  # no such domain there
    finally:
        conn.close()


def test_virsh_live_migrates_the_tiny_guest_from_node1_to_node2(lab: Lab) -> None:
    source, target = lab.nodes[0], lab.nodes[1]
    name = f"tvirt-lab-guest-{os.getpid()}"
    conn = libvirt.open(source.uri)
    try:
        # Started on node1, whose /dev is the lab's private one: TCG still runs there.
        conn.createXML(guest_xml(name, lab.guest_kernel, lab.guest_initrd), 0)
    finally:
        conn.close()
    try:
        wait_for(lambda: _active_on(source.uri, name), 60, f"{name} running on {source.name}")
        migrate = subprocess.run(
            ["virsh", "-c", source.uri, "migrate", "--live", name, target.uri,
             "--migrateuri", f"tcp://{target.address}"],
            capture_output=True, text=True, timeout=300,
        )
        assert migrate.returncode == 0, migrate.stderr
        assert _active_on(target.uri, name)
        assert not _active_on(source.uri, name)
        # The guest keeps running on node2: its CPU time there grows.
        first = _cpu_time(target.uri, name)
        wait_for(lambda: _cpu_time(target.uri, name) > first, 60, f"{name} to run on node2")
    finally:
        for node in (source, target):
            subprocess.run(
                ["virsh", "-c", node.uri, "destroy", name], capture_output=True, timeout=60
            )
