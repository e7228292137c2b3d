"""Ctrl+C during `tvirt vol upload` and `tvirt vol download`, on the real libvirtd.

The command runs as a real process. The volume is 8 GiB (sparse, like the source file),
so a transfer takes a minute or more here; SIGINT is sent as soon as the first progress
line (after about a second) shows it is under way, and the test then checks what the user
guide promises: exit 130, a sentence, no half-written volume or file left behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import libvirt
import pytest

from conftest import Testbed, dir_pool
from tvirt import storage
from tvirt.sizes import GIB, MIB

pytestmark = pytest.mark.real
PID = os.getpid()
TVIRT = Path(sys.executable).parent / "tvirt"
SIZE = 8 * GIB
HEAD = 16 * MIB  # random bytes at the start; the rest of the 8 GiB is a hole


@dataclass(frozen=True)
class Volume:
    pool: str
    name: str
    path: Path


def data_extents(path: Path) -> Iterator[tuple[int, int]]:
    """(offset, length) of each part of a sparse file that holds data."""
    with path.open("rb") as f:
        fd, end, offset = f.fileno(), os.fstat(f.fileno()).st_size, 0
        while offset < end:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole from here on
                return
            offset = os.lseek(fd, start, os.SEEK_HOLE)
            yield start, offset - start


def all_zero(path: Path) -> bool:
    """Reads only the parts of the file that hold data: holes read as zeros."""
    with path.open("rb") as f:
        for start, length in data_extents(path):
            f.seek(start)
            while length:
                block = f.read(min(length, 4 * MIB))
                if block.count(0) != len(block):
                    return False
                length -= len(block)
    return True


@pytest.fixture
def volume(testbed: Testbed, tmp_path: Path) -> Iterator[Volume]:
    """An 8 GiB sparse raw volume in a dir pool of this test, its first 16 MiB random."""
    name = f"tvirt-test-cancel-{PID}"
    conn = libvirt.open(testbed.qemu_uri)
    try:
        with dir_pool(conn, name, tmp_path / "pool"):
            vol = storage.volume_create(conn, name, storage.VolumeSpec("big.img", SIZE, "raw"))
            with open(vol.path, "r+b") as f:
                f.write(os.urandom(HEAD))
            yield Volume(name, vol.name, Path(vol.path))
    finally:
        conn.close()


def interrupt_after_progress(argv: list[str], verb: str) -> tuple[int, str, str]:
    """Run tvirt, wait for its first progress line, send SIGINT; (code, that line, rest)."""
    proc = subprocess.Popen([str(TVIRT), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    try:
        line = proc.stderr.readline()
        assert f": {verb} " in line, f"no progress line but {line!r}"
        proc.send_signal(signal.SIGINT)
        _out, rest = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, line, rest


def test_interrupted_upload_exits_130_and_wipes_the_volume(
    testbed: Testbed, volume: Volume, tmp_path: Path
) -> None:
    source = tmp_path / "source.img"
    with source.open("wb") as f:
        f.write(os.urandom(HEAD))
        f.truncate(SIZE)
    assert not all_zero(volume.path)
    code, line, rest = interrupt_after_progress(
        ["-c", testbed.qemu_uri, "vol", "upload", volume.pool, volume.name, str(source)],
        "uploaded")
    assert "of 8 GiB" in line and "(100%)" not in line, line  # the cancel came mid-way
    assert code == 130, rest
    assert f"Upload to {volume.name} cancelled." in rest, rest
    assert f"Volume {volume.name} was partly overwritten, so it was wiped with zeros." in rest
    # The volume is still there, its size unchanged, and nothing of the source is left.
    assert volume.path.stat().st_size == SIZE
    assert all_zero(volume.path)


def test_interrupted_download_exits_130_and_leaves_no_file(
    testbed: Testbed, volume: Volume, tmp_path: Path
) -> None:
    folder = tmp_path / "down"
    folder.mkdir()
    dest = folder / "copy.img"
    code, line, rest = interrupt_after_progress(
        ["-c", testbed.qemu_uri, "vol", "download", volume.pool, volume.name, str(dest)],
        "downloaded")
    assert "of 8 GiB" in line and "(100%)" not in line, line
    assert code == 130, rest
    assert f"Download of {volume.name} cancelled; {dest} was not written." in rest, rest
    assert list(folder.iterdir()) == []  # neither the file nor its hidden temp file
    assert not all_zero(volume.path)  # a download never touches the volume
