"""Plain commands: `tvirt gluster volumes|bricks|heal|peers|create`.

Gluster facts come from the chosen connections' hosts: locally for qemu:///system, over
ssh for qemu+ssh://. `create` runs the brick and volume wizard (tvirt.bricks) on
HOST:DEVICE disks that `tvirt disks` calls safe.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from tvirt import bricks, config, disks, gluster
from tvirt.cli.disks import host_devices, size_text
from tvirt.cli.plumbing import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    LONG_TIMEOUT,
    CLIError,
    command_host,
    json_option,
    readonly,
    resolve_host,
    wait,
)
from tvirt.manager import choose_uris
from tvirt.ops import bricks as brick_ops
from tvirt.ops import gluster as gluster_ops
from tvirt.ops.hostcmd import CommandHost
from tvirt.ops.run import refused
from tvirt.remote import Runner
from tvirt.uri import SYSTEM_URI, ParsedURI, parse_uri
from tvirt.words import plural


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
        json_option(cmd)
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
    json_option(create)
    create.set_defaults(run=run_create)


# ----- gluster ----------------------------------------------------------------------------


def _gluster_hosts(args: argparse.Namespace) -> list[ParsedURI]:
    uris, _ = choose_uris(args.connect, config.load())
    found = [parse_uri(u) for u in uris]
    return [u for u in found if u.driver != "test"] or [parse_uri(SYSTEM_URI)]


def run_gluster(args: argparse.Namespace) -> int:
    what: str = args.gluster_command
    records: list[dict[str, Any]] = []
    lines: list[str] = []
    failed = False
    for uri in _gluster_hosts(args):
        # Only `volumes` shows the libvirt pools on each volume: the others need no libvirt.
        with command_host(args, uri, libvirt_too=what == "volumes") as host:
            future = gluster_ops.collect(host, heal=what == "heal", pools=what == "volumes")
            state = wait(future, LONG_TIMEOUT, host.label)
        if state.error:
            print(f"tvirt: {state.error}", file=sys.stderr)
            failed = True
            continue
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
                    f"{b.filesystem or 'unknown fs'}, {size_text(b.size)} size, "
                    f"{size_text(b.free)} free"
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


# ----- the wizard as a command -----------------------------------------------------------


def run_create(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        hosts: dict[str, tuple[CommandHost, list[disks.Device]]] = {}
        specs = []
        for item in args.bricks:
            name, sep, path = item.rpartition(":")
            if not sep or not name or not path:
                raise CLIError(f"'{item}' is not HOST:DEVICE.", EXIT_USAGE)
            if name not in hosts:
                host = stack.enter_context(command_host(args, resolve_host(args, name)))
                # read-only mode refuses before any disk is read (a dry run too, as plan())
                if refusal := refused(host, f"create the bricks and volume {args.volume}"):
                    raise refusal
                hosts[name] = (host, host_devices(host))
            host, devices = hosts[name]
            device = disks.find(devices, path)
            if device is None:
                raise CLIError(f"{path} is not a whole block device on {name}.")
            runner = host.commands()
            specs.append(bricks.BrickSpec(runner, device, host.gluster_host or _hostname(runner)))
        wizard = bricks.Wizard(
            args.volume,
            specs,
            layout=bricks.Layout(args.layout),
            arbiter=args.arbiter,
            pool=bricks.PoolType(args.pool),
            pool_name=args.pool_name,
            readonly=readonly(args),
        )
        return _create(args, [h for h, _ in hosts.values()], wizard)


def _create(args: argparse.Namespace, hosts: list[CommandHost], wizard: bricks.Wizard) -> int:
    steps = brick_ops.plan(wizard)  # a PlanError ends the command through plumbing.report (1)
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
    run = brick_ops.execute(hosts, wizard, steps, on_step=_say)
    outcome = wait(run, LONG_TIMEOUT, hosts[0].label)
    if outcome.ok:
        print(f"{args.volume}: started, {plural(len(steps), 'step')} done")
        return EXIT_OK
    for line in outcome.summary():
        print(line, file=sys.stderr)
    if args.undo_on_failure:
        wait(brick_ops.undo(hosts, outcome, args.volume), LONG_TIMEOUT, hosts[0].label)
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
