"""`tvirt create NAME ...`: the new-VM wizard's choices as flags; `tvirt clone VM NEW`."""

from __future__ import annotations

import argparse
from pathlib import Path

from tvirt import validate
from tvirt.cli.plumbing import (
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    chosen_host,
    chosen_vm,
    emit,
    refuse_readonly,
    wait,
)
from tvirt.ops import create as ops
from tvirt.ops import vms
from tvirt.vmspec import (
    DISK_FORMATS,
    OS_HINTS,
    DiskKind,
    NetKind,
    Source,
    VMSpec,
    parse_size_mib,
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "create",
        help="create a VM (the new-VM wizard as flags)",
        description="Create a VM. Pick one install source; the disk and network default "
        "to none and the 'default' network. The serial console is on unless --no-serial.",
    )
    cmd.add_argument("name")
    cmd.add_argument("--host", help="host label, URI or hostname when several are connected")
    cmd.add_argument("--memory", default="512M", help="memory, e.g. 512M or 2G (default 512M)")
    cmd.add_argument("--vcpus", default="1", help="virtual CPUs (default 1)")
    src = cmd.add_mutually_exclusive_group(required=True)
    src.add_argument("--iso", metavar="PATH", help="install from this ISO (file or volume path)")
    src.add_argument("--kernel", metavar="PATH", help="boot this kernel directly")
    src.add_argument("--import", dest="import_disk", metavar="PATH",
                     help="boot an existing disk")
    src.add_argument("--pxe", action="store_true", help="boot from the network")
    cmd.add_argument("--initrd", default="", metavar="PATH", help="initrd for --kernel")
    cmd.add_argument("--cmdline", default="", help="kernel command line for --kernel")
    disk = cmd.add_mutually_exclusive_group()
    disk.add_argument("--disk-pool", metavar="POOL", help="make a new volume in this pool")
    disk.add_argument("--disk", metavar="PATH", help="use this existing volume or file")
    cmd.add_argument("--disk-size", default="", help="new volume size, e.g. 8G")
    cmd.add_argument("--disk-format", default="qcow2", help=f"{' or '.join(DISK_FORMATS)}")
    net = cmd.add_mutually_exclusive_group()
    net.add_argument("--network", metavar="NAME", help="libvirt network (default: default)")
    net.add_argument("--bridge", metavar="BRIDGE", help="host bridge instead of a network")
    net.add_argument("--no-network", action="store_true", help="no NIC")
    cmd.add_argument("--no-serial", action="store_true", help="no serial console")
    cmd.add_argument("--graphics", action="store_true", help="add VNC on 127.0.0.1")
    cmd.add_argument("--os", default="linux", help=f"device hint: {', '.join(OS_HINTS)}")
    cmd.add_argument("--virt-type", default="", help="kvm or qemu (default: kvm if offered)")
    cmd.add_argument("--start", action="store_true", help="start it after creating it")
    cmd.add_argument("--print-xml", action="store_true",
                     help="print the domain XML and change nothing")
    cmd.add_argument("--xml-file", metavar="FILE",
                     help="define this (edited) XML, e.g. from --print-xml, instead")
    cmd.set_defaults(run=run_create)

    clone = sub.add_parser("clone", help="clone a shut-off VM with copies of its disks")
    clone.add_argument("vm")
    clone.add_argument("new_name")
    clone.add_argument("--host")
    clone.set_defaults(run=run_clone)


def spec_from_args(args: argparse.Namespace) -> VMSpec:
    """The flags as a VMSpec; bad sizes raise ValueError with one sentence."""
    if args.kernel:
        source, kernel = Source.KERNEL, args.kernel
    else:
        kernel = ""
        source = Source.ISO if args.iso else Source.IMPORT if args.import_disk else Source.PXE
    if (args.initrd or args.cmdline) and source is not Source.KERNEL:
        raise ValueError("--initrd and --cmdline only go with --kernel.")
    disk_kind, disk_path, size = DiskKind.NONE, "", 0
    if args.import_disk:
        disk_kind, disk_path = DiskKind.EXISTING, args.import_disk
    elif args.disk:
        disk_kind, disk_path = DiskKind.EXISTING, args.disk
    elif args.disk_pool:
        disk_kind = DiskKind.NEW
        if not args.disk_size:
            raise ValueError("A new disk in a pool needs --disk-size, for example 8G.")
        size = parse_size_mib(args.disk_size, "disk size")
    elif args.disk_size:
        raise ValueError("--disk-size needs --disk-pool to say where the new volume goes.")
    if args.no_network:
        net, net_source = NetKind.NONE, ""
    elif args.bridge:
        net, net_source = NetKind.BRIDGE, args.bridge
    else:
        net, net_source = NetKind.NETWORK, args.network or "default"
    return VMSpec(
        name=args.name,
        memory_mib=parse_size_mib(args.memory, "memory"),
        vcpus=validate.vcpus(args.vcpus),
        source=source,
        iso=args.iso or "",
        kernel=kernel,
        initrd=args.initrd,
        cmdline=args.cmdline,
        disk=disk_kind,
        disk_pool=args.disk_pool or "",
        disk_size_mib=size,
        disk_format=args.disk_format,
        disk_path=disk_path,
        net=net,
        net_source=net_source,
        serial=not args.no_serial,
        graphics=args.graphics,
        os_hint=args.os,
        domain_type=args.virt_type,
    )


def run_create(args: argparse.Namespace) -> int:
    try:
        spec = spec_from_args(args)
    except ValueError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    edited = ""
    if args.xml_file:
        try:
            edited = Path(args.xml_file).read_text()
        except OSError as exc:
            raise CLIError(f"Could not read {args.xml_file}: {exc.strerror}.") from None
    with chosen_host(args) as worker:
        label = worker.label
        if args.print_xml:
            print(wait(ops.preview(worker, spec), args.timeout, label))
            return EXIT_OK
        refuse_readonly(args, worker.readonly, f"create {spec.name}")
        done = wait(ops.create(worker, spec, xml=edited, start=args.start), args.timeout, label)
    record: dict[str, object] = {
        "name": done.name,
        "state": done.state,
        "uuid": done.uuid,
        "disk": done.disk_path,
        "message": done.message,
    }
    disk = f", disk {done.disk_path}" if done.disk_path else ""
    emit(args, [record], [f"{done.name}: {done.state}, uuid {done.uuid}{disk}. {done.message}"],
         single=True)
    return EXIT_OK


def run_clone(args: argparse.Namespace) -> int:
    with chosen_vm(args) as (worker, vm):
        refuse_readonly(args, worker.readonly, f"clone {vm.name}")
        message = wait(vms.clone(worker, vm, args.new_name), args.timeout, vm.host_id)
    emit(args, [{"name": args.new_name, "state": "shut off", "message": message}],
         [f"{args.new_name}: shut off. {message}"], single=True)
    return EXIT_OK
