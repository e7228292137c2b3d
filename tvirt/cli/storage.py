"""Plain commands for storage: `tvirt pools`, `tvirt vols POOL`, `tvirt vol ...`, `tvirt pool ...`.

Every command takes --json (before or after the command) and --host; changes are refused
on a read-only connection. Transfers print progress lines on stderr; Ctrl-C cancels.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from tvirt import storage, transfers
from tvirt.cli.plumbing import (
    EXIT_CONNECT,
    EXIT_OK,
    EXIT_USAGE,
    LONG_TIMEOUT,
    CLIError,
    call,
    call_long,
    confirm_typed,
    connect,
    connected_workers,
    pick_worker,
    say,
    writable,
)
from tvirt.cli.progress_term import TerminalProgress
from tvirt.host import HostWorker
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
        return _dispatch(args, workers)
    finally:
        manager.stop()


def _overwrite(path: Path) -> None:
    """A download never replaces a file silently: --force, or yes at a terminal."""
    if not sys.stdin.isatty():
        raise CLIError(f"{path} exists; add --force to overwrite it.", EXIT_USAGE)
    answer = input(f"{path} exists. Overwrite it? Type yes or no: ")
    if answer.strip().lower() not in ("y", "yes"):
        raise CLIError(f"Nothing was downloaded; {path} was left as it was.")


def _dispatch(args: argparse.Namespace, workers: list[HostWorker]) -> int:
    cmd = args.storage_cmd
    if cmd == "pools":
        return _pools(args, workers)
    worker = pick_worker(args, workers)
    if cmd == "vols":
        vols = call(worker, lambda c: storage.list_volumes(c, args.pool), args.timeout)
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
        return _pool(args, worker)
    return _vol(args, worker)


def _pools(args: argparse.Namespace, workers: list[HostWorker]) -> int:
    if getattr(args, "host", None):
        workers = [pick_worker(args, workers)]
    rows = []
    for worker in workers:
        for pool in call(worker, storage.list_pools, args.timeout):
            rows.append((worker, pool))
    if args.json:
        print(json.dumps(
            [{"host": w.uri.label, "uri": w.host_id, **asdict(p)} for w, p in rows], indent=2
        ))
        return EXIT_OK
    for worker, p in rows:
        where = f" on {worker.uri.label}" if len(workers) > 1 else ""
        print(
            f"{p.name}{where}: {p.type}, {p.state}, autostart {'on' if p.autostart else 'off'}, "
            f"{p.usage_text}, {format_size(p.available)} available"
        )
    return EXIT_OK


def _pool(args: argparse.Namespace, worker: HostWorker) -> int:
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
        writable(worker, f"define pool {args.name}")
        message = call(
            worker,
            lambda c: storage.pool_define(c, spec, build=args.build, start=not args.no_start),
            LONG_TIMEOUT,
        )
        return say(args, message, pool=args.name)
    name = args.pool
    writable(worker, f"{sub} pool {name}")
    if sub == "delete":
        if not args.yes:
            what = " and all its storage" if args.delete_storage else ""
            confirm_typed(f"Delete pool {name}{what}?", name)
        message = call(
            worker, lambda c: storage.pool_delete(c, name, args.delete_storage), LONG_TIMEOUT
        )
    elif sub == "autostart":
        message = call(
            worker, lambda c: storage.pool_autostart(c, name, args.setting == "on"), args.timeout
        )
    else:
        fn = {
            "start": storage.pool_start,
            "stop": storage.pool_stop,
            "refresh": storage.pool_refresh,
        }[sub]
        message = call(worker, lambda c: fn(c, name), LONG_TIMEOUT)
    return say(args, message, pool=name)


def _vol(args: argparse.Namespace, worker: HostWorker) -> int:
    sub, pool, name = args.vol_cmd, args.pool, args.name
    if sub == "create":
        return _create(args, worker)
    if sub in ("upload", "download"):
        return _transfer(args, worker)
    writable(worker, f"{sub} volume {name}")
    if sub == "delete":
        if not args.yes:
            confirm_typed(f"Delete volume {name} of pool {pool}?", name)
        message = call(
            worker, lambda c: storage.volume_delete(c, pool, name, force=args.force), args.timeout
        )
    elif sub == "resize":
        size = parse_size(args.size)
        message = call(
            worker,
            lambda c: storage.volume_resize(c, pool, name, size, shrink=args.shrink),
            LONG_TIMEOUT,
        )
    elif sub == "clone":
        vol = call(
            worker, lambda c: storage.volume_clone(c, pool, name, args.new_name), LONG_TIMEOUT
        )
        return say(args, f"Cloned volume {name} into {vol.name} ({vol.path}).", volume=asdict(vol))
    else:  # wipe
        if not args.yes:
            confirm_typed(f"Wipe volume {name} of pool {pool} ({args.algorithm})?", name)
        message = call_long(
            worker,
            lambda c: storage.volume_wipe(c, pool, name, args.algorithm, force=args.force),
            f"Wiping {name}",
        )
    return say(args, message, pool=pool, volume=name)


def _create(args: argparse.Namespace, worker: HostWorker) -> int:
    pool_name = args.pool
    size = parse_size(args.size)
    info = call(worker, lambda c: storage.pool_info(c, pool_name), args.timeout)
    formats = storage.formats_for(info.type)
    fmt = args.format or formats[0]
    allocation = args.allocation or storage.allocations_for(info.type)[0]
    backing, backing_format = "", ""
    if args.backing:
        src = call(worker, lambda c: storage.volume_info(c, pool_name, args.backing), args.timeout)
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
    writable(worker, f"create volume {args.name}")
    warning = storage.check_capacity(size, info.available, allocation)
    if warning:
        print(f"tvirt: {warning}", file=sys.stderr)
    vol = call_long(
        worker, lambda c: storage.volume_create(c, pool_name, spec), f"Creating {args.name}"
    )
    return say(
        args,
        f"Created volume {vol.name} ({vol.format}, {format_size(vol.capacity)}) at {vol.path}.",
        volume=asdict(vol),
    )


def _transfer(args: argparse.Namespace, worker: HostWorker) -> int:
    path = Path(args.file)
    show = TerminalProgress()

    if args.vol_cmd == "upload":
        if not path.is_file():
            raise CLIError(f"{path} is not a file.", EXIT_USAGE)
        writable(worker, f"upload to volume {args.name}")
        done = transfers.upload(worker, args.pool, args.name, path, progress=show)
        message = f"Uploaded {format_size(done.done)} from {path} into volume {args.name}."
    else:
        if not path.parent.is_dir():
            raise CLIError(f"{path.parent} is not a directory.", EXIT_USAGE)
        if path.is_dir():
            raise CLIError(f"{path} is a directory; give a file name.", EXIT_USAGE)
        if path.exists() and not args.force:
            _overwrite(path)
        done = transfers.download(worker, args.pool, args.name, path, progress=show)
        message = f"Downloaded {format_size(done.done)} of volume {args.name} into {path}."
    return say(args, message, bytes=done.done, seconds=round(done.elapsed, 3))

