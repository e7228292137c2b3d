"""Plain commands: `tvirt disks HOST` and `tvirt wipe HOST DEVICE --method M`.

HOST is a libvirt URI, `localhost`, or the host name or label of a chosen connection.
Commands run on that host: locally for qemu:///system, over ssh for qemu+ssh://.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from tvirt import disks, wipe
from tvirt.cli.plumbing import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    LONG_TIMEOUT,
    CLIError,
    command_host,
    json_option,
    resolve_host,
    wait,
)
from tvirt.cli.progress_term import TerminalProgress
from tvirt.ops import disks as disk_ops
from tvirt.ops.hostcmd import CommandHost

YES_PREFIX = "--yes-i-mean-"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = sub.add_parser("disks", help="a host's block devices: safe or unsafe to wipe")
    listing.add_argument("host", metavar="HOST")
    json_option(listing)
    listing.set_defaults(run=run_disks)

    wiping = sub.add_parser(
        "wipe",
        help="wipe one safe block device (asks for the typed device path)",
        description="Wipe a block device that tvirt classifies as safe. It asks for the "
        f"device path typed exactly, unless given {YES_PREFIX}DEVICE "
        f"(e.g. {YES_PREFIX}/dev/sdb).",
    )
    wiping.add_argument("host", metavar="HOST")
    wiping.add_argument("device", metavar="DEVICE")
    wiping.add_argument("--method", required=True, choices=[m.value for m in wipe.Method])
    wiping.add_argument("--dry-run", action="store_true", help="print the exact commands only")
    json_option(wiping)
    wiping.set_defaults(run=run_wipe, yes_i_mean="")
    # `--yes-i-mean-/dev/sdb` carries the device in the option's own name, which argparse
    # cannot declare; this parser takes such words out before parsing the rest.
    wiping.__class__ = type("WipeParser", (_YesWords, type(wiping)), {})


class _YesWords(argparse.ArgumentParser):
    """Takes `--yes-i-mean-DEVICE` words out before argparse sees them."""

    def parse_known_args(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        namespace: argparse.Namespace | None = None,
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(args or [])
        typed = [w[len(YES_PREFIX) :] for w in words if w.startswith(YES_PREFIX)]
        rest = [w for w in words if not w.startswith(YES_PREFIX)]
        parsed, extra = super().parse_known_args(rest, namespace)
        if typed:
            parsed.yes_i_mean = typed[-1]
        return parsed, extra


def host_devices(host: CommandHost) -> list[disks.Device]:
    """The host's devices, classified; a line on stderr when its VM disks are unknown."""
    listing = wait(disk_ops.listing(host), LONG_TIMEOUT, host.label)
    if listing.vm_disks_unknown:
        print(
            f"tvirt: VM disks on {host.label} unknown ({listing.vm_disks_unknown}); "
            "every device counts as unknown.",
            file=sys.stderr,
        )
    return listing.devices


def run_disks(args: argparse.Namespace) -> int:
    with command_host(args, resolve_host(args, args.host)) as host:
        devices = host_devices(host)
    if getattr(args, "json", False):
        print(json.dumps([d.as_dict() for d in devices], indent=2))
        return EXIT_OK
    for d in devices:
        extra = f", {d.model}" if d.model else ""
        print(f"{d.path}: {d.safety.value}, {size_text(d.size)}{extra}, {d.reason}")
    return EXIT_OK


def run_wipe(args: argparse.Namespace) -> int:
    with command_host(args, resolve_host(args, args.host)) as host:
        return _wipe(args, host)


def _wipe(args: argparse.Namespace, host: CommandHost) -> int:
    method = wipe.Method(args.method)
    as_json = getattr(args, "json", False)
    # A refused wipe (WipeRefused, read-only) or a failed command on the host (RemoteError)
    # ends the command through plumbing.report: one sentence, exit status 1.
    if not args.dry_run and (refusal := disk_ops.refuse_wipe(host, args.device)) is not None:
        raise refusal  # read-only refuses before reading the disks or asking anything
    devices = host_devices(host)
    device = disks.find(devices, args.device)
    if args.dry_run:
        report = disk_ops.dry_run(host, device, args.device, method)
        if device is not None and device.safety is not disks.Safety.SAFE:
            print(
                f"tvirt: {device.path} is {device.safety.value}: {device.reason}; "
                "a real wipe is refused.",
                file=sys.stderr,
            )
        _print_report(report, as_json, host)
        return EXIT_OK
    confirm = args.yes_i_mean
    wipe.check(device, args.device, device.path if device else "")
    assert device is not None
    if not confirm:
        if not sys.stdin.isatty():
            raise CLIError(
                f"Wiping needs {YES_PREFIX}{device.path} when there is no terminal to ask.",
                EXIT_USAGE,
            )
        print(f"{device.path} on {host.commands().host}: {size_text(device.size)}, "
              f"{device.reason}.")
        confirm = input(f"Type {device.path} to wipe it ({method.value}): ").strip()
    future = disk_ops.wipe_device(
        host, device, args.device, method, confirm, TerminalProgress(quiet=as_json)
    )
    report = wait(future, LONG_TIMEOUT, host.label)
    _print_report(report, as_json, host)
    return EXIT_OK if report.ok and report.verified else EXIT_FAILED


def _print_report(report: wipe.WipeReport, as_json: bool, host: CommandHost) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "name": report.device,
                    "state": _state(report),
                    # the label, as in every JSON output; report.host is the runner's name
                    "host": host.label,
                    "uri": host.uri,
                    "method": report.method.value,
                    "commands": report.commands,
                    "signatures_found": [s.type for s in report.found],
                    "signatures_removed": [s.type for s in report.removed],
                    "verified": report.verified,
                    "throughput": report.throughput,
                    "message": report.message,
                },
                indent=2,
            )
        )
        return
    for sig in report.found:
        # after a run, what the re-read shows: removed or still there
        done = "" if report.dry_run else (", removed" if sig in report.removed else ", left")
        print(f"{report.device}: signature {sig.type} at {sig.offset}{done}")
    for command in report.commands:
        print(f"{report.device}: {'would run' if report.dry_run else 'ran'} {command}")
    print(
        f"{report.device}: {_state(report)}, {report.message}",
        file=sys.stdout if report.ok else sys.stderr,
    )


def _state(report: wipe.WipeReport) -> str:
    if report.dry_run:
        return "dry run"
    if not report.ok:
        return "failed"
    return "verified" if report.verified else "not verified"


def size_text(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"
