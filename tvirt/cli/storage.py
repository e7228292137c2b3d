"""Plain commands for storage: `tvirt pools`, `tvirt vols POOL`, `tvirt vol ...`, `tvirt pool ...`.

Every command takes --json (before or after the command) and --host; changes are refused
on a read-only connection. Transfers print progress lines on stderr; Ctrl-C cancels.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import Future
from dataclasses import asdict
from pathlib import Path

from tvirt import storage
from tvirt.cli.plumbing import (
    EXIT_CONNECT,
    EXIT_OK,
    EXIT_USAGE,
    LONG_TIMEOUT,
    CLIError,
    confirm_typed,
    connect,
    connected_workers,
    one_host,
    say,
    wait,
    wait_long,
    writable,
)
from tvirt.cli.progress_term import TerminalProgress
from tvirt.host import HostWorker
from tvirt.ops import storage as ops
from tvirt.progress import Advanced, CancelToken
from tvirt.sizes import format_size, parse_size


def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS keeps the top-level --json when this one is not given.
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    parser.add_argument("--host", help="host label, URI or hostname when several are open")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pools = sub.add_parser("pools", help="list storage pools on every host")
    _common(pools)
    pools.set_defaults(run=_run, storage_cmd="pools")

    vols = sub.add_parser("vols", help="list the volumes of a pool")
    vols.add_argument("pool")
    _common(vols)
    vols.set_defaults(run=_run, storage_cmd="vols")

    pool = sub.add_parser("pool", help="start, stop, refresh, autostart, delete or define a pool")
    pool_sub = pool.add_subparsers(dest="pool_cmd", metavar="ACTION", required=True)
    for name, text in (
        ("start", "start a pool"),
        ("stop", "stop a pool"),
        ("refresh", "rescan a pool's volumes"),
    ):
        p = pool_sub.add_parser(name, help=text)
        p.add_argument("pool")
        _common(p)
    p = pool_sub.add_parser("autostart", help="turn a pool's autostart on or off")
    p.add_argument("pool")
    p.add_argument("setting", choices=["on", "off"])
    _common(p)
    p = pool_sub.add_parser("delete", help="stop and undefine a pool")
    p.add_argument("pool")
    p.add_argument("--delete-storage", action="store_true", help="also remove its directory/VG")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    _common(p)
    p = pool_sub.add_parser("define", help="define (and start) a new pool")
    p.add_argument("type", choices=storage.POOL_TYPES)
    p.add_argument("name")
    p.add_argument("--target", default="", help="dir, netfs: the local directory")
    p.add_argument("--source-host", default="", help="netfs, gluster: the server")
    p.add_argument("--source-dir", default="", help="netfs: the export; gluster: a directory")
    p.add_argument("--source-name", default="", help="logical: the VG; gluster: the volume")
    p.add_argument(
        "--device", action="append", default=[], help="logical: a PV; disk: the disk (repeat)"
    )
    p.add_argument("--build", action="store_true", help="build it (mkdir, vgcreate, ...)")
    p.add_argument("--no-start", action="store_true", help="define only")
    p.add_argument("--print-xml", action="store_true", help="print the XML and define nothing")
    _common(p)
    pool.set_defaults(run=_run, storage_cmd="pool")

    vol = sub.add_parser("vol", help="create, delete, resize, clone, wipe, upload or download")
    vol_sub = vol.add_subparsers(dest="vol_cmd", metavar="ACTION", required=True)
    p = vol_sub.add_parser("create", help="create a volume")
    p.add_argument("pool")
    p.add_argument("name")
    p.add_argument("size", help="10G, 512MiB, 1.5TiB, ... (K/M/G/T and KiB.. binary; KB.. decimal)")
    p.add_argument("--format", default="", help="qcow2 or raw (default: qcow2 where offered)")
    p.add_argument("--allocation", choices=["sparse", "full"], default="")
    p.add_argument("--backing", default="", help="a volume of the same pool to back a qcow2")
    p.add_argument("--print-xml", action="store_true", help="print the XML and create nothing")
    _common(p)
    p = vol_sub.add_parser("delete", help="delete a volume (refused while a VM uses it)")
    p.add_argument("pool")
    p.add_argument("name")
    p.add_argument("--force", action="store_true", help="delete even while a VM uses it")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    _common(p)
    p = vol_sub.add_parser("resize", help="change a volume's capacity (grow only by default)")
    p.add_argument("pool")
    p.add_argument("name")
    p.add_argument("size")
    p.add_argument("--shrink", action="store_true", help="allow shrinking (loses data)")
    _common(p)
    p = vol_sub.add_parser("clone", help="copy a volume into a new one in the same pool")
    p.add_argument("pool")
    p.add_argument("name")
    p.add_argument("new_name")
    _common(p)
    p = vol_sub.add_parser("wipe", help="overwrite a volume's data")
    p.add_argument("pool")
    p.add_argument("name")
    p.add_argument("--algorithm", choices=list(storage.WIPE_ALGORITHMS), default="zero")
    p.add_argument("--force", action="store_true", help="wipe even while a VM uses it")
    p.add_argument("--yes", action="store_true", help="confirm without asking")
    _common(p)
    for name, text in (
        ("upload", "write a local file into a volume"),
        ("download", "copy a volume into a local file"),
    ):
        p = vol_sub.add_parser(name, help=text)
        p.add_argument("pool")
        p.add_argument("name")
        p.add_argument("file")
        if name == "download":
            p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
        _common(p)
    vol.set_defaults(run=_run, storage_cmd="vol")


def _run(args: argparse.Namespace) -> int:
    manager, inventory = connect(args)
    try:
        workers = connected_workers(manager, inventory)
        if not workers:
            return EXIT_CONNECT
        # A StorageError (1), a cancelled transfer (130) or a bad size (2) ends the command
        # through plumbing.report, with the exit status its class carries.
        if args.storage_cmd == "pools":
            if getattr(args, "host", None):
                workers = [one_host(args, manager, inventory)]
            return _pools(args, workers)
        return _dispatch(args, one_host(args, manager, inventory))
    finally:
        manager.stop()


def _overwrite(path: Path) -> None:
    """A download never replaces a file silently: --force, or yes at a terminal."""
    if not sys.stdin.isatty():
        raise CLIError(f"{path} exists; add --force to overwrite it.", EXIT_USAGE)
    answer = input(f"{path} exists. Overwrite it? Type yes or no: ")
    if answer.strip().lower() not in ("y", "yes"):
        raise CLIError(f"Nothing was downloaded; {path} was left as it was.")


def _dispatch(args: argparse.Namespace, host: HostWorker) -> int:
    cmd = args.storage_cmd
    if cmd == "vols":
        vols = wait(ops.list_volumes(host, args.pool), args.timeout, host.label)
        if args.json:
            print(json.dumps([asdict(v) for v in vols], indent=2))
        else:
            for v in vols:
                users = ", ".join(v.used_by) or "no VM"
                print(
                    f"{v.name}: {v.format or v.type}, {format_size(v.capacity)} capacity, "
                    f"{format_size(v.allocation)} allocated, {v.path}, used by {users}"
                )
        return EXIT_OK
    if cmd == "pool":
        return _pool(args, host)
    return _vol(args, host)


def _pools(args: argparse.Namespace, workers: list[HostWorker]) -> int:
    rows = []
    for worker in workers:
        for pool in wait(ops.list_pools(worker), args.timeout, worker.label):
            rows.append((worker, pool))
    if args.json:
        print(json.dumps(
            [{"host": w.label, "uri": w.host_id, **asdict(p)} for w, p in rows], indent=2
        ))
        return EXIT_OK
    for worker, p in rows:
        where = f" on {worker.label}" if len(workers) > 1 else ""
        print(
            f"{p.name}{where}: {p.type}, {p.state}, autostart {'on' if p.autostart else 'off'}, "
            f"{p.usage_text}, {format_size(p.available)} available"
        )
    return EXIT_OK


def _pool(args: argparse.Namespace, host: HostWorker) -> int:
    sub = args.pool_cmd
    if sub == "define":
        spec = storage.PoolSpec(
            type=args.type,
            name=args.name,
            target=args.target,
            host=args.source_host,
            source_dir=args.source_dir,
            source_name=args.source_name,
            devices=tuple(args.device),
        )
        try:
            storage.check_pool_spec(spec)
        except storage.StorageError as exc:
            raise CLIError(str(exc), EXIT_USAGE) from None
        if args.print_xml:
            print(storage.pool_xml(spec))
            return EXIT_OK
        future = ops.pool_define(host, spec, build=args.build, start=not args.no_start)
        return say(args, wait(future, LONG_TIMEOUT, host.label), pool=args.name)
    name = args.pool
    writable(host, f"{sub} pool {name}")
    if sub == "delete":
        if not args.yes:
            what = " and all its storage" if args.delete_storage else ""
            confirm_typed(f"Delete pool {name}{what}?", name)
        future = ops.pool_delete(host, name, delete_storage=args.delete_storage)
        timeout = LONG_TIMEOUT
    elif sub == "autostart":
        future, timeout = ops.pool_autostart(host, name, args.setting == "on"), args.timeout
    else:
        act = {"start": ops.pool_start, "stop": ops.pool_stop, "refresh": ops.pool_refresh}[sub]
        future, timeout = act(host, name), LONG_TIMEOUT
    return say(args, wait(future, timeout, host.label), pool=name)


def _vol(args: argparse.Namespace, host: HostWorker) -> int:
    sub, pool, name = args.vol_cmd, args.pool, args.name
    if sub == "create":
        return _create(args, host)
    if sub in ("upload", "download"):
        return _transfer(args, host)
    writable(host, f"{sub} volume {name}")
    if sub == "delete":
        if not args.yes:
            confirm_typed(f"Delete volume {name} of pool {pool}?", name)
        future = ops.volume_delete(host, pool, name, force=args.force)
        message = wait(future, args.timeout, host.label)
    elif sub == "resize":
        future = ops.volume_resize(host, pool, name, parse_size(args.size), shrink=args.shrink)
        message = wait(future, LONG_TIMEOUT, host.label)
    elif sub == "clone":
        vol = wait(ops.volume_clone(host, pool, name, args.new_name), LONG_TIMEOUT, host.label)
        return say(args, f"Cloned volume {name} into {vol.name} ({vol.path}).", volume=asdict(vol))
    else:  # wipe
        if not args.yes:
            confirm_typed(f"Wipe volume {name} of pool {pool} ({args.algorithm})?", name)
        future = ops.volume_wipe(host, pool, name, args.algorithm, force=args.force)
        message = wait_long(future, f"Wiping {name}")
    return say(args, message, pool=pool, volume=name)


def _create(args: argparse.Namespace, host: HostWorker) -> int:
    pool_name = args.pool
    size = parse_size(args.size)
    info = wait(ops.pool_info(host, pool_name), args.timeout, host.label)
    formats = storage.formats_for(info.type)
    fmt = args.format or formats[0]
    allocation = args.allocation or storage.allocations_for(info.type)[0]
    backing, backing_format = "", ""
    if args.backing:
        src = wait(ops.volume_info(host, pool_name, args.backing), args.timeout, host.label)
        backing, backing_format = src.path, src.format or "raw"
    spec = storage.VolumeSpec(args.name, size, fmt, allocation, backing, backing_format)
    try:
        storage.check_name(args.name)
        storage.check_spec(spec, info.type)
    except storage.StorageError as exc:
        raise CLIError(str(exc), EXIT_USAGE) from None
    if args.print_xml:
        print(storage.volume_xml(spec))
        return EXIT_OK
    writable(host, f"create volume {args.name}")
    warning = storage.check_capacity(size, info.available, allocation)
    if warning:
        print(f"tvirt: {warning}", file=sys.stderr)
    vol = wait_long(ops.volume_create(host, pool_name, spec), f"Creating {args.name}")
    return say(
        args,
        f"Created volume {vol.name} ({vol.format}, {format_size(vol.capacity)}) at {vol.path}.",
        volume=asdict(vol),
    )


def _transfer(args: argparse.Namespace, host: HostWorker) -> int:
    path = Path(args.file)
    show = TerminalProgress()
    token = CancelToken()
    if args.vol_cmd == "upload":
        if not path.is_file():
            raise CLIError(f"{path} is not a file.", EXIT_USAGE)
        future = ops.upload(host, args.pool, args.name, path, progress=show, transfer=token)
        done = _finish(future, token)
        message = f"Uploaded {format_size(done.done)} from {path} into volume {args.name}."
    else:
        if not path.parent.is_dir():
            raise CLIError(f"{path.parent} is not a directory.", EXIT_USAGE)
        if path.is_dir():
            raise CLIError(f"{path} is a directory; give a file name.", EXIT_USAGE)
        if path.exists() and not args.force:
            _overwrite(path)
        future = ops.download(host, args.pool, args.name, path, progress=show, transfer=token)
        done = _finish(future, token)
        message = f"Downloaded {format_size(done.done)} of volume {args.name} into {path}."
    return say(args, message, bytes=done.done, seconds=round(done.elapsed, 3))


def _finish(future: Future[Advanced], token: CancelToken) -> Advanced:
    """The transfer's last progress. Ctrl-C cancels it at its next chunk, and the command
    waits for the undo, so it ends with the transfer's own sentence (exit status 130)."""
    try:
        return future.result()
    except KeyboardInterrupt:
        token.cancel()
        return future.result()
