"""Where a many-host launch spends its time, per host and phase (issue 20, profiling).

    .venv/bin/python -m benchmarks.launch_phases [--hosts 20] [--vms 200] [--cap 8]

Opens `--hosts` test+ssh hosts of `--vms` VMs through the real HostManager (no UI) and
times, per host: waiting for an opening place, the open itself (ssh handshake plus the
remote libvirt open), describing the host, listing its domains, and when its rows
(DomainsListed) and its details (every DomainsDetailed) reached the sink. Also the bare
ssh handshake (`ssh ... true`) alone and `--hosts` at once, for comparison.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import libvirt

from benchmarks.harness import scale_node, ssh_test_uri, testbed
from tvirt import domains, host, opening
from tvirt.manager import HostManager
from tvirt.updates import DomainsDetailed, DomainsListed

_marks: dict[str, dict[str, float]] = {}
_lock = threading.Lock()
T0 = time.perf_counter()


def _mark(uri: str, what: str) -> None:
    with _lock:
        _marks.setdefault(uri, {})[what] = time.perf_counter() - T0


def _timed(fn: Callable[..., Any], before: str, after: str, uri_of: Callable[..., str]
           ) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        uri = uri_of(*args, **kwargs)
        _mark(uri, before)
        try:
            return fn(*args, **kwargs)
        finally:
            _mark(uri, after)
    return wrapper


def ssh_handshakes(port: int, count: int) -> tuple[float, float]:
    """Seconds of one `ssh true`, and of `count` at once (wall time until all ended)."""
    argv = ["ssh", "-o", "BatchMode=yes", "-p", str(port), "root@127.0.0.1", "true"]
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    one = time.perf_counter() - start
    start = time.perf_counter()
    procs = [subprocess.Popen(argv, stderr=subprocess.DEVNULL) for _ in range(count)]
    failed = sum(p.wait() != 0 for p in procs)
    many = time.perf_counter() - start
    if failed:
        print(f"  {failed} of {count} simultaneous ssh handshakes failed (sshd MaxStartups)")
    return one, many


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--cap", type=int, default=opening.OPEN_AT_ONCE,
                        help="remote connections opened at once (0: no cap)")
    parser.add_argument("--skip-ssh", action="store_true")
    args = parser.parse_args()
    port = int(testbed()["TVIRT_TEST_SSH_PORT"])
    if not args.skip_ssh:
        one, many = ssh_handshakes(port, args.hosts)
        print(f"ssh handshake: one {one:.2f} s; {args.hosts} at once {many:.2f} s")
    cap = args.cap or 1000
    opening.SLOTS = threading.BoundedSemaphore(cap)
    real_open = libvirt.openAuth
    libvirt.openAuth = _timed(real_open, "open", "opened", lambda uri, *a: uri)
    real_describe = host._describe
    host._describe = _timed(real_describe, "describe", "described",
                            lambda conn, base: base.uri)
    domains.list_domains = _timed(domains.list_domains, "list", "listed",
                                  lambda conn, host_id, **k: host_id)
    total = args.hosts * args.vms
    rows = 0
    detailed = 0
    done = threading.Event()

    def sink(update: object) -> None:
        nonlocal rows, detailed
        if isinstance(update, DomainsListed):
            _mark(update.host_id, "rows")
            rows += len(update.vms)
            if rows >= total:
                _mark("all", "rows")
        elif isinstance(update, DomainsDetailed):
            _mark(update.host_id, "details")
            detailed += len(update.vms)
            if detailed >= total:
                _mark("all", "details")
                done.set()

    with ExitStack() as stack:
        nodes = [stack.enter_context(scale_node(args.vms)) for _ in range(args.hosts)]
        uris = [ssh_test_uri(port, node) for node in nodes]
        manager = HostManager(sink, progressive=True)
        global T0
        T0 = time.perf_counter()
        manager.add_all(uris)
        done.wait(600)
        manager.stop()
    print(f"{args.hosts} hosts x {args.vms} VMs, cap {args.cap or 'none'}: every row at "
          f"{_marks.get('all', {}).get('rows', float('nan')):.2f} s, every detail at "
          f"{_marks.get('all', {}).get('details', float('nan')):.2f} s")
    # "open" starts once the host has its opening place (OPEN_AT_ONCE).
    phases = [("open", "opened"), ("describe", "described"),
              ("list", "listed")]
    for a, b in phases:
        spans = [m[b] - m[a] for u, m in _marks.items() if u in uris and a in m and b in m]
        if spans:
            print(f"  {a:>8} -> {b:<9} median {statistics.median(spans):6.2f} s, "
                  f"max {max(spans):6.2f} s")
    firsts = sorted(m["rows"] for u, m in _marks.items() if u in uris and "rows" in m)
    if firsts:
        print(f"  rows of the first host at {firsts[0]:.2f} s, the last at {firsts[-1]:.2f} s")


if __name__ == "__main__":
    main()
