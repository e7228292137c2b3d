"""`tvirt hw ...`: a VM's overview and hardware, and the changes the details screen makes."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import asdict
from pathlib import Path

from tvirt import validate
from tvirt import vmhardware as hw
from tvirt.cli.plumbing import (
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    chosen_vm,
    confirm,
    emit,
    refuse_readonly,
    vm_subcommand,
    wait,
)
from tvirt.host import HostWorker
from tvirt.model import VMInfo
from tvirt.ops import hardware

Change = Callable[[HostWorker, VMInfo], Future[str]]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("hw", help="show or change a VM's hardware (memory, disks, NICs, ...)")
    hsub = cmd.add_subparsers(dest="hw_command", metavar="ACTION", required=True)

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return vm_subcommand(hsub, name, help_text)

    add("show", "overview and device list")
    p = add("memory", "set the memory (live where possible, and in the config)")
    p.add_argument("size", help="e.g. 256M or 1G (a bare number is MiB)")
    p.add_argument("--config-only", action="store_true", help="do not change the running VM")
    p = add("max-memory", "set the maximum memory in the config (balloon room)")
    p.add_argument("size", help="e.g. 1G; below the memory, the memory comes down too")
    p = add("vcpus", "set the number of vCPUs (live where possible, and in the config)")
    p.add_argument("count")
    p.add_argument("--config-only", action="store_true", help="do not change the running VM")
    p = add("disk-add", "attach a disk (a volume's or file's path) or an empty CD drive")
    p.add_argument("path", nargs="?", default="", help="volume or file path (empty CD: none)")
    p.add_argument("--bus", default="virtio", help=", ".join(hw.DISK_BUSES))
    p.add_argument("--cdrom", action="store_true", help="a CD drive instead of a disk")
    p = add("disk-remove", "detach a disk by its target (vdb, sda, ...); storage is kept")
    p.add_argument("target")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    p = add("media", "insert a CD image into a drive, or eject it")
    p.add_argument("target", help="the CD drive's target, e.g. sda")
    p.add_argument("path", nargs="?", default="", help="image to insert; none ejects")
    p = add("nic-add", "add a NIC on a libvirt network or a bridge")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--network", metavar="NAME")
    where.add_argument("--bridge", metavar="BRIDGE")
    p.add_argument("--model", default="virtio", help=", ".join(hw.NIC_MODELS))
    p.add_argument("--mac", default="", help="MAC address (default: libvirt picks one)")
    p = add("nic-remove", "remove a NIC by its MAC address")
    p.add_argument("mac")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    p = add("boot", "set the boot order in the config")
    p.add_argument("devices", nargs="+", help=" ".join(hw.BOOT_DEVICES))
    p = add("xml", "print the VM's XML, or define an edited copy with --define")
    p.add_argument("--define", metavar="FILE", help="define this edited XML for the VM")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    action = args.hw_command
    if action == "show":
        return _show(args)
    if action == "xml":
        return _xml(args)
    change = _change(args)
    with chosen_vm(args) as (worker, vm):
        refuse_readonly(args, worker.readonly, f"{_verb(args)} {vm.name}")
        message = wait(change(worker, vm), args.timeout, vm.host_id)
    emit(args, [{"name": args.vm, "message": message}], [f"{args.vm}: {message}"], single=True)
    return EXIT_OK


def _verb(args: argparse.Namespace) -> str:
    return {
        "memory": "change the memory of",
        "max-memory": "change the maximum memory of",
        "vcpus": "change the vCPUs of",
        "disk-add": "add a disk to",
        "disk-remove": "remove a disk from",
        "media": "change the CD media of",
        "nic-add": "add a NIC to",
        "nic-remove": "remove a NIC from",
        "boot": "change the boot order of",
    }[args.hw_command]


def _change(args: argparse.Namespace) -> Change:
    """The operation the action asks for; a bad value or a "no" ends the command first."""
    action = args.hw_command
    try:
        mib = validate.memory_mib(args.size) if action in ("memory", "max-memory") else 0
        count = validate.vcpus(args.count) if action == "vcpus" else 0
    except validate.Invalid as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    live = not getattr(args, "config_only", False)
    if action == "memory":
        return lambda host, vm: hardware.set_memory(host, vm, mib, live=live)
    if action == "max-memory":
        return lambda host, vm: hardware.set_max_memory(host, vm, mib)
    if action == "vcpus":
        return lambda host, vm: hardware.set_vcpus(host, vm, count, live=live)
    if action == "disk-add":
        return lambda host, vm: hardware.add_disk(host, vm, args.path, args.bus, cdrom=args.cdrom)
    if action == "disk-remove":
        confirm(args, f"Detach disk {args.target} from {args.vm}?", args.target)
        return lambda host, vm: hardware.remove_disk(host, vm, args.target)
    if action == "media":
        return lambda host, vm: hardware.change_media(host, vm, args.target, args.path)
    if action == "nic-add":
        kind = "network" if args.network else "bridge"
        source = args.network or args.bridge
        return lambda host, vm: hardware.add_nic(host, vm, kind, source, args.model, args.mac)
    if action == "nic-remove":
        confirm(args, f"Remove NIC {args.mac} from {args.vm}?", args.mac)
        return lambda host, vm: hardware.remove_nic(host, vm, args.mac)
    return lambda host, vm: hardware.set_boot_order(host, vm, list(args.devices))


def _show(args: argparse.Namespace) -> int:
    with chosen_vm(args) as (worker, vm):
        info = wait(hardware.overview(worker, vm), args.timeout, vm.host_id)
    if args.json:
        emit(args, [asdict(info)], [], single=True)
        return EXIT_OK
    uptime = f"{info.uptime_s:.0f} s" if info.uptime_s is not None else "unknown"
    print(
        f"{info.name}: {info.state}, host {info.host}, uuid {info.uuid}, uptime {uptime}, "
        f"vCPUs {info.vcpus} of {info.max_vcpus}, memory {info.memory_mib} of "
        f"{info.max_memory_mib} MiB{hw.next_boot(info)}, "
        f"autostart {'on' if info.autostart else 'off'}, "
        f"boot {' '.join(info.boot_order) or 'default'}"
    )
    for dev in info.devices:
        pending = f" ({dev.pending})" if dev.pending else ""
        print(f"{dev.key}: {dev.kind}, {dev.summary}{pending}")
    return EXIT_OK


def _xml(args: argparse.Namespace) -> int:
    if not args.define:
        with chosen_vm(args) as (worker, vm):
            print(wait(hardware.config_xml(worker, vm), args.timeout, vm.host_id).rstrip())
        return EXIT_OK
    try:
        text = Path(args.define).read_text()
    except OSError as exc:
        raise CLIError(f"Could not read {args.define}: {exc.strerror}.") from None
    with chosen_vm(args) as (worker, vm):
        refuse_readonly(args, worker.readonly, f"change the XML of {vm.name}")
        message = wait(hardware.define_xml(worker, vm, text), args.timeout, vm.host_id)
    emit(args, [{"name": args.vm, "message": message}], [f"{args.vm}: {message}"], single=True)
    return EXIT_OK
