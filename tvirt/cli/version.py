"""`tvirt version`: tvirt's, libvirt's and every host's daemon and hypervisor versions,
the first lines a bug report needs. (`tvirt --version` stays one word, and fast.)"""

from __future__ import annotations

import argparse
import platform
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

from tvirt import __version__
from tvirt.cli.plumbing import EXIT_OK, connect, emit, json_option
from tvirt.errors import TvirtError, explain
from tvirt.model import HostInfo, HostState
from tvirt.ops import versions


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "version",
        help="tvirt's, libvirt's and each host's daemon and hypervisor versions",
    )
    json_option(cmd)
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    manager, inventory = connect(args)
    try:
        hosts = inventory.host_list()
        # Asked of every host at once; each answer waited for within the one timeout.
        asked: dict[str, Future[versions.HostVersions]] = {
            h.host_id: versions.of_host(manager.get(h.host_id))
            for h in hosts
            if h.state is HostState.CONNECTED
        }
        records = [_host_record(h, asked.get(h.host_id), args.timeout) for h in hosts]
    finally:
        manager.stop()
    top: dict[str, object] = {
        "tvirt": __version__,
        "libvirt": versions.library(),
        "python": platform.python_version(),
        "hosts": records,
    }
    lines = [
        f"tvirt {__version__}",
        f"libvirt library {top['libvirt']}",
        f"Python {top['python']}",
        *(_host_line(r) for r in records),
    ]
    emit(args, [top], lines, single=True)
    return EXIT_OK


def _host_record(
    host: HostInfo, future: Future[versions.HostVersions] | None, timeout: float
) -> dict[str, object]:
    record: dict[str, object] = {"host": host.label, "uri": host.uri}
    if future is None:
        record["error"] = host.error or f"The host is {host.state.word}."
        return record
    try:
        found = future.result(timeout)
    except FutureTimeout:
        record["error"] = f"No answer within {timeout:g} s."
    except TvirtError as exc:
        record["error"] = str(exc)
    except Exception as exc:  # anything else the worker met, still as one sentence
        record["error"] = explain(exc, host.label)
    else:
        record.update(
            daemon=found.daemon,
            hypervisor=found.hypervisor,
            hypervisor_version=found.hypervisor_version,
        )
    return record


def _host_line(record: dict[str, object]) -> str:
    if "error" in record:
        return f"{record['host']}: no versions: {record['error']}"
    hypervisor = f"{record['hypervisor']} {record['hypervisor_version']}".strip()
    return f"{record['host']}: libvirt daemon {record['daemon']}, hypervisor {hypervisor}"
