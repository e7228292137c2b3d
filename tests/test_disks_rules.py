"""Classification rules that this machine's kernel cannot show for real (no device-mapper,
no MD): lsblk JSON in the shape lsblk prints, written by hand for those two cases only."""

from __future__ import annotations

import json

from tvirt import disks


def _lsblk(children: list[dict[str, object]], **extra: object) -> str:
    disk = {
        "name": "sdb",
        "path": "/dev/sdb",
        "type": "disk",
        "size": 10**10,
        "mountpoints": [None],
        "ro": False,
        "children": children,
        **extra,
    }
    return json.dumps({"blockdevices": [disk]})


def test_lvm_holder_makes_a_disk_unsafe() -> None:
    lv = {
        "name": "vg-lv",
        "path": "/dev/mapper/vg-lv",
        "type": "lvm",
        "size": 10**9,
        "mountpoints": [None],
    }
    (dev,) = disks.from_facts(_lsblk([lv]), {}, {})
    assert dev.safety is disks.Safety.UNSAFE
    assert "/dev/mapper/vg-lv (lvm) is built on it" in dev.reason


def test_md_member_makes_a_disk_unsafe() -> None:
    md = {
        "name": "md0",
        "path": "/dev/md0",
        "type": "raid1",
        "size": 10**9,
        "mountpoints": ["/srv"],
    }
    sig = json.dumps(
        {"signatures": [{"device": "sdb", "offset": "0x1000", "type": "linux_raid_member"}]}
    )
    (dev,) = disks.from_facts(_lsblk([md]), {"/dev/sdb": sig}, {})
    assert dev.safety is disks.Safety.UNSAFE
    assert "it is a member of the MD array /dev/md0" in dev.reason
    assert "it is an MD RAID member" in dev.reason
    assert "its partition /dev/md0 is mounted on /srv" in dev.reason


def test_boot_disk_and_readonly_and_unknown_type() -> None:
    part = {
        "name": "sdb1",
        "path": "/dev/sdb1",
        "type": "part",
        "size": 10**9,
        "mountpoints": ["/boot"],
    }
    (dev,) = disks.from_facts(_lsblk([part], ro=True), {}, {})
    assert dev.safety is disks.Safety.UNSAFE
    assert dev.reason == "it is read-only; its partition /dev/sdb1 holds /boot"
    rom = json.dumps(
        {
            "blockdevices": [
                {
                    "name": "sr0",
                    "path": "/dev/sr0",
                    "type": "rom",
                    "size": 1024,
                    "mountpoints": [None],
                }
            ]
        }
    )
    (cd,) = disks.from_facts(rom, {}, {})
    assert cd.safety is disks.Safety.UNKNOWN
    assert "it is a rom, not a whole disk" in cd.reason


def test_vm_disk_by_path() -> None:
    (dev,) = disks.from_facts(_lsblk([]), {}, {"/dev/sdb": "web01"})
    assert dev.safety is disks.Safety.UNSAFE and dev.reason == "it is the disk of VM web01"
