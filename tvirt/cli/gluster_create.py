"""`tvirt gluster create` and `tvirt gluster undo`: the brick and volume wizard as commands.

The disks: `--hosts A,B,C` and one `--disk HOST=DEVICE` per host (HOST a name, label or
URI), or three HOST:DEVICE words. Every disk is read and classified on its host, the input
checked and the hosts surveyed (device-mapper, virt group file, peers, names resolved)
before anything runs: a refusal on any one host changes nothing on any host. `undo`
rebuilds the same plan from the same words and reverses every step of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

from tvirt import bricks, disks, hcsurvey
from tvirt.cli.disks import size_text
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
from tvirt.ops import bricks as brick_ops
from tvirt.ops import disks as disk_ops
from tvirt.ops.hostcmd import CommandHost
from tvirt.ops.run import refused
from tvirt.remote import Runner
from tvirt.words import plural

AUTO = "auto"


def add_arguments(cmd: argparse.ArgumentParser, undo: bool = False) -> None:
    cmd.add_argument("volume")
    cmd.add_argument(
        "bricks", nargs="*", metavar="HOST:DEVICE",
        help="three disks as HOST:DEVICE (or use --hosts and --disk)",
    )
    cmd.add_argument("--hosts", default="", help="three hosts, comma separated: node1,node2,node3")
    cmd.add_argument("--disk", action="append", default=[], metavar="HOST=DEVICE",
                     help="the disk of one host, e.g. node1=/dev/sdb (once per host)")
    cmd.add_argument("--layout", choices=[AUTO, *(x.value for x in bricks.Layout)], default=AUTO,
                     help="auto: LVM thin where the kernel has device-mapper, else plain XFS")
    cmd.add_argument("--arbiter", action="store_true", help="the third brick is an arbiter")
    cmd.add_argument("--pool", choices=[x.value for x in bricks.PoolType], default=None,
                     help="the pool on every host (default: netfs when the bricks are on "
                     "several hosts, else none)")
    cmd.add_argument("--pool-name", default="")
    if not undo:
        cmd.add_argument("--wipe", action=argparse.BooleanOptionalAction, default=True,
                         help="wipe each disk's signatures first (default)")
        cmd.add_argument("--virt", action=argparse.BooleanOptionalAction, default=True,
                         help="apply Gluster's virt profile to the volume (default)")
        cmd.add_argument(
            "--undo-on-failure", action="store_true", help="undo what was made if a step fails"
        )
    cmd.add_argument("--dry-run", action="store_true", help="print every command only")
    cmd.add_argument("--yes", action="store_true", help="do not ask (no typed name)")
    json_option(cmd)


def _disk_words(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(host word, device) per brick, from either form; bad input is a usage error."""
    if args.hosts or args.disk:
        if args.bricks:
            raise CLIError("Give the disks as --hosts and --disk, or as HOST:DEVICE words, "
                           "not both.", EXIT_USAGE)
        names = [h.strip() for h in args.hosts.split(",") if h.strip()]
        chosen: dict[str, str] = {}
        for item in args.disk:
            name, sep, path = item.rpartition("=")
            if not sep or not name or not path:
                raise CLIError(f"'{item}' is not HOST=DEVICE.", EXIT_USAGE)
            if name not in names:
                raise CLIError(f"--disk {item} names {name}, which --hosts does not list.",
                               EXIT_USAGE)
            if name in chosen:
                raise CLIError(f"{name} has two --disk options; give one disk per host.",
                               EXIT_USAGE)
            chosen[name] = path
        if len(set(names)) != 3 or len(names) != 3:
            raise CLIError(f"--hosts needs three different hosts; {len(names)} were given.",
                           EXIT_USAGE)
        if missing := [n for n in names if n not in chosen]:
            raise CLIError(f"No --disk for {', '.join(missing)}; give one per host.",
                           EXIT_USAGE)
        return [(n, chosen[n]) for n in names]
    if len(args.bricks) != 3:
        raise CLIError(f"Three disks are needed: --hosts A,B,C with --disk A=DEVICE for each, "
                       f"or three HOST:DEVICE words; {len(args.bricks)} were given.", EXIT_USAGE)
    words = []
    for item in args.bricks:
        name, sep, path = item.rpartition(":")
        if not sep or not name or not path:
            raise CLIError(f"'{item}' is not HOST:DEVICE.", EXIT_USAGE)
        words.append((name, path))
    return words


def _wizard(
    args: argparse.Namespace, stack: contextlib.ExitStack, change: str, checked: bool
) -> tuple[list[CommandHost], bricks.Wizard, list[str]]:
    """The hosts, the wizard with every choice made, and the survey's notes. Every host is
    asked before any is changed; a refusal raises."""
    words = _disk_words(args)
    bricks.check_name(args.volume)  # refused before any host is asked
    opened: dict[str, CommandHost] = {}
    for name, _ in words:
        if name not in opened:
            host = stack.enter_context(command_host(args, resolve_host(args, name)))
            # read-only mode refuses before any disk is read (a dry run too, as plan())
            if refusal := refused(host, change):
                raise refusal
            opened[name] = host
    # Every host's disks are read at once: each listing waits on its own host only.
    listings = {name: disk_ops.listing(host) for name, host in opened.items()}
    specs = []
    for name, path in words:
        host = opened[name]
        listing = wait(listings[name], LONG_TIMEOUT, host.label)
        if listing.vm_disks_unknown:
            print(f"tvirt: VM disks on {host.label} unknown ({listing.vm_disks_unknown}); "
                  "every device counts as unknown.", file=sys.stderr)
        device = disks.find(listing.devices, path)
        if device is None:
            raise CLIError(f"{path} is not a whole block device on {host.label}.")
        runner = host.commands()
        specs.append(bricks.BrickSpec(runner, device, host.gluster_host or _hostname(runner),
                                      libvirt=host.libvirt_call))
    several = len({s.runner.host for s in specs}) > 1
    pool = args.pool or ("netfs" if several else "none")
    wizard = bricks.Wizard(
        args.volume, specs,
        layout=bricks.Layout.LVM_THIN if args.layout == AUTO else bricks.Layout(args.layout),
        arbiter=args.arbiter, pool=bricks.PoolType(pool), pool_name=args.pool_name,
        readonly=readonly(args), wipe=getattr(args, "wipe", False),
        virt=getattr(args, "virt", False),
    )
    command_hosts = list(opened.values())
    if checked:
        wizard.check()  # bad input or an unsafe disk: refused before any host is surveyed
    targets = [hcsurvey.Target(s.runner, s.gluster_host) for s in wizard.hosts()]
    found = wait(brick_ops.survey(command_hosts, targets), LONG_TIMEOUT, command_hosts[0].label)
    if found.problems and checked:
        raise CLIError("; ".join(found.problems) + "; nothing was changed on any host.")
    notes = [*found.notes, *bricks.small_disks(specs)]
    if args.layout == AUTO:
        for spec in specs:
            spec.layout = found.layouts.get(spec.runner.host)
        notes = found.layout_notes + notes
    wizard.virt_group = found.virt_group
    wizard.known_peers = found.peers
    return command_hosts, wizard, notes


def _record(args: argparse.Namespace, state: str, steps: list[bricks.Step],
            outcome: bricks.Outcome | None, notes: list[str],
            hosts: list[CommandHost]) -> dict[str, Any]:
    done = {id(s) for s in outcome.done} if outcome else set()
    failed = id(outcome.failed) if outcome and outcome.failed else None

    def word(step: bricks.Step) -> str:
        if outcome is None:
            return "planned"
        return "done" if id(step) in done else "failed" if id(step) == failed else "not done"

    return {
        "name": args.volume, "state": state, "host": hosts[0].label,
        "hosts": [h.label for h in hosts], "notes": notes,
        "error": outcome.error if outcome else "",
        "steps": [{"host": s.host, "what": s.what, "command": s.command, "state": word(s)}
                  for s in steps],
    }


def _ask(args: argparse.Namespace, wizard: bricks.Wizard, question: str) -> None:
    if args.yes:
        return
    if not sys.stdin.isatty():
        raise CLIError(f"{question.split(' (')[0]} needs --yes when there is no terminal to "
                       "ask.", EXIT_USAGE)
    if wizard.wipe:
        for spec in wizard.bricks:
            print(f"{spec.runner.host}: {spec.device.path} ({size_text(spec.device.size)}, "
                  f"{spec.device.reason}) is wiped.")
    answer = input(f"{question}? Type its name: ")
    if answer.strip() != args.volume:
        raise CLIError("Nothing was changed.")


def run_create(args: argparse.Namespace) -> int:
    as_json = getattr(args, "json", False)
    change = f"create the bricks and volume {args.volume}"
    with contextlib.ExitStack() as stack:
        hosts, wizard, notes = _wizard(args, stack, change, checked=True)
        steps = brick_ops.plan(wizard)  # a PlanError ends the command (1)
        if args.dry_run:
            if as_json:
                print(json.dumps(_record(args, "dry run", steps, None, notes, hosts), indent=2))
                return EXIT_OK
            for note in notes:
                print(f"# {note}")
            for step in steps:
                print(f"{step.host}: would run {step.command}")
            return EXIT_OK
        _ask(args, wizard, f"Creating bricks: volume {args.volume} "
                           f"({plural(len(steps), 'step')})")
        if not as_json:
            for note in notes:
                print(note)
        run = brick_ops.execute(hosts, wizard, steps, on_step=None if as_json else _say)
        outcome = wait(run, LONG_TIMEOUT, hosts[0].label)
        if outcome.ok:
            if as_json:
                print(json.dumps(_record(args, "started", steps, outcome, notes, hosts),
                                 indent=2))
            else:
                print(f"{args.volume}: started, {plural(len(steps), 'step')} done")
            return EXIT_OK
        if as_json:
            print(json.dumps(_record(args, "failed", steps, outcome, notes, hosts), indent=2))
        for line in [*outcome.summary(), *outcome.per_host()]:
            print(line, file=sys.stderr)
        if outcome.failed is None:  # refused before the first step: nothing was run
            print(f"tvirt: {outcome.error}.", file=sys.stderr)
            return EXIT_FAILED
        if args.undo_on_failure:
            wait(brick_ops.undo(hosts, outcome, args.volume), LONG_TIMEOUT, hosts[0].label)
            for line in outcome.undone:
                print(f"undone: {line}", file=sys.stderr)
            for line in outcome.undo_errors:
                print(f"not undone: {line}", file=sys.stderr)
        else:
            print(
                "tvirt: run `tvirt gluster undo` with the same disks (or again with "
                "--undo-on-failure) to remove what was made.",
                file=sys.stderr,
            )
        return EXIT_FAILED


def run_undo(args: argparse.Namespace) -> int:
    as_json = getattr(args, "json", False)
    change = f"remove the bricks and volume {args.volume}"
    with contextlib.ExitStack() as stack:
        hosts, wizard, _ = _wizard(args, stack, change, checked=False)
        steps = [s for s in reversed(wizard.plan(checked=False)) if s.undo or s.libvirt_undo]
        if args.dry_run:
            lines = [(s.host, u) for s in steps for u in s.undo_text()]
            if as_json:
                print(json.dumps([{"host": h, "command": u} for h, u in lines], indent=2))
            else:
                for host, text in lines:
                    print(f"{host}: would run {text}")
            return EXIT_OK
        _ask(args, wizard, f"Removing volume {args.volume}, its bricks and pools "
                           f"({plural(len(steps), 'step')})")
        outcome = wait(brick_ops.remove(hosts, wizard), LONG_TIMEOUT, hosts[0].label)
    if as_json:
        print(json.dumps({"name": args.volume, "state": "removed" if not outcome.undo_errors
                          else "partly removed", "host": hosts[0].label,
                          "undone": outcome.undone, "not_undone": outcome.undo_errors},
                         indent=2))
    else:
        for line in outcome.undone:
            print(f"undone: {line}")
        for line in outcome.undo_errors:
            print(f"not undone: {line}", file=sys.stderr)
    return EXIT_OK if not outcome.undo_errors else EXIT_FAILED


def _say(step: bricks.Step, state: str) -> None:
    if state != "running":
        print(f"{step.host}: {state}: {step.what}", flush=True)


def _hostname(runner: Runner) -> str:
    result = runner.run(["hostname"])
    return result.out.strip() or runner.host
