"""Output that cannot be written: a reader that leaves early, a full disk (issue 14, bug 7).

The real tvirt runs as a subprocess with its stdout a real pipe whose reader closes, or
/dev/full; every failure must be one sentence on stderr and a sane exit status.
"""

from __future__ import annotations

import errno
import os
import subprocess

from test_accessibility import tvirt_bin

from tvirt.errors import os_sentence

ENV = {**os.environ, "TVIRT_CONFIG": "/nonexistent/tvirt/config.toml"}


def closed_early(*argv: str, keep: int = 0) -> tuple[int, str]:
    """Run tvirt with stdout a pipe whose reader reads `keep` bytes, then closes."""
    proc = subprocess.Popen([tvirt_bin(), *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=ENV)
    assert proc.stdout is not None and proc.stderr is not None
    if keep:
        proc.stdout.read(keep)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    return proc.wait(60), err


def test_a_reader_that_leaves_early_is_no_error() -> None:
    for argv in (["keys"], ["-c", "test:///default", "--json", "pools"],
                 ["-c", "test:///default", "hw", "show", "test"]):
        code, err = closed_early(*argv)
        assert (code, err) == (0, ""), argv


def test_watch_stops_when_its_reader_leaves_while_nothing_happens() -> None:
    # test:///default is quiet after its first lines: only the closed pipe can end it.
    proc = subprocess.Popen([tvirt_bin(), "-c", "test:///default", "watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=ENV)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().decode() == "host demo default: connected\n"
    proc.stdout.close()
    assert proc.wait(60) == 0
    assert proc.stderr.read() == b""


def test_a_full_disk_under_stdout_is_one_sentence() -> None:
    for argv in (["keys"], ["-c", "test:///default", "list"],
                 ["-c", "test:///default", "--json", "list"]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([tvirt_bin(), *argv], stdout=full, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, env=ENV, timeout=60)
        assert done.returncode == 1, argv
        assert done.stderr.decode() == (
            "tvirt: Could not write the output to /dev/full: No space left on device.\n"
        )


def test_os_errors_read_as_one_sentence_with_the_path() -> None:
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/mnt/small/out.img")
    assert os_sentence(full, "Could not write") == (
        "Could not write /mnt/small/out.img: No space left on device."
    )
    moved = OSError(errno.EXDEV, os.strerror(errno.EXDEV), "/a", None, "/b")
    assert os_sentence(moved) == "Could not use /a -> /b: Invalid cross-device link."
    assert os_sentence(OSError(errno.EIO, os.strerror(errno.EIO))) == "Input/output error."
