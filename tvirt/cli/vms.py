"""`tvirt hosts`, `list`, `info`, the lifecycle actions (`start`, `shutdown`, ...),
`autostart` and `delete`: the hosts and their VMs, each action through HostWorker.act."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from concurrent.futures import TimeoutError as FutureTimeout

from tvirt.actions import Action
from tvirt.cli.plumbing import (
    EXIT_CONNECT,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CLIError,
    connect,
    one_vm,
    only_host,
)
from tvirt.inventory import Inventory
from tvirt.manager import HostManager
from tvirt.model import HostInfo, HostState, VMInfo, VMState
from tvirt.ops import vms
from tvirt.readonly import refusal
from tvirt.words import plural

STATE_WORDS = tuple(dict.fromkeys(state.word for state in VMState))
LIFECYCLE = ("start", "shutdown", "reboot", "destroy", "suspend", "resume")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hosts = sub.add_parser("hosts", help="list connected hosts")
    hosts.add_argument("--host", help="only this host: its label, URI or hostname")
    listing = sub.add_parser("list", help="list VMs on every host")
    listing.add_argument(
        "--state",
        type=_state_word,
        help=f"only VMs in this state: {', '.join(STATE_WORDS)}",
    )
    listing.add_argument("--host", help="only VMs on this host: its label, URI or hostname")
    info = sub.add_parser("info", help="show one VM")
    info.add_argument("vm")
    info.add_argument("--host", help="host label, URI or hostname when names clash")
    actions = []
    for name in LIFECYCLE:
        cmd = sub.add_parser(name, help=f"{Action.from_name(name).verb} VMs")
        cmd.add_argument("vms", nargs="+", metavar="VM")
        cmd.add_argument("--host")
        actions.append(cmd)
    auto = sub.add_parser("autostart", help="turn autostart on or off")
    auto.add_argument("vm")
    auto.add_argument("setting", choices=["on", "off"])
    auto.add_argument("--host")
    delete = sub.add_parser("delete", help="delete (undefine) a VM")
    delete.add_argument("vm")
    delete.add_argument("--host")
    delete.add_argument("--remove-storage", action="store_true", help="also delete its disks")
    delete.add_argument("--yes", action="store_true", help="confirm without asking")
    for parser in (hosts, listing, info, *actions, auto, delete):
        parser.set_defaults(run=run)


def _state_word(text: str) -> str:
    """--state: a state word as `list` prints it ("shut off"; "shutoff" is accepted too)."""
    wanted = "".join(text.lower().split())
    for word in STATE_WORDS:
        if word.replace(" ", "") == wanted:
            return word
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a VM state; use one of: {', '.join(STATE_WORDS)}"
    )


def run(args: argparse.Namespace) -> int:
    manager, inventory = connect(args)
    try:
        failed_hosts = [h for h in inventory.host_list() if h.state is not HostState.CONNECTED]
        for host in failed_hosts:
            print(f"tvirt: {host.label}: {host.error or host.state.word}", file=sys.stderr)
        if args.command == "hosts":
            _drain(manager, args.timeout)
            # In the order the hosts were given (config, then -c), not the order they answered.
            order = {host_id: i for i, host_id in enumerate(manager.workers)}
            listed = sorted(inventory.host_list(), key=lambda h: order.get(h.host_id, len(order)))
            shown = only_host(listed, args.host)
            _print_hosts(shown, args.json)
            return EXIT_CONNECT if any(h in failed_hosts for h in shown) else EXIT_OK
        if failed_hosts and len(failed_hosts) == len(manager.workers):
            return EXIT_CONNECT
        if args.command == "list":
            wanted = {h.host_id for h in only_host(inventory.host_list(), args.host)}
            vms = [vm for vm in inventory.vm_list() if vm.host_id in wanted]
            if args.state:
                vms = [vm for vm in vms if vm.state.word == args.state]
            _print_vms(vms, inventory, args.json)
            return EXIT_OK
        if args.command == "info":
            vm = one_vm(inventory, args.vm, args.host)
            _print_vms([vm], inventory, args.json, detail=True)
            return EXIT_OK
        return _act(args, manager, inventory)
    finally:
        manager.stop()


def _drain(manager: HostManager, timeout: float) -> None:
    """Wait until each connected worker has run what it queued after listing (its version)."""
    for worker in manager.workers.values():
        if worker.info.state is HostState.CONNECTED:
            with contextlib.suppress(Exception):
                vms.settled(worker).result(timeout)


def _act(args: argparse.Namespace, manager: HostManager, inventory: Inventory) -> int:
    if args.command == "autostart":
        jobs = [(Action.AUTOSTART_ON if args.setting == "on" else Action.AUTOSTART_OFF, args.vm)]
    elif args.command == "delete":
        # Refused before asking: a question whose answer cannot matter wastes the user's time.
        if manager.readonly:
            raise CLIError(refusal(f"delete {args.vm}"), EXIT_FAILED)
        if not args.yes and not _confirm_delete(args.vm, args.remove_storage):
            raise CLIError("Nothing was deleted.", EXIT_FAILED)
        jobs = [(Action.DELETE, args.vm)]
    else:
        jobs = [(Action.from_name(args.command), name) for name in args.vms]
    targets = [(action, one_vm(inventory, name, args.host)) for action, name in jobs]
    code, results = EXIT_OK, []
    for action, vm in targets:
        future = vms.act(
            manager.get(vm.host_id), action, vm.uuid,
            remove_storage=getattr(args, "remove_storage", False),
        )
        try:
            result = future.result(timeout=args.timeout)
        except FutureTimeout:
            raise CLIError(f"No answer from {vm.host_id} within {args.timeout:g} s.") from None
        results.append(result)
        if not result.ok:
            code = EXIT_FAILED
        if not args.json:
            print(result.message, file=sys.stdout if result.ok else sys.stderr)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "vm": r.vm_name,
                        "host": r.host_label,
                        "uri": r.host_id,
                        "action": r.action.value,
                        "ok": r.ok,
                        "message": r.message,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    return code


def _confirm_delete(name: str, storage: bool) -> bool:
    if not sys.stdin.isatty():
        raise CLIError("Deleting needs --yes when there is no terminal to ask.", EXIT_USAGE)
    what = f"{name} and its storage" if storage else name
    answer = input(f"Delete {what}? Type the VM name to confirm: ")
    return answer.strip() == name


def _print_hosts(hosts: list[HostInfo], as_json: bool) -> None:
    if as_json:
        print(json.dumps([_host_dict(h) for h in hosts], indent=2))
        return
    for h in hosts:
        parts = [h.label, h.state.word, f"uri {h.uri}"]
        if h.state is HostState.CONNECTED:
            parts += [
                f"{h.hypervisor} {h.hv_version}",
                plural(h.cpus, "CPU"),
                f"{h.memory_kib // 1024} MiB",
                plural(h.vm_count, "VM"),
            ]
        if h.demo:
            parts.append("demo connection")
        if h.readonly:
            parts.append("read-only")
        if h.error:
            parts.append(h.error)
        print(", ".join(parts))


def _host_dict(h: HostInfo) -> dict[str, object]:
    return {
        "label": h.label,
        "uri": h.uri,
        "state": h.state.word,
        "demo": h.demo,
        "readonly": h.readonly,
        "hypervisor": h.hypervisor,
        "hypervisor_version": h.hv_version,
        "libvirt_version": h.libvirt_version,
        "hostname": h.hostname,
        "cpus": h.cpus,
        "memory_kib": h.memory_kib,
        "vm_count": h.vm_count,
        "error": h.error,
    }


def _vm_dict(vm: VMInfo, inventory: Inventory) -> dict[str, object]:
    host = inventory.hosts.get(vm.host_id)
    return {
        "name": vm.name,
        "state": vm.state.word,
        "host": host.label if host else vm.host_id,
        "uri": vm.host_id,
        "uuid": vm.uuid,
        "vcpus": vm.vcpus,
        "memory_kib": vm.memory_kib,
        "autostart": vm.autostart,
        "persistent": vm.persistent,
    }


def _print_vms(
    vms: list[VMInfo], inventory: Inventory, as_json: bool, detail: bool = False
) -> None:
    if as_json:
        records = [_vm_dict(vm, inventory) for vm in vms]
        print(json.dumps(records[0] if detail else records, indent=2))
        return
    for vm in vms:
        d = _vm_dict(vm, inventory)
        vcpus = plural(vm.vcpus, "vCPU") if vm.vcpus is not None else "vCPUs unknown"
        line = (
            f"{vm.name}: {vm.state.word}, host {d['host']}, {vcpus}, "
            f"{(vm.memory_kib or 0) // 1024} MiB, autostart {'on' if vm.autostart else 'off'}"
        )
        if detail:
            line += f", uuid {vm.uuid}, {'persistent' if vm.persistent else 'transient'}"
        print(line)
