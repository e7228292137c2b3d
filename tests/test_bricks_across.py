"""The brick plan across three hosts, read as text (nothing runs), and the one name
"Used by" gives a file on a Gluster volume however it is reached."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tvirt import bricks, disks, glusterpaths
from tvirt.remote import Runner

GIB = 1 << 30


def spec(n: int, size: int = GIB, layout: bricks.Layout | None = None) -> bricks.BrickSpec:
    dev = disks.Device(f"sdb{n}", "/dev/sdb", "disk", size, safety=disks.Safety.SAFE,
                       reasons=["no signatures"])

    def call(fn: object) -> None:
        raise AssertionError("nothing runs in a plan")

    return bricks.BrickSpec(Runner(f"node{n}"), dev, f"gl{n}", layout=layout, libvirt=call)


def across(**kw: object) -> bricks.Wizard:
    return bricks.Wizard("vmstore", [spec(1), spec(2, layout=bricks.Layout.XFS), spec(3)],
                         pool=bricks.PoolType.NETFS, wipe=True, virt=True, **kw)  # type: ignore[arg-type]


def test_bricks_are_made_kind_by_kind_and_each_host_keeps_its_layout() -> None:
    steps = across().plan()
    head = [(s.host, s.argv[0]) for s in steps[:6]]
    assert head == [("node1", "wipefs"), ("node2", "wipefs"), ("node3", "wipefs"),
                    ("node1", "pvcreate"), ("node3", "pvcreate"), ("node1", "vgcreate")]
    # node2 has no device-mapper: plain XFS on the disk, and its mkfs undo is a wipefs.
    (mkfs2,) = [s for s in steps if s.host == "node2" and s.argv[:1] == ["mkfs.xfs"]]
    assert mkfs2.argv[-1] == "/dev/sdb" and mkfs2.undo == [["wipefs", "--all", "/dev/sdb"]]
    assert not any(s.host == "node2" and s.argv[:1] == ["pvcreate"] for s in steps)
    # Every umount comes before any mount point is removed (undo runs newest first).
    undo = [u for s in reversed(steps) for u in s.undo]
    last_umount = max(i for i, u in enumerate(undo) if u[0] == "umount")
    first_rm = min(i for i, u in enumerate(undo) if u[:2] == ["rm", "-d"])
    assert last_umount < first_rm


def test_peers_probed_volume_without_force_virt_profile_and_a_pool_per_host() -> None:
    steps = across(known_peers=frozenset({"gl2"})).plan()
    probes = [s for s in steps if s.argv[2:4] == ["peer", "probe"]]
    assert [(s.host, s.argv[-1], s.undo) for s in probes] == [
        ("node1", "gl2", []),  # already a peer: never detached
        ("node1", "gl3", [["gluster", "--mode=script", "peer", "detach", "gl3"]]),
    ]
    (create,) = [s for s in steps if s.argv[2:4] == ["volume", "create"]]
    assert create.argv[-3:] == ["gl1:/gluster_bricks/vmstore/brick",
                                "gl2:/gluster_bricks/vmstore/brick",
                                "gl3:/gluster_bricks/vmstore/brick"]
    assert "force" not in create.argv
    (group,) = [s for s in steps if s.argv[2:4] == ["volume", "set"]]
    assert group.argv[-2:] == ["group", "virt"]
    assert steps.index(group) < [s.what for s in steps].index("start volume vmstore")
    pools = [s for s in steps if s.libvirt is not None]
    assert [s.host for s in pools] == ["node1", "node2", "node3"]
    assert all(s.call is not None for s in pools)
    assert "<host name=\"gl2\" />" in pools[1].shown  # each mounts from its own glusterd


def test_without_the_group_file_the_options_are_set_one_by_one() -> None:
    steps = across(virt_group=False).plan()
    sets = [s.argv[5:] for s in steps if s.argv[2:4] == ["volume", "set"]]
    assert sets == [[k, v] for k, v in bricks.VIRT_OPTIONS]
    assert ["features.shard", "on"] in sets


def test_small_disks_get_unsupported_and_are_said() -> None:
    small = [spec(1, 256 << 20, bricks.Layout.XFS), spec(2, layout=bricks.Layout.XFS),
             spec(3, layout=bricks.Layout.XFS)]
    steps = bricks.Wizard("vmstore", small).plan()
    mkfs = [s.argv for s in steps if s.argv[:1] == ["mkfs.xfs"]]
    assert mkfs[0][:2] == ["mkfs.xfs", "--unsupported"]
    assert "--unsupported" not in mkfs[1]
    assert bricks.small_disks(small) == [
        "node1: /dev/sdb is smaller than XFS's 300 MB minimum, so mkfs.xfs runs with "
        "--unsupported (fit for tests, not for VMs that matter)."]


def test_bad_names_are_refused_before_any_host() -> None:
    with pytest.raises(bricks.PlanError, match="not a usable volume name"):
        bricks.check_name("9bad")


def test_one_name_for_a_file_under_the_mount_and_a_network_disk() -> None:
    mounts = [("/var/lib/libvirt/images/vmstore", "vmstore")]
    by_file = glusterpaths.key("/var/lib/libvirt/images/vmstore/vm.img", mounts)
    by_pool = glusterpaths.key("gluster://gl1/vmstore/vm.img", [])
    source = ET.fromstring("<source protocol='gluster' name='vmstore/vm.img'/>")
    assert by_file == by_pool == glusterpaths.network_key(source) == "gluster:/vmstore/vm.img"
    assert glusterpaths.key("/var/lib/libvirt/images/other/vm.img", mounts) == ""
    assert glusterpaths.network_key(ET.fromstring("<source protocol='nbd' name='x'/>")) == ""
