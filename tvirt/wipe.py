"""Wiping one block device: refuse unless it is classified safe and its path was typed
exactly, show the exact commands on a dry run, verify afterwards, log every step.

Methods: ``signatures`` (wipefs --all, listing what it finds first), ``zero`` (dd from
/dev/zero with progress and throughput, then a sampled read-back) and ``discard``
(blkdiscard). Every method ends with a signature check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from tvirt import disks
from tvirt.readonly import refusal
from tvirt.remote import Runner
from tvirt.steplog import StepLog, default_path

SAMPLES = 16
SAMPLE_BYTES = 65536
_DD_PROGRESS = re.compile(r"^(\d+) bytes .*copied, ([\d.]+) s, (.+)$")


class Method(Enum):
    SIGNATURES = "signatures"
    ZERO = "zero"
    DISCARD = "discard"


class WipeRefused(Exception):
    """Why a wipe was not started; one sentence."""


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    rate: str

    @property
    def percent(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0


@dataclass
class WipeReport:
    host: str
    device: str
    method: Method
    commands: list[str]
    dry_run: bool = False
    found: list[disks.Signature] = field(default_factory=list)
    ok: bool = False
    verified: bool = False
    message: str = ""
    throughput: str = ""


def log_path() -> Path:
    return default_path("wipe.log")


def commands(device: disks.Device, method: Method) -> list[list[str]]:
    """The exact commands the wipe runs, in order (verification reads not included)."""
    path = device.path
    listing = ["wipefs", "--json", path]  # lists only, changes nothing
    if method is Method.SIGNATURES:
        return [listing, ["wipefs", "--all", path]]
    if method is Method.ZERO:
        return [
            listing,
            ["wipefs", "--all", path],
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
    return [listing, ["wipefs", "--all", path], ["blkdiscard", path]]


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
    dry_run: bool = False,
    readonly: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
    log: Path | None = None,
) -> WipeReport:
    """Wipe (or, with dry_run, only describe) one device. Refusals raise WipeRefused."""
    if dry_run:
        if device is None:
            raise WipeRefused(f"{path} is not a whole block device on that host.")
        plan = [runner.display(c) for c in commands(device, method)]
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
    logger = StepLog(log or log_path(), runner.host, f"device={device.path}")
    report = WipeReport(runner.host, device.path, method, [])
    logger.write(f"start {method.value} wipe, {device.size} bytes, {device.reason}")
    for argv in commands(device, method):
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
            report.message = result.sentence()
            logger.write(f"failed: {report.message}")
            return report
    report.ok = True
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
    return report


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


def _dd_parser(
    total: int, on_progress: Callable[[Progress], object] | None, report: WipeReport
) -> Callable[[str], None]:
    def handle(text: str) -> None:
        match = _DD_PROGRESS.match(text.strip())
        if match:
            report.throughput = match.group(3)
            if on_progress:
                on_progress(Progress(int(match.group(1)), total, match.group(3)))

    return handle
