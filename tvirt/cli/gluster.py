"""Plain commands: `tvirt gluster volumes|bricks|heal|peers|create`.

Gluster facts come from the chosen connections' hosts: locally for qemu:///system, over
ssh for qemu+ssh://. `create` and `undo` (tvirt.cli.gluster_create) run the brick and
volume wizard (tvirt.bricks) on disks that `tvirt disks` calls safe.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tvirt import config, gluster
from tvirt.cli import gluster_create
from tvirt.cli.disks import size_text
from tvirt.cli.plumbing import (
    EXIT_FAILED,
    EXIT_OK,
    LONG_TIMEOUT,
    CLIError,
    command_host,
    json_option,
    wait,
)
from tvirt.manager import choose_uris
from tvirt.ops import gluster as gluster_ops
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
        help="wipe safe disks on three hosts, make bricks, a started replica-3 volume with "
        "the virt options and a pool on every host (the wizard)",
    )
    gluster_create.add_arguments(create)
    create.set_defaults(run=gluster_create.run_create)
    undo = what.add_parser(
        "undo",
        help="remove what `gluster create` made with the same disks: pools, volume, bricks",
    )
    gluster_create.add_arguments(undo, undo=True)
    undo.set_defaults(run=gluster_create.run_undo)


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
