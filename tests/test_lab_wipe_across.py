"""A wipe aimed from one node at another node's disk is refused and leaves it intact.

Each lab node has a private /dev holding only its own loop devices, while /sys is shared:
node1's lsblk still lists node2's loop devices, but node1 cannot open them. tvirt, told to
wipe one of them on node1, must call it "unknown" (unsafe) with the reason in words and
refuse; node2's device keeps every byte, read back from the main namespace, where the
lab made all the loop devices. (The lab's Gluster bricks are directories, not these.)
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import Lab, tvirt_bin

pytestmark = pytest.mark.real

MARK_OFFSET = 64 * 1024 * 1024  # inside the device, away from where signatures live
MARK_SIZE = 4096


def _read(device: str) -> bytes:
    with open(device, "rb") as dev:
        dev.seek(MARK_OFFSET)
        return dev.read(MARK_SIZE)


def _write(device: str, data: bytes) -> None:
    # dd as the brief says: a direct write of one block at the offset, flushed to the device.
    subprocess.run(
        ["dd", f"of={device}", "bs=4096", f"seek={MARK_OFFSET // 4096}", "count=1",
         "conv=notrunc,fsync", "status=none"],
        input=data, check=True, timeout=60,
    )


def test_node1_refuses_to_wipe_a_loop_device_of_node2(lab: Lab) -> None:
    node1, node2 = lab.nodes[0], lab.nodes[1]
    target = node2.loops[0]
    assert target not in node1.loops
    original = _read(target)
    marker = f"tvirt-lab-wipe-across-{os.getpid()}".encode().ljust(MARK_SIZE, b"\xa5")
    _write(target, marker)
    try:
        assert _read(target) == marker
        # node1 lists it (lsblk reads the shared /sys) but cannot open it: unknown, and why.
        listing = subprocess.run(
            [tvirt_bin(), "--json", "disks", node1.uri],
            capture_output=True, text=True, timeout=120,
        )
        assert listing.returncode == 0, listing.stderr
        (seen,) = [d for d in json.loads(listing.stdout) if d["path"] == target]
        assert seen["safety"] == "unknown" and "could not be read" in seen["reason"], seen
        # Zeroing, the method that would overwrite the marker, confirmed up front.
        out = subprocess.run(
            [tvirt_bin(), "wipe", node1.uri, target, "--method", "zero",
             f"--yes-i-mean-{target}"],
            capture_output=True, text=True, timeout=120,
        )
        assert out.returncode != 0, out.stdout
        line = out.stderr.strip()
        assert "\n" not in line and "Traceback" not in line, out.stderr
        assert line.startswith(f"tvirt: {target} is unknown: "), line
        assert "could not be read" in line and line.endswith("."), line
        assert _read(target) == marker, f"{target} changed after a refused wipe"
    finally:
        _write(target, original)
