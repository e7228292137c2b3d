"""Loop devices that a test creates, records and always detaches (never anyone else's)."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

# An 8 MiB disk makes a volume group of a single 4 MiB extent (LVM keeps its metadata in
# the first MiB), and a thin pool needs at least two LVs of one extent each (its data and
# its metadata): `lvcreate --type thin-pool` fails on every kernel, with or without
# device-mapper. The brick wizard's failure path is driven with disks this size.
TOO_SMALL_FOR_THIN_POOL = "8M"


def have(*tools: str) -> str | None:
    missing = [t for t in tools if shutil.which(t) is None]
    return f"{', '.join(missing)} not installed" if missing else None


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


@contextlib.contextmanager
def loop_devices(
    tmp: Path, count: int = 1, size: str = "64M", partscan: bool = False
) -> Iterator[list[str]]:
    """Create count backing files and loop devices; detach exactly those afterwards."""
    created: list[str] = []
    try:
        for i in range(count):
            image = tmp / f"tvirt-test-loop{i}.img"
            sh("truncate", "-s", size, str(image))
            flags = ["-P"] if partscan else []
            created.append(sh("losetup", "-f", "--show", *flags, str(image)).stdout.strip())
        yield created
    finally:
        for dev in created:
            sh("losetup", "-d", dev, check=False)
