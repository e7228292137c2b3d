"""Plain commands: `tvirt gluster volumes|bricks|heal|peers|create`, `tvirt disks HOST` and
`tvirt wipe HOST DEVICE --method M`.

HOST is a libvirt URI, `localhost`, or the host name or label of a chosen connection.
Commands run on that host: locally for qemu:///system, over ssh for qemu+ssh://.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from tvirt import bricks, config, disks, gluster, wipe
from tvirt.manager import choose_uris
from tvirt.remote import RemoteError, Runner, runner_for
from tvirt.uri import SYSTEM_URI, ParsedURI, URIError, parse_uri
from tvirt.words import plural

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
YES_PREFIX = "--yes-i-mean-"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    top = sub.add_parser("gluster", help="Gluster volumes, bricks, heal info and peers")
    what = top.add_subparsers(dest="gluster_command", metavar="WHAT", required=True)
    for name, text in (
        ("volumes", "volumes: type, replica count, status, options of note, pools"),
        ("bricks", "bricks: online or offline, port, pid, device, filesystem, sizes"),
        ("heal", "pending heal entries and split-brain per brick"),
        ("peers", "peers and their state"),
    ):
        cmd = what.add_parser(name, help=text)
        _common(cmd)
        cmd.set_defaults(run=run_gluster)
    create = what.add_parser(
        "create",
        help="make bricks on safe disks and a started replica-3 volume (the wizard)",
    )
    create.add_argument("volume")
    create.add_argument(
        "bricks", nargs=3, metavar="HOST:DEVICE", help="three safe disks, e.g. node1:/dev/sdb"
    )
    create.add_argument("--layout", choices=[x.value for x in bricks.Layout], default="lvm-thin")
    create.add_argument("--arbiter", action="store_true", help="the third brick is an arbiter")
    create.add_argument("--pool", choices=[x.value for x in bricks.PoolType], default="none")
    create.add_argument("--pool-name", default="")
    create.add_argument("--dry-run", action="store_true", help="print every command only")
    create.add_argument("--yes", action="store_true", help="do not ask before creating")
    create.add_argument(
        "--undo-on-failure", action="store_true", help="undo what was made if a step fails"
    )
    _common(create)
    create.set_defaults(run=run_create)

    listing = sub.add_parser("disks", help="a host's block devices: safe or unsafe to wipe")
    listing.add_argument("host", metavar="HOST")
    _common(listing)
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
    _common(wiping)
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


def _common(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")


# ----- hosts ------------------------------------------------------------------------------


def resolve(args: argparse.Namespace, text: str) -> ParsedURI:
    """A HOST argument as the connection URI whose host runs the commands."""
    from tvirt.cli import CLIError

    try:
        if "://" in text:
            return parse_uri(text)
        if text in {"localhost", "local"}:
            return parse_uri(SYSTEM_URI)
        uris, _ = choose_uris(args.connect, config.load())
        for uri in [*uris, *config.load().uris]:
            parsed = parse_uri(uri)
            if text in {parsed.host, parsed.label, parsed.uri} and parsed.driver != "test":
                return parsed
    except URIError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    raise CLIError(
        f"No connection to '{text}'; give a URI such as qemu+ssh://root@{text}/system.",
        EXIT_USAGE,
    )


def _runner(uri: ParsedURI) -> Runner:
    from tvirt.cli import CLIError

    try:
        return runner_for(uri)
    except RemoteError as exc:
        raise CLIError(str(exc)) from None


def libvirt_facts(
    args: argparse.Namespace, uri: ParsedURI, fn: Callable[[Any], Any]
) -> tuple[Any, str]:
    """Run fn(conn) on a connection to uri; the result, or None and why it failed."""
    from tvirt.cli import connect

    sub_args = argparse.Namespace(**{**vars(args), "connect": [uri.uri]})
    manager, inventory = connect(sub_args)
    try:
        worker = manager.get(uri.uri)
        host = inventory.hosts.get(uri.uri)
        if host is None or host.state.word != "connected":
            return None, (host.error if host else "") or f"no libvirt connection to {uri.label}"
        return worker.call(fn).result(timeout=args.timeout), ""
    except FutureTimeout:
        return None, f"no answer from {uri.label} within {args.timeout:g} s"
    except Exception as exc:
        return None, str(exc).strip()
    finally:
        manager.stop()


def _readonly(args: argparse.Namespace) -> bool:
    return bool(args.readonly or config.load().readonly)


# ----- gluster ----------------------------------------------------------------------------


def _gluster_hosts(args: argparse.Namespace) -> list[ParsedURI]:
    uris, _ = choose_uris(args.connect, config.load())
    found = [parse_uri(u) for u in uris]
    return [u for u in found if u.driver != "test"] or [parse_uri(SYSTEM_URI)]


def run_gluster(args: argparse.Namespace) -> int:
    from tvirt.cli import CLIError

    what: str = args.gluster_command
    records: list[dict[str, Any]] = []
    lines: list[str] = []
    failed = False
    for uri in _gluster_hosts(args):
        state = gluster.collect(_runner(uri), heal=what == "heal")
        if state.error:
            print(f"tvirt: {state.error}", file=sys.stderr)
            failed = True
            continue
        pools: dict[str, list[str]] = {}
        if what == "volumes":
            got, _why = libvirt_facts(args, uri, gluster.pools_by_volume)
            pools = got or {}
        for vol in state.volumes:
            vol.pools = pools.get(vol.name, [])
        recs, text = _records(what, state)
        # "host" means the same in all JSON: the label screens show, with the URI beside it.
        records += [{**rec, "host": uri.label, "uri": uri.uri} for rec in recs]
        lines += text
    if failed and not records:
        raise CLIError("No Gluster facts could be read.")
    if getattr(args, "json", False):
        print(json.dumps(records, indent=2))
    else:
        print("\n".join(lines)) if lines else None
    return EXIT_FAILED if failed else EXIT_OK


def _records(what: str, state: gluster.GlusterState) -> tuple[list[dict[str, Any]], list[str]]:
    recs: list[dict[str, Any]] = []
    lines: list[str] = []
    if what == "volumes":
        for v in state.volumes:
            opts = ", ".join(f"{k}={val}" for k, val in v.notable.items())
            recs.append(
                {
                    "name": v.name,
                    "state": v.state,
                    "host": state.host,
                    "type": v.type,
                    "replica": v.replica,
                    "arbiter": v.arbiter,
                    "bricks": len(v.bricks),
                    "options": v.notable,
                    "pools": v.pools,
                }
            )
            lines.append(
                f"{v.name}: {v.state}, {v.type.lower()}, replica {v.replica}"
                + (f" arbiter {v.arbiter}" if v.arbiter else "")
                + f", {plural(len(v.bricks), 'brick')}, pools {', '.join(v.pools) or 'none'}"
                + (f", {opts}" if opts else "")
            )
    elif what in {"bricks", "heal"}:
        for b in state.bricks():
            rec = {
                "name": b.name,
                "state": b.state,
                "volume": b.volume,
                "port": b.port,
                "pid": b.pid,
                "device": b.device,
                "filesystem": b.filesystem,
                "size": b.size,
                "free": b.free,
                "arbiter": b.arbiter,
            }
            if what == "heal":
                rec = {
                    "name": b.name,
                    "state": b.state,
                    "volume": b.volume,
                    "pending": b.heal_pending,
                    "split_brain": b.split_brain,
                }
                lines.append(
                    f"{b.name}: {b.state}, volume {b.volume}, "
                    f"{_count(b.heal_pending)} pending heal, {_count(b.split_brain)} split-brain"
                )
            else:
                lines.append(
                    f"{b.name}: {b.state}, volume {b.volume}, port {b.port or 'none'}, "
                    f"pid {b.pid or 'none'}, device {b.device or 'unknown'}, "
                    f"{b.filesystem or 'unknown fs'}, {_size(b.size)} size, {_size(b.free)} free"
                    + (", arbiter" if b.arbiter else "")
                )
            recs.append(rec)
    else:
        for p in state.peers:
            recs.append({"name": p.hostname, "state": p.word, "uuid": p.uuid, "peer": p.state})
            lines.append(
                f"{p.hostname}: {p.word}, uuid {p.uuid}" + (f", {p.state}" if p.state else "")
            )
    return recs, lines


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def _size(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{value} B"


# ----- disks and wipe ---------------------------------------------------------------------


def host_devices(args: argparse.Namespace, uri: ParsedURI) -> tuple[Runner, list[disks.Device]]:
    from tvirt.cli import CLIError

    runner = _runner(uri)
    vm_sources, why = libvirt_facts(args, uri, disks.vm_disks)
    nodedevs, _ = libvirt_facts(args, uri, disks.node_devices) if not why else ({}, "")
    if why:
        print(
            f"tvirt: VM disks on {uri.label} unknown ({why}); every device counts as unknown.",
            file=sys.stderr,
        )
    try:
        return runner, disks.inventory(runner, vm_sources, nodedevs or {})
    except RemoteError as exc:
        raise CLIError(str(exc)) from None


def run_disks(args: argparse.Namespace) -> int:
    uri = resolve(args, args.host)
    _, devices = host_devices(args, uri)
    if getattr(args, "json", False):
        print(json.dumps([d.as_dict() for d in devices], indent=2))
        return EXIT_OK
    for d in devices:
        extra = f", {d.model}" if d.model else ""
        print(f"{d.path}: {d.safety.value}, {_size(d.size)}{extra}, {d.reason}")
    return EXIT_OK


def run_wipe(args: argparse.Namespace) -> int:
    from tvirt.cli import CLIError

    uri = resolve(args, args.host)
    runner, devices = host_devices(args, uri)
    device = disks.find(devices, args.device)
    method = wipe.Method(args.method)
    as_json = getattr(args, "json", False)
    if args.dry_run:
        try:
            report = wipe.wipe(runner, device, args.device, method, "", dry_run=True)
        except wipe.WipeRefused as exc:
            raise CLIError(str(exc)) from None
        if device is not None and device.safety is not disks.Safety.SAFE:
            print(
                f"tvirt: {device.path} is {device.safety.value}: {device.reason}; "
                "a real wipe is refused.",
                file=sys.stderr,
            )
        _print_report(report, as_json)
        return EXIT_OK
    confirm = args.yes_i_mean
    try:
        wipe.check(device, args.device, device.path if device else "", _readonly(args))
    except wipe.WipeRefused as exc:
        raise CLIError(str(exc)) from None
    assert device is not None
    if not confirm:
        if not sys.stdin.isatty():
            raise CLIError(
                f"Wiping needs {YES_PREFIX}{device.path} when there is no terminal to ask.",
                EXIT_USAGE,
            )
        print(f"{device.path} on {runner.host}: {_size(device.size)}, {device.reason}.")
        confirm = input(f"Type {device.path} to wipe it ({method.value}): ").strip()

    def progress(p: wipe.Progress) -> None:
        if not as_json:
            print(f"{device.path}: zeroing, {p.percent:.0f}%, {p.rate}", flush=True)

    try:
        report = wipe.wipe(
            runner,
            device,
            args.device,
            method,
            confirm,
            current=lambda: disks.find(host_devices(args, uri)[1], device.path),
            readonly=_readonly(args),
            on_progress=progress,
        )
    except wipe.WipeRefused as exc:
        raise CLIError(str(exc)) from None
    except RemoteError as exc:
        raise CLIError(str(exc)) from None
    _print_report(report, as_json)
    return EXIT_OK if report.ok and report.verified else EXIT_FAILED


def _print_report(report: wipe.WipeReport, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "name": report.device,
                    "state": _state(report),
                    "host": report.host,
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


# ----- the wizard as a command -----------------------------------------------------------


def run_create(args: argparse.Namespace) -> int:
    from tvirt.cli import CLIError

    hosts: dict[str, tuple[ParsedURI, Runner, list[disks.Device]]] = {}
    specs = []
    for item in args.bricks:
        host, sep, path = item.rpartition(":")
        if not sep or not host or not path:
            raise CLIError(f"'{item}' is not HOST:DEVICE.", EXIT_USAGE)
        if host not in hosts:
            uri = resolve(args, host)
            hosts[host] = (uri, *host_devices(args, uri))
        uri, runner, devices = hosts[host]
        device = disks.find(devices, path)
        if device is None:
            raise CLIError(f"{path} is not a whole block device on {host}.")
        gluster_host = uri.host or _hostname(runner)
        specs.append(bricks.BrickSpec(runner, device, gluster_host))
    wizard = bricks.Wizard(
        args.volume,
        specs,
        layout=bricks.Layout(args.layout),
        arbiter=args.arbiter,
        pool=bricks.PoolType(args.pool),
        pool_name=args.pool_name,
        readonly=_readonly(args),
    )
    try:
        steps = wizard.plan()
    except bricks.PlanError as exc:
        raise CLIError(str(exc)) from None
    if args.dry_run:
        for step in steps:
            print(f"{step.host}: would run {step.command}")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            raise CLIError(
                "Creating bricks needs --yes when there is no terminal to ask.", EXIT_USAGE
            )
        count = plural(len(steps), "step")
        answer = input(f"Create volume {args.volume} ({count})? Type its name: ")
        if answer.strip() != args.volume:
            raise CLIError("Nothing was created.")
    first_uri = hosts[next(iter(hosts))][0]

    def call(fn: Callable[[Any], Any]) -> Any:
        result, why = libvirt_facts(args, first_uri, fn)
        if why:
            raise RuntimeError(why)
        return result

    def fresh(runner: Runner) -> list[disks.Device]:
        host = next(h for h, (_, r, _) in hosts.items() if r is runner)
        return host_devices(args, hosts[host][0])[1]

    outcome = bricks.execute(
        steps,
        call,
        on_step=_say,
        subject=args.volume,
        recheck=lambda: bricks.changed(wizard.bricks, fresh),
    )
    if outcome.ok:
        print(f"{args.volume}: started, {plural(len(steps), 'step')} done")
        return EXIT_OK
    for line in outcome.summary():
        print(line, file=sys.stderr)
    if args.undo_on_failure:
        bricks.undo(outcome, call, subject=args.volume)
        for line in outcome.undone:
            print(f"undone: {line}", file=sys.stderr)
        for line in outcome.undo_errors:
            print(f"not undone: {line}", file=sys.stderr)
    else:
        print(
            "tvirt: run again with --undo-on-failure to remove what was made, or undo "
            "the done steps above by hand.",
            file=sys.stderr,
        )
    return EXIT_FAILED


def _say(step: bricks.Step, state: str) -> None:
    if state != "running":
        print(f"{step.host}: {state}: {step.what}", flush=True)


def _hostname(runner: Runner) -> str:
    result = runner.run(["hostname"])
    return result.out.strip() or runner.host
