"""Benchmarks on real hosts: the three-node lab of scripts/lab.sh (issue 16).

    bash scripts/lab.sh up
    .venv/bin/python -m benchmarks.lab_hosts [--runs 3] [--vms 20]

Each node is its own libvirtd in its own namespaces, reached over `qemu+ssh://`. Prints
markdown tables for docs/performance.md, every figure beside a peer measured in the same
run: launch to the full list of three hosts against `virsh list --all` on each; libvirt
RPC calls per stats tick on each node against reading each VM once; live migration with
`tvirt migrate` against `virsh migrate --live` on the same guest; and eight hosts (the
three nodes plus five test-driver hosts, one of them slow) with ticks per second per host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import libvirt

from benchmarks.harness import (
    RTT_DELAY,
    TVIRT,
    PtyApp,
    median_seconds,
    proxied,
    run_quiet,
    scale_node,
    ssh_test_uri,
    testbed,
)
from benchmarks.scale import SLOW_DELAY, _many_hosts_app, print_windows

COUNT = re.compile(r"\b(\d+) VMs, \d+ running")
TESTS = Path(__file__).resolve().parent.parent / "tests"
LAB_ENV = Path("/run/tvirt-lab/env")
PREFIX = f"tvirt-bench-{os.getpid()}"


def lab() -> dict[str, str]:
    if not LAB_ENV.exists():
        raise SystemExit("The lab is not up: run `bash scripts/lab.sh up` first.")
    pairs = (line.partition("=") for line in LAB_ENV.read_text().splitlines())
    return {key: value for key, sep, value in pairs if sep}


def guest_xml(name: str, kernel: str, initrd: str) -> str:
    """The test suite's tiny guest, so that the benchmarks boot the same machine."""
    sys.path.insert(0, str(TESTS))
    from conftest import guest_xml as tiny

    return tiny(name, kernel, initrd)


def node_uris(env: dict[str, str]) -> list[str]:
    count = len(env["TVIRT_LAB_NODES"].split(","))
    return [env[f"TVIRT_LAB_NODE{i}_URI"] for i in range(1, count + 1)]


@contextmanager
def defined_vms(env: dict[str, str], per_node: int, running: int = 1) -> Iterator[None]:
    """`per_node` tiny guests defined on each node, the first `running` of them started;
    all of them destroyed and undefined afterwards."""
    made: list[tuple[str, str]] = []
    kernel, initrd = env["TVIRT_LAB_GUEST_KERNEL"], env["TVIRT_LAB_GUEST_INITRD"]
    try:
        for uri in node_uris(env):
            conn = libvirt.open(uri)
            try:
                for index in range(per_node):
                    name = f"{PREFIX}-{index:03d}"
                    dom = conn.defineXML(guest_xml(name, kernel, initrd))
                    made.append((uri, name))
                    if index < running:
                        dom.create()
            finally:
                conn.close()
        yield
    finally:
        for uri, name in made:
            for verb in ("destroy", "undefine"):
                subprocess.run(["virsh", "-c", uri, verb, name], capture_output=True, timeout=60)


def vm_total(uris: list[str]) -> int:
    """The hosts' VMs now, counted over read-only connections."""
    total = 0
    for uri in uris:
        conn = libvirt.openReadOnly(uri)
        try:
            total += len(conn.listAllDomains(0))
        finally:
            conn.close()
    return total


def launch_times(uris: list[str], runs: int) -> list[tuple[str, float]]:
    """Launch to the full list of every host, against virsh listing each host in turn."""
    def virsh_each() -> None:
        for uri in uris:
            run_quiet(["virsh", "-c", uri, "list", "--all"])

    virsh = median_seconds(virsh_each, runs)
    args = [arg for uri in uris for arg in ("-c", uri)]
    plain = median_seconds(lambda: run_quiet([TVIRT, *args, "list"]), runs)
    total = vm_total(uris)
    screens = []
    for _ in range(runs):
        app = PtyApp([TVIRT, *args])
        try:
            app.wait_for(f"{len(uris)} hosts, {len(uris)} connected", 120)
            screens.append(_wait_count(app, total, 120))
        finally:
            app.close()
    return [
        (f"`virsh list --all` on each of the {len(uris)} hosts in turn (peer)", virsh),
        (f"`tvirt list` with the {len(uris)} hosts", plain),
        (f"`tvirt` full-screen app, launch to all {total} VMs of the {len(uris)} hosts on screen",
         statistics.median(screens)),
    ]


def _wait_count(app: PtyApp, total: int, timeout: float) -> float:
    """Seconds from launch until the status line counts at least `total` VMs (VMs others
    make on the lab meanwhile may add to it, never take from ours)."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        app.pump(0.05)
        found = COUNT.search(app.text())
        if found and int(found.group(1)) >= total:
            return time.perf_counter() - app.started
    raise TimeoutError(f"never {total} VMs on screen:\n{app.text()}")


def rpc_per_tick(uri: str) -> dict[str, object]:
    """benchmarks.rpc_count in a child process (libvirt reads its log settings at start)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "rpc.log"
        env = {**os.environ, "LIBVIRT_LOG_FILTERS": "1:rpc", "LIBVIRT_LOG_OUTPUTS": f"1:file:{log}"}
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.rpc_count", uri, "5", str(log)],
            env=env, capture_output=True, text=True, timeout=600, check=True,
        ).stdout
    result: dict[str, object] = json.loads(out)
    return result


def _where(uris: list[str], name: str) -> str:
    for uri in uris:
        conn = libvirt.open(uri)
        try:
            if conn.lookupByName(name).isActive():
                return uri
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    raise RuntimeError(f"{name} runs on no node")


def migration_times(env: dict[str, str], runs: int) -> list[tuple[str, float]]:
    """One running guest of its own (a name no other node has) moved back and forth
    between node1 and node2, alternately by virsh and by tvirt, so both see the same
    guest, memory and load."""
    first, second = node_uris(env)[:2]
    name = f"{PREFIX}-migrating"
    conn = libvirt.open(first)
    try:
        conn.defineXML(
            guest_xml(name, env["TVIRT_LAB_GUEST_KERNEL"], env["TVIRT_LAB_GUEST_INITRD"])
        ).create()
    finally:
        conn.close()
    try:
        return _migrations(env, name, first, second, runs)
    finally:
        for uri in (first, second):
            for verb in ("destroy", "undefine"):
                subprocess.run(["virsh", "-c", uri, verb, name], capture_output=True, timeout=60)


def _migrations(
    env: dict[str, str], name: str, first: str, second: str, runs: int
) -> list[tuple[str, float]]:
    addresses = {first: env["TVIRT_LAB_NODE1_ADDR"], second: env["TVIRT_LAB_NODE2_ADDR"]}
    virsh_times: list[float] = []
    tvirt_times: list[float] = []
    for _ in range(runs):
        for tool in ("virsh", "tvirt"):
            source = _where([first, second], name)
            dest = second if source == first else first
            if tool == "virsh":
                argv = ["virsh", "-c", source, "migrate", "--live", "--p2p", "--persistent",
                        "--undefinesource", name, dest, "--migrateuri",
                        f"tcp://{addresses[dest]}"]
            else:
                argv = [TVIRT, "-c", source, "migrate", name, dest]
            started = time.perf_counter()
            run_quiet(argv, timeout=300)
            (virsh_times if tool == "virsh" else tvirt_times).append(
                time.perf_counter() - started)
            if _where([first, second], name) != dest:
                raise RuntimeError(f"{tool} did not move {name} to {dest}")
    return [
        ("`virsh migrate --live --p2p` (peer)", statistics.median(virsh_times)),
        ("`tvirt migrate`, live (progress read on a second connection)",
         statistics.median(tvirt_times)),
    ]


def eight_hosts(env: dict[str, str], seconds: float) -> dict[str, object]:
    """The three nodes plus four test-driver hosts at a 20 ms round trip and one at 500 ms."""
    from tvirt.screens.app import TvirtApp

    testbed()  # the proxies below front the test bed's sshd
    with ExitStack() as stack:
        node = stack.enter_context(scale_node(100))
        fast = [stack.enter_context(proxied(RTT_DELAY)) for _ in range(4)]
        slow = stack.enter_context(proxied(SLOW_DELAY))
        uris = [*node_uris(env), *(ssh_test_uri(p, node) for p in [*fast, slow])]
        return asyncio.run(_many_hosts_app(TvirtApp, uris, seconds))


def table(rows: list[tuple[str, float]]) -> None:
    peer = rows[0][1]
    print("| what | median (s) | ratio to the peer |")
    print("| --- | --- | --- |")
    for name, secs in rows:
        print(f"| {name} | {secs:.2f} | {secs / peer:.2f} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--vms", type=int, default=20, help="tiny guests defined per node")
    parser.add_argument("--window", type=float, default=20, help="seconds per tick window")
    parser.add_argument("--skip-migration", action="store_true")
    parser.add_argument("--skip-eight", action="store_true")
    args = parser.parse_args()
    env = lab()
    uris = node_uris(env)
    with defined_vms(env, args.vms):
        print(f"## Three real hosts, {args.vms} VMs defined on each (one running)\n")
        table(launch_times(uris, args.runs))
        print("## libvirt RPC calls per stats tick, per real host\n")
        print("| host | VMs | RPC calls per tick (tvirt) | calls to read each VM once (peer) |")
        print("| --- | --- | --- | --- |")
        for index, uri in enumerate(uris, start=1):
            row = rpc_per_tick(uri)
            print(f"| node{index} | {row['vms']} | {row['calls_per_tick']:g} "
                  f"| {row['per_domain_calls']} |")
        print()
        if not args.skip_migration:
            print("## Live migration of the running tiny guest, node1 <-> node2\n")
            table(migration_times(env, args.runs))
    if args.skip_eight:
        return
    print("## Eight hosts: the three nodes plus five test-driver hosts, one slow\n")
    result = eight_hosts(env, args.window)
    print_windows(result)


if __name__ == "__main__":
    main()
