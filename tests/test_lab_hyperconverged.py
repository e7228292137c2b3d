"""The hyperconverged flow on the lab's three hosts, from the command line: the second loop
device of each node wiped, made a brick, the bricks a started replica-3 volume with the
virt options, a netfs pool on every host, a VM running from the pool on node1, moved live
to node2 without copying its disk, "Used by" seen for a file and a gluster network disk,
and `tvirt gluster undo` leaving nothing behind. Bad input and an unsafe disk on one host
stop it before any host changes.

One flow for the module (`made`): creating and removing take a minute each. Names carry
the pid; the fixture removes what is left in its finally, whatever failed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import libvirt
import pytest
from test_console_real import Guest
from textual.widgets import DataTable, Static

from conftest import Lab, LabNode, _remove_domain, guest_xml, tvirt_bin
from tui_helpers import until
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.brick_wizard import BrickWizard
from tvirt.screens.gluster_view import GlusterScreen

pytestmark = pytest.mark.real

TVIRT = tvirt_bin()
PID = os.getpid()
VOLUME = f"tvhc{PID}"
MOUNT = f"/gluster_bricks/{VOLUME}"
TARGET = f"/var/lib/libvirt/images/{VOLUME}"  # the netfs pool's mount, the same on every host
HEAD = 1 << 20


def tvirt(lab: Lab, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TVIRT_CONFIG": lab.config}
    return subprocess.run([TVIRT, *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def disk_words(lab: Lab, volume: str = VOLUME) -> list[str]:
    """`VOLUME --hosts node1,node2,node3 --disk nodeN=<its second loop>...`"""
    words = [volume, "--hosts", ",".join(n.name for n in lab.nodes)]
    for node in lab.nodes:
        words += ["--disk", f"{node.name}={node.loops[1]}"]
    return words


def on_node(node: LabNode, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ssh", "-o", "BatchMode=yes", f"root@{node.name}", "--",
                           " ".join(argv)], capture_output=True, text=True, timeout=120)


def head(device: str) -> bytes:
    """The first MiB of a node's loop device, read in the main namespace (where the lab
    made them): mkfs or wipefs would change it."""
    with open(device, "rb") as dev:
        return dev.read(HEAD)


def put_head(device: str, data: bytes) -> None:
    with open(device, "r+b") as dev:
        dev.write(data)
        dev.flush()
        os.fsync(dev.fileno())


def state_of(lab: Lab, volume: str) -> dict[str, object]:
    """What a run could have changed anywhere: each loop's head, fstab lines, mounts,
    pools, and whether the volume exists."""
    found: dict[str, object] = {}
    for node in lab.nodes:
        found[f"{node.name} head"] = hashlib.sha256(head(node.loops[1])).hexdigest()
        found[f"{node.name} mounts"] = volume in on_node(node, "cat", "/proc/mounts").stdout
        found[f"{node.name} pools"] = volume in on_node(
            node, "virsh", "pool-list", "--all", "--name").stdout
    with open("/etc/fstab") as fstab:  # the lab's nodes share this machine's fstab
        found["fstab"] = [line for line in fstab if f"/{volume}" in line]
    found["volume"] = volume in on_node(lab.nodes[0], "gluster", "volume", "list").stdout
    return found


def test_bad_input_and_an_unsafe_disk_change_nothing_on_any_host(lab: Lab) -> None:
    name = f"tvhcbad{PID}"
    before = state_of(lab, name)
    words = disk_words(lab, name)
    # A host without a disk, a disk twice, a bad volume name: refused, nothing asked.
    no_disk = tvirt(lab, "gluster", "create", *words[:-2], "--yes")
    assert no_disk.returncode == 2, no_disk.stderr
    assert no_disk.stderr == f"tvirt: No --disk for {lab.nodes[2].name}; give one per host.\n"
    twice = tvirt(lab, "gluster", "create", *words, "--disk", words[-1], "--yes")
    assert twice.returncode == 2 and "two --disk options" in twice.stderr, twice.stderr
    bad = tvirt(lab, "gluster", "create", "9bad", *words[1:], "--yes")
    assert bad.returncode == 1 and "not a usable volume name" in bad.stderr, bad.stderr
    # node3's disk gets a swap signature: unsafe there, so nothing runs anywhere.
    node3 = lab.nodes[2]
    saved = head(node3.loops[1])
    subprocess.run(["mkswap", "-q", node3.loops[1]], check=True, timeout=60)
    try:
        unsafe_before = state_of(lab, name)
        refused = tvirt(lab, "gluster", "create", *words, "--yes")
        assert refused.returncode == 1, refused.stdout
        line = refused.stderr.strip().splitlines()[-1]
        assert line.startswith(f"tvirt: {node3.loops[1]} on {node3.name} is unsafe: "), line
        assert "swap" in line, line
        assert state_of(lab, name) == unsafe_before
    finally:
        put_head(node3.loops[1], saved)  # byte for byte as it was
    assert state_of(lab, name) == before


@dataclass
class Made:
    created: dict[str, object]  # the JSON record of `tvirt gluster create`
    undone: subprocess.CompletedProcess[str] | None = None


@pytest.fixture(scope="module")
def made(lab: Lab) -> Iterator[Made]:
    for node in lab.nodes:  # the loops this flow owns start clean
        listed = tvirt(lab, "--json", "disks", node.uri)
        (disk,) = [d for d in json.loads(listed.stdout) if d["path"] == node.loops[1]]
        assert disk["safety"] == "safe", disk
    result = Made({})
    try:
        out = tvirt(lab, "--json", "gluster", "create", *disk_words(lab), "--yes")
        assert out.returncode == 0, out.stderr + out.stdout
        result.created = json.loads(out.stdout)
        yield result
    finally:
        if result.undone is None:  # the undo test did not run or failed: remove it all
            tvirt(lab, "gluster", "undo", *disk_words(lab), "--yes")


def test_dry_run_shows_every_command_per_host(lab: Lab) -> None:
    out = tvirt(lab, "gluster", "create", *disk_words(lab, f"tvhcdry{PID}"), "--dry-run")
    assert out.returncode == 0, out.stderr
    for node in lab.nodes:
        assert f"{node.name}: would run wipefs --all {node.loops[1]}\n" in out.stdout
        assert f"{node.name}: would run mkfs.xfs " in out.stdout
        assert f"{node.name}: would run libvirt: define and start pool: " in out.stdout
    # This kernel has no device-mapper: said in words, and no LVM command is planned.
    assert "no device-mapper, so the brick is a plain XFS file system" in out.stdout
    assert "pvcreate" not in out.stdout
    first = lab.nodes[0].name
    assert f"{first}: would run gluster --mode=script peer probe {lab.nodes[1].name}\n" in (
        out.stdout)
    (create,) = [line for line in out.stdout.splitlines() if " volume create " in line]
    assert create.endswith(" ".join(f"{n.name}:/gluster_bricks/tvhcdry{PID}/brick"
                                    for n in lab.nodes))  # no force: one brick per host


def test_the_volume_is_started_replica_3_with_the_virt_options(lab: Lab, made: Made) -> None:
    record = made.created
    assert record["state"] == "started" and record["name"] == VOLUME
    steps = record["steps"]
    assert isinstance(steps, list) and {s["state"] for s in steps} == {"done"}
    assert {s["host"] for s in steps} == {n.name for n in lab.nodes}
    info = on_node(lab.nodes[1], "gluster", "volume", "info", VOLUME)
    assert "Status: Started" in info.stdout and "Number of Bricks: 1 x 3 = 3" in info.stdout
    for node in lab.nodes:
        assert f"{node.name}:{MOUNT}/brick" in info.stdout
    for option in ("features.shard: on", "cluster.quorum-type: auto",
                   "network.remote-dio: disable", "performance.strict-o-direct: on"):
        assert option in info.stdout, info.stdout
    for node in lab.nodes:  # every brick is the XFS of that node's own loop device
        mounts = on_node(node, "cat", "/proc/mounts").stdout
        assert f"{node.loops[1]} {MOUNT} xfs " in mounts, mounts
        pool = on_node(node, "virsh", "pool-dumpxml", VOLUME).stdout
        assert f"<path>{TARGET}</path>" in pool and "type='glusterfs'" in pool
        assert f"{TARGET} fuse.glusterfs" in mounts


def test_a_vm_runs_from_the_volume_and_moves_live(lab: Lab, made: Made) -> None:
    node1, node2 = lab.nodes[0], lab.nodes[1]
    name, net = f"tvirt-lab-hc-{PID}", f"tvirt-lab-hcnet-{PID}"
    made_vol = tvirt(lab, "-c", node1.uri, "vol", "create", VOLUME, "vm.img", "16M",
                     "--format", "raw")
    assert made_vol.returncode == 0, made_vol.stderr
    disk = (f"<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
            f"<source file='{TARGET}/vm.img'/><target dev='vda' bus='virtio'/></disk>")
    # The same file as a gluster network disk, on a VM that is only defined.
    network = (f"<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
               f"<source protocol='gluster' name='{VOLUME}/vm.img'>"
               f"<host name='{node1.name}'/></source><target dev='vda' bus='virtio'/></disk>")
    xml = guest_xml(name, lab.guest_kernel, lab.guest_initrd)
    conn = libvirt.open(node1.uri)
    try:
        conn.defineXML(xml.replace("<devices>", "<devices>" + disk))
        conn.defineXML(guest_xml(net, lab.guest_kernel, lab.guest_initrd).replace(
            "<devices>", "<devices>" + network))
        Guest(node1.uri, name).ensure_running()
        users = json.loads(tvirt(lab, "-c", node1.uri, "--json", "vols", VOLUME).stdout)
        assert [(v["name"], v["used_by"]) for v in users] == [("vm.img", [name, net])]
        moved = tvirt(lab, "-c", node1.uri, "-c", node2.uri, "migrate", name, node2.name)
        assert moved.returncode == 0, moved.stderr
        conn2 = libvirt.open(node2.uri)
        try:
            dom = conn2.lookupByName(name)
            assert dom.isActive()
            # Live, and its disk still the file on the shared volume (nothing copied).
            assert f"<source file='{TARGET}/vm.img'" in dom.XMLDesc(0)
        finally:
            conn2.close()
        # node2 lists the file created on node1 and the VM now running there.
        there = json.loads(tvirt(lab, "-c", node2.uri, "--json", "vols", VOLUME).stdout)
        assert [(v["name"], v["used_by"]) for v in there] == [("vm.img", [name])]
    finally:
        conn.close()
        for node in (node1, node2):
            _remove_domain(node.uri, name)
        _remove_domain(node1.uri, net)


def test_undo_leaves_nothing_on_any_host(lab: Lab, made: Made) -> None:
    made.undone = out = tvirt(lab, "--json", "gluster", "undo", *disk_words(lab), "--yes")
    assert out.returncode == 0, out.stderr + out.stdout
    assert json.loads(out.stdout)["state"] == "removed"
    after = state_of(lab, VOLUME)
    for node in lab.nodes:
        assert after[f"{node.name} mounts"] is False
        assert after[f"{node.name} pools"] is False
        listed = tvirt(lab, "--json", "disks", node.uri)
        (disk,) = [d for d in json.loads(listed.stdout) if d["path"] == node.loops[1]]
        assert (disk["safety"], disk["signatures"]) == ("safe", []), disk
    assert after["fstab"] == [] and after["volume"] is False


async def test_the_wizard_makes_it_across_hosts(lab: Lab, made: Made) -> None:
    """The same flow from the app: G, then b on the Gluster view; three hosts marked, a
    disk on each, the plan with the hosts' facts, the typed name, every step done. Runs
    after the command line's undo (the same loop devices); removed again by `gluster undo`."""
    assert made.undone is not None and made.undone.returncode == 0
    name = f"tvhcw{PID}"
    app = TvirtApp([n.uri for n in lab.nodes], stats=False)
    try:
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: all(
                (h := app.hosts.get(n.uri)) is not None and h.state is HostState.CONNECTED
                for n in lab.nodes), "three connected hosts", timeout=120)
            await pilot.press("G")
            await until(pilot, lambda: isinstance(app.screen, GlusterScreen), "the view")
            await pilot.press("b")
            await until(pilot, lambda: isinstance(app.screen, BrickWizard), "the wizard")
            wiz = app.screen
            assert isinstance(wiz, BrickWizard) and wiz.choosing_hosts
            table = wiz.query_one("#wizard-table", DataTable)
            labels = [str(k.value) for k in table.rows]
            assert len(labels) == 3
            for label in labels:
                table.move_cursor(row=table.get_row_index(label))
                await pilot.press("space")
            await pilot.press("enter")
            await until(pilot, lambda: len(wiz.listings) == 3 and table.row_count > 0,
                        "the disks of three hosts", timeout=120)
            assert sorted(h.gluster_host for h in wiz.chosen) == [n.name for n in lab.nodes]
            for host in wiz.chosen:
                node = next(n for n in lab.nodes if n.name == host.gluster_host)
                table.move_cursor(row=table.get_row_index(f"{host.label}|{node.loops[1]}"))
                await pilot.press("space")
            assert sorted(wiz.disk_of.values()) == sorted(n.loops[1] for n in lab.nodes)
            wiz.volume = name  # the settings page shows it in the name field
            await pilot.press("enter")
            await until(pilot, lambda: wiz.step == 1, "settings")
            await pilot.press("down", "down", "down", "enter")  # continue to the plan
            await until(pilot, lambda: wiz.step == 2, "the plan", timeout=120)
            plan = str(wiz.query_one("#wizard-body", Static).render())
            assert "no device-mapper, so the brick is a plain XFS file system" in plan
            assert "Each disk is wiped first" in plan and "force" not in plan
            await pilot.press(*name, "enter")
            await until(pilot, lambda: wiz.outcome is not None, "the run", timeout=600)
            assert wiz.outcome is not None and wiz.outcome.ok, wiz.outcome.summary()
        info = on_node(lab.nodes[2], "gluster", "volume", "info", name).stdout
        assert "Status: Started" in info and "Number of Bricks: 1 x 3 = 3" in info
        assert "features.shard: on" in info
        for node in lab.nodes:
            assert name in on_node(node, "virsh", "pool-list", "--name").stdout
    finally:
        undo = tvirt(lab, "gluster", "undo", *disk_words(lab, name), "--yes")
    assert undo.returncode == 0, undo.stderr
    assert state_of(lab, name)["volume"] is False
