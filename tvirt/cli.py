"""The `tvirt` command: the TUI by default, plain line-oriented subcommands otherwise."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict
from typing import NoReturn, Protocol

from tvirt import __version__, config, pipes, plain
from tvirt.actions import Action
from tvirt.errors import os_sentence
from tvirt.inventory import Inventory
from tvirt.keys import all_keys, display
from tvirt.manager import HostManager, choose_uris
from tvirt.model import HostInfo, HostState, VMInfo, VMState
from tvirt.readonly import refusal
from tvirt.uri import URIError
from tvirt.words import plural

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_CONNECT = 0, 1, 2, 3
OUTPUT_FAILED = "Could not write the output to"
_STATE_WORDS = tuple(dict.fromkeys(state.word for state in VMState))
LIFECYCLE = ("start", "shutdown", "reboot", "destroy", "suspend", "resume")
# Modules under tvirt/ with register(subparsers); see _feature_modules.
FEATURE_COMMANDS: tuple[str, ...] = (
    "watch_commands",
    "shell",
    "console_commands",
    "create_commands",
    "hw_commands",
    "snapshot_commands",
    "net_commands",
    "gluster_commands",
    "storage_commands",
    "migrate_commands",
)


class CommandModule(Protocol):
    def register(self, sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


class CLIError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


class SentenceParser(argparse.ArgumentParser):
    """Usage errors as one sentence on stderr, like every other tvirt error."""

    def error(self, message: str) -> NoReturn:
        sentence = f"{message[:1].upper()}{message[1:]} (see {self.prog} --help)."
        self.exit(EXIT_USAGE, f"tvirt: {sentence}\n")


def build_parser() -> argparse.ArgumentParser:
    # Typed as the base class so feature modules share one register() signature;
    # subparsers are SentenceParsers too (argparse uses type(parser)).
    parser: argparse.ArgumentParser = SentenceParser(
        prog="tvirt",
        description="A terminal virtualization console. Without a command it opens the "
        "full-screen app; with one it prints plain lines (or --json).",
    )
    parser.add_argument("--version", action="version", version=f"tvirt {__version__}")
    parser.add_argument(
        "-c",
        "--connect",
        action="append",
        default=[],
        metavar="URI",
        help="libvirt URI to open; repeat for several hosts",
    )
    parser.add_argument("--readonly", action="store_true", help="refuse every change")
    parser.add_argument("--json", action="store_true", help="print JSON instead of lines")
    parser.add_argument(
        "--screen-reader",
        action="store_true",
        help="full-screen app for screen readers and braille displays: the terminal "
        "cursor follows the focus and nothing redraws by itself",
    )
    parser.add_argument(
        "--theme",
        default="",
        metavar="NAME",
        help="colour theme of the full-screen app: dark, light, high-contrast, ansi "
        "(the terminal's own colours) or a theme file's name",
    )
    parser.add_argument(
        "--interval",
        type=_interval,
        default=None,
        metavar="SECONDS",
        help="seconds between live stats samples in the full-screen app, "
        f"{config.MIN_INTERVAL:g} to {config.MAX_INTERVAL:g} (default: the config's [ui] "
        f"interval, else {config.DEFAULT_INTERVAL:g})",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for hosts (default 30)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    hosts = sub.add_parser("hosts", help="list connected hosts")
    hosts.add_argument("--host", help="only this host: its label, URI or hostname")
    listing = sub.add_parser("list", help="list VMs on every host")
    listing.add_argument(
        "--state",
        type=_state_word,
        help=f"only VMs in this state: {', '.join(_STATE_WORDS)}",
    )
    listing.add_argument("--host", help="only VMs on this host: its label, URI or hostname")
    info = sub.add_parser("info", help="show one VM")
    info.add_argument("vm")
    info.add_argument("--host", help="host label, URI or hostname when names clash")
    for name in LIFECYCLE:
        cmd = sub.add_parser(name, help=f"{Action.from_name(name).verb} VMs")
        cmd.add_argument("vms", nargs="+", metavar="VM")
        cmd.add_argument("--host")
    auto = sub.add_parser("autostart", help="turn autostart on or off")
    auto.add_argument("vm")
    auto.add_argument("setting", choices=["on", "off"])
    auto.add_argument("--host")
    delete = sub.add_parser("delete", help="delete (undefine) a VM")
    delete.add_argument("vm")
    delete.add_argument("--host")
    delete.add_argument("--remove-storage", action="store_true", help="also delete its disks")
    delete.add_argument("--yes", action="store_true", help="confirm without asking")
    sub.add_parser("keys", help="list every key binding of the full-screen app")
    for module in _feature_modules():
        module.register(sub)
    _globals_after_command(parser)
    return parser


def _state_word(text: str) -> str:
    """--state: a state word as `list` prints it ("shut off"; "shutoff" is accepted too)."""
    wanted = "".join(text.lower().split())
    for word in _STATE_WORDS:
        if word.replace(" ", "") == wanted:
            return word
    raise argparse.ArgumentTypeError(
        f"{text!r} is not a VM state; use one of: {', '.join(_STATE_WORDS)}"
    )


def _globals_after_command(parser: argparse.ArgumentParser) -> None:
    """Accept the global options after the command too (`tvirt list --json -c URI`), on
    every subcommand at every depth, so new commands get them without doing anything.

    The defaults are SUPPRESS so an option not repeated after the command keeps the value
    given before it; -c after the command collects into late_connect, which main() adds
    to the -c URIs given before it. Options a command defines itself are left alone."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for command in action.choices.values():
            have = command._option_string_actions
            group = command.add_argument_group("global options (also before the command)")
            if "-c" not in have and "--connect" not in have:
                group.add_argument("-c", "--connect", dest="late_connect", action="append",
                                   default=argparse.SUPPRESS, metavar="URI",
                                   help="libvirt URI to open; repeat for several hosts")
            if "--readonly" not in have:
                group.add_argument("--readonly", action="store_true",
                                   default=argparse.SUPPRESS, help="refuse every change")
            if "--json" not in have:
                group.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                                   help="print JSON instead of lines")
            if "--timeout" not in have:
                group.add_argument("--timeout", type=float, default=argparse.SUPPRESS,
                                   metavar="SECONDS", help="seconds to wait for hosts")
            _globals_after_command(command)


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"the stats interval must be a number of seconds, not {text!r}"
        ) from None
    problem = config.interval_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


def _feature_modules() -> list[CommandModule]:
    """Feature commands live in their own modules; each adds its subcommands here and
    sets ``run`` to its handler, which gets the parsed args and returns an exit code."""
    import importlib

    return [importlib.import_module(f"tvirt.{name}") for name in FEATURE_COMMANDS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.connect = [*args.connect, *getattr(args, "late_connect", [])]
    # raw_output: a command that must pass a terminal stream through (a serial console)
    # sets it with set_defaults(raw_output=True) and takes care of plain mode itself.
    if args.command is None and not plain.reason():
        return _main(args)
    try:
        with pipes.guarded():
            if getattr(args, "raw_output", False):
                return _main(args)
            # Commands print words only: no escape sequences or control bytes, ever.
            with plain.filtered():
                return _main(args)
    except pipes.OutputError as exc:  # the last flush of the output failed (a full disk)
        print(f"tvirt: {os_sentence(exc, OUTPUT_FAILED)}", file=sys.stderr)
        return EXIT_FAILED


def _main(args: argparse.Namespace) -> int:
    try:
        if args.command is None:
            why = plain.reason()
            if why:
                # No full-screen app without a real terminal: the line shell instead.
                print(f"Plain mode ({why}): starting the line shell, tvirt shell.")
                from tvirt.shell import run_shell

                return run_shell(args)
            return _run_tui(args)
        if args.command == "keys":
            return _keys(args)
        run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
        if run is not None:
            return run(args)
        return _run_command(args)
    except CLIError as exc:
        print(f"tvirt: {exc}", file=sys.stderr)
        return exc.code
    except config.ConfigError as exc:
        print(f"tvirt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Raw output (a console's bytes) bypasses the guard; the reader left: stop quietly.
        pipes.reader_gone(sys.stdout)
        return EXIT_OK
    except pipes.OutputError as exc:
        print(f"tvirt: {os_sentence(exc, OUTPUT_FAILED)}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(f"tvirt: {os_sentence(exc)}", file=sys.stderr)
        return EXIT_FAILED


def _run_tui(args: argparse.Namespace) -> int:
    # Imported here so the core and the plain commands never load textual.
    from tvirt.screens.app import run_app

    code: int = run_app(
        connect=args.connect,
        readonly=args.readonly,
        interval=args.interval,
        screen_reader=args.screen_reader,
        theme=args.theme,
    )
    return code


def _keys(args: argparse.Namespace) -> int:
    keys = all_keys()
    if args.json:
        print(json.dumps([{**asdict(k), "key": display(k.key)} for k in keys], indent=2))
    else:
        for k in keys:
            print(f"{display(k.key)}: {k.description} ({k.where})")
    return EXIT_OK


def connect(args: argparse.Namespace) -> tuple[HostManager, Inventory]:
    """Open the chosen URIs and wait until each host is listed or has failed.

    For commands: hosts never reconnect. The caller must stop the manager.
    """
    cfg = config.load()
    uris, _source = choose_uris(args.connect, cfg)
    inventory = Inventory()
    manager = HostManager(inventory.apply, readonly=args.readonly or cfg.readonly, reconnect=False)
    try:
        for uri in uris:
            manager.add(uri)
    except URIError as exc:
        manager.stop()
        raise CLIError(str(exc), EXIT_USAGE) from None
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        hosts = {h.host_id: h for h in inventory.host_list()}
        settled = [
            host_id in inventory.listed
            or (host_id in hosts and hosts[host_id].state is HostState.FAILED)
            for host_id in manager.workers
        ]
        if all(settled):
            break
        time.sleep(0.02)
    return manager, inventory


def _run_command(args: argparse.Namespace) -> int:
    manager, inventory = connect(args)
    try:
        failed_hosts = [h for h in inventory.host_list() if h.state is not HostState.CONNECTED]
        for host in failed_hosts:
            print(f"tvirt: {host.label}: {host.error or host.state.word}", file=sys.stderr)
        if args.command == "hosts":
            _drain(manager, args.timeout)
            shown = _only_host(inventory.host_list(), args.host)
            _print_hosts(shown, args.json)
            return EXIT_CONNECT if any(h in failed_hosts for h in shown) else EXIT_OK
        if failed_hosts and len(failed_hosts) == len(manager.workers):
            return EXIT_CONNECT
        if args.command == "list":
            wanted = {h.host_id for h in _only_host(inventory.host_list(), args.host)}
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


def _only_host(hosts: list[HostInfo], wanted: str | None) -> list[HostInfo]:
    """The hosts --host names (all without it); naming none is a usage error."""
    if not wanted:
        return hosts
    chosen = [h for h in hosts if h.matches(wanted)]
    if not chosen:
        labels = ", ".join(h.label for h in hosts) or "none"
        raise CLIError(f"No host called '{wanted}'; the hosts are: {labels}.", EXIT_USAGE)
    return chosen


def _drain(manager: HostManager, timeout: float) -> None:
    """Wait until each connected worker has run what it queued after listing (its version)."""
    for worker in manager.workers.values():
        if worker.info.state is HostState.CONNECTED:
            with contextlib.suppress(Exception):
                worker.call(lambda _conn: None).result(timeout)


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
        future = manager.get(vm.host_id).act(
            action, vm.uuid, remove_storage=getattr(args, "remove_storage", False)
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


def one_vm(inventory: Inventory, name: str, host: str | None) -> VMInfo:
    if host:
        _only_host(inventory.host_list(), host)
    found = inventory.find(name, host)
    if not found:
        where = f" on {host}" if host else ""
        raise CLIError(f"No VM called '{name}'{where}.", EXIT_FAILED)
    if len(found) > 1:
        labels = {h.host_id: h.label for h in inventory.host_list()}
        hosts = ", ".join(
            sorted(f"{labels.get(vm.host_id, vm.host_id)} ({vm.host_id})" for vm in found)
        )
        raise CLIError(
            f"'{name}' exists on several hosts: {hosts}; pick one with --host and its "
            "label or URI.",
            EXIT_USAGE,
        )
    return found[0]


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
