"""Wiping one block device: refuse unless it is classified safe and its path was typed
exactly, show the exact commands on a dry run, verify afterwards, log every step.

Methods: ``signatures`` (wipefs --all, listing what it finds first), ``zero`` (dd from
/dev/zero with progress and throughput, then a sampled read-back) and ``discard``
(blkdiscard). Every method ends with a signature check.

Between the typed confirmation and the first destructive command the device is read and
classified again; any change since the person confirmed (signatures, holders, mounts, size,
safety) stops the wipe with the change in words. On the local host the device is held open
exclusively (O_EXCL) from that re-read to the end, so nothing can mount it, swap on it or make
it a PV meanwhile; wipefs and blkdiscard then run with --force, since their own exclusive
open would collide with tvirt's. Over ssh no descriptor can be held, so they keep their own.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tvirt import disks
from tvirt import progress as pg
from tvirt.errors import TvirtError
from tvirt.readonly import refusal
from tvirt.remote import Runner
from tvirt.steplog import StepLog, default_path

SAMPLES = 16
BLKRRPART = 0x125F  # ioctl: re-read the partition table
SAMPLE_BYTES = 65536
_DD_PROGRESS = re.compile(r"^(\d+) bytes .*copied, ([\d.]+) s, (.+)$")


class Method(Enum):
    SIGNATURES = "signatures"
    ZERO = "zero"
    DISCARD = "discard"


class WipeRefused(TvirtError):
    """Why a wipe was not started; one sentence."""


@dataclass
class WipeReport:
    host: str
    device: str
    method: Method
    commands: list[str]
    dry_run: bool = False
    found: list[disks.Signature] = field(default_factory=list)
    removed: list[disks.Signature] = field(default_factory=list)  # gone after the run
    held: bool = False  # the device was held open exclusively for the whole wipe
    ok: bool = False
    verified: bool = False
    message: str = ""
    throughput: str = ""


def log_path() -> Path:
    return default_path("wipe.log")


def commands(device: disks.Device, method: Method, held: bool = True) -> list[list[str]]:
    """The exact commands the wipe runs, in order (verification reads not included).
    held: tvirt holds the device exclusively, so wipefs and blkdiscard must not try to."""
    path = device.path
    force = ["--force"] if held else []
    listing = ["wipefs", "--json", path]  # lists only, changes nothing
    erase = ["wipefs", "--all", *force, path]
    if method is Method.SIGNATURES:
        return [listing, erase]
    if method is Method.ZERO:
        return [
            listing,
            erase,
            [
                "dd",
                "if=/dev/zero",
                f"of={path}",
                "bs=4M",
                f"count={device.size}",
                "iflag=count_bytes",
                "oflag=direct",
                "conv=fsync",
                "status=progress",
            ],
        ]
    return [listing, erase, ["blkdiscard", *force, path]]


def check(device: disks.Device | None, path: str, confirm: str, readonly: bool = False) -> None:
    """Raise WipeRefused unless this wipe may go ahead."""
    if readonly:
        raise WipeRefused(refusal(f"wipe {path}"))
    if device is None:
        raise WipeRefused(f"{path} is not a whole block device on that host.")
    if device.safety is not disks.Safety.SAFE:
        raise WipeRefused(f"{device.path} is {device.safety.value}: {device.reason}.")
    if confirm != device.path:
        raise WipeRefused(
            f"The typed confirmation '{confirm}' does not match {device.path}; nothing was wiped."
        )


def wipe(
    runner: Runner,
    device: disks.Device | None,
    path: str,
    method: Method,
    confirm: str,
    *,
    current: Callable[[], disks.Device | None] | None = None,
    dry_run: bool = False,
    readonly: bool = False,
    on_progress: pg.Report = pg.ignore,
    log: Path | None = None,
) -> WipeReport:
    """Wipe (or, with dry_run, only describe) one device. Refusals raise WipeRefused.

    device is what the person confirmed; current() reads and classifies it afresh (it is
    required for a real wipe) just before the first destructive command. on_progress hears
    Started once the device is held, dd's bytes as Advanced, and Finished with the message
    of a wipe whose commands all succeeded."""
    if dry_run:
        if device is None:
            raise WipeRefused(f"{path} is not a whole block device on that host.")
        plan = [runner.display(c) for c in commands(device, method, not runner.remote)]
        return WipeReport(
            runner.host,
            device.path,
            method,
            plan,
            dry_run=True,
            ok=True,
            message="nothing was changed",
        )
    check(device, path, confirm, readonly)
    assert device is not None
    if current is None:
        raise TypeError("a real wipe needs current(), the fresh reading of the device")
    logger = StepLog(log or log_path(), runner.host, f"device={device.path}")
    report = WipeReport(runner.host, device.path, method, [])
    logger.write(f"start {method.value} wipe, {device.size} bytes, {device.reason}")
    with exclusive(runner, device.path) as held:
        changed = disks.changes(device, current())
        if changed:
            why = f"{device.path} changed since it was confirmed: {'; '.join(changed)}"
        elif held is False:
            why = (
                f"{device.path} is in use: it cannot be opened exclusively (mounted, swap, "
                "LVM, RAID or another program holds it)"
            )
        else:
            why = ""
        if why:
            logger.write(f"refused: {why}")
            raise WipeRefused(f"{why}; nothing was wiped.")
        report.held = bool(held)
        logger.write("held exclusively" if held else "not held (remote host)")
        if method is Method.ZERO:  # only dd counts bytes
            on_progress(pg.Started(device.path, "zeroed", device.size))
        else:
            on_progress(pg.Started(device.path, "wiped"))
        if _run_commands(runner, device, method, report, logger, on_progress):
            report.ok = True
        report.removed = _removed(runner, device.path, report.found)
        logger.write("signatures removed: " + (", ".join(s.type for s in report.removed) or "none"))
        if not report.ok:
            return report
        problems = verify(runner, device, method)
    report.verified = not problems
    report.message = (
        f"{device.path} on {runner.host} wiped ({method.value}) and verified."
        if not problems
        else f"{device.path} on {runner.host} was wiped but verification failed: "
        + "; ".join(problems)
        + "."
    )
    logger.write(report.message)
    on_progress(pg.Finished(report.message))
    return report


def _run_commands(
    runner: Runner,
    device: disks.Device,
    method: Method,
    report: WipeReport,
    logger: StepLog,
    on_progress: pg.Report,
) -> bool:
    """Run the wipe's commands in order; False (with report.message) at the first failure."""
    for argv in commands(device, method, not runner.remote):
        report.commands.append(runner.display(argv))
        if argv[0] == "dd":
            result = runner.stream(argv, _dd_parser(device.size, on_progress, report))
        else:
            result = runner.run(argv, timeout=3600)
        logger.write(f"ran {runner.display(argv)} -> exit {result.returncode}")
        if argv[1] == "--json":
            report.found = disks.parse_wipefs(result.out)
            logger.write("signatures found: " + (", ".join(s.type for s in report.found) or "none"))
        if not result.ok:
            report.message = f"{result.sentence()}; nothing more was run"
            logger.write(f"failed: {report.message}")
            return False
    return True


def _removed(runner: Runner, path: str, found: list[disks.Signature]) -> list[disks.Signature]:
    """Which of the signatures found before are really gone now (read again, not assumed)."""
    probe = runner.run(["wipefs", "--json", "--no-act", path])
    if not probe.ok:
        return []  # cannot tell: claim nothing
    left = {(s.type, s.offset) for s in disks.parse_wipefs(probe.out)}
    return [s for s in found if (s.type, s.offset) not in left]


@contextlib.contextmanager
def exclusive(runner: Runner, path: str) -> Iterator[bool | None]:
    """Hold a local block device open with O_EXCL: yields True while held, False when it is
    busy (mounted, swap, a PV in use...), None on a remote host, where nothing can be held
    across commands. The partition table is re-read on release, as wipefs would have done."""
    if runner.remote:
        yield None
        return
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            why = f"{path} cannot be opened: {exc.strerror}; nothing was wiped."
            raise WipeRefused(why) from None
        yield False
        return
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):  # a loop device without partitions says EINVAL
            fcntl.ioctl(fd, BLKRRPART)
        os.close(fd)


def verify(runner: Runner, device: disks.Device, method: Method) -> list[str]:
    """What is wrong after a wipe; empty when no signature remains (and, after a zero fill,
    every sampled block reads back as zeros)."""
    problems = []
    probe = runner.run(["wipefs", "--json", "--no-act", device.path])
    left = disks.parse_wipefs(probe.out) if probe.ok else []
    if not probe.ok:
        problems.append(f"the signature check failed ({probe.err})")
    elif left:
        problems.append("signatures remain: " + ", ".join(s.type for s in left))
    if method is Method.ZERO:
        for offset in sample_offsets(device.size):
            read = runner.run(
                [
                    "dd",
                    f"if={device.path}",
                    f"bs={SAMPLE_BYTES}",
                    "count=1",
                    f"skip={offset}",
                    "iflag=skip_bytes,direct",
                    "status=none",
                ]
            )
            if not read.ok or not read.stdout or read.stdout.strip(b"\0"):
                problems.append(f"the block at byte {offset} is not zero")
                break
    return problems


def sample_offsets(size: int) -> list[int]:
    """Evenly spread block offsets, always including the first and last block."""
    blocks = max(size // SAMPLE_BYTES, 1)
    picks = {0, blocks - 1} | {blocks * i // SAMPLES for i in range(SAMPLES)}
    return sorted(p * SAMPLE_BYTES for p in picks)


def _dd_parser(total: int, on_progress: pg.Report, report: WipeReport) -> Callable[[str], None]:
    """dd's lines (each second, and its summary at the end) as Advanced events."""

    def handle(text: str) -> None:
        match = _DD_PROGRESS.match(text.strip())
        if match:
            report.throughput = match.group(3)
            done, seconds = int(match.group(1)), float(match.group(2))
            on_progress(pg.Advanced(done, total, elapsed=seconds))

    return handle
