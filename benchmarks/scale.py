"""Scale and peer benchmarks (issue 9). Needs the test bed: `bash scripts/testbed.sh up`.

    .venv/bin/python -m benchmarks.scale [--runs N] [--vms 1000] [--skip-virt-manager]

A scale host is a test-driver node of 1000 VMs served by the local libvirtd over
`test+ssh://`, through a proxy that adds 10 ms each way (a 20 ms round trip). Prints
markdown tables for docs/performance.md. Timings are medians of several runs, and every
figure is compared with a peer measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil

from benchmarks import peer_virt_manager
from benchmarks.harness import (
    RTT_DELAY,
    TVIRT,
    PtyApp,
    cpu_seconds,
    median_seconds,
    peak_rss_mib,
    proxied,
    run_quiet,
    scale_node,
    ssh_test_uri,
    testbed,
)

# The dashboard's status line while vCPUs and memory are still being read.
READING = "reading vCPUs and memory"
SLOW_DELAY = 0.250  # each way: 500 ms round trip


def list_times(uri: str, vms: int, runs: int) -> list[tuple[str, float]]:
    virsh = median_seconds(lambda: run_quiet(["virsh", "-c", uri, "list", "--all"]), runs)
    plain = median_seconds(lambda: run_quiet([TVIRT, "-c", uri, "list"]), runs)
    screens, details = [], []
    for _ in range(runs):
        app = PtyApp([TVIRT, "-c", uri])
        try:
            screens.append(app.wait_for(f"{vms} VMs", 300))
            app.wait_for(READING, 60)  # the status line follows the host panel
            details.append(app.wait_gone(READING, 600))
        finally:
            app.close()
    return [
        ("`virsh list --all` (peer)", virsh),
        ("`tvirt list` (plain command)", plain),
        ("`tvirt` full-screen app, launch to the full list on screen", statistics.median(screens)),
        ("`tvirt` full-screen app, launch to every VM's vCPUs and memory read",
         statistics.median(details)),
    ]


def rpc_per_tick(port: int, counts: tuple[int, ...]) -> list[dict[str, object]]:
    rows = []
    for count in counts:
        with scale_node(count) as node, tempfile.TemporaryDirectory() as tmp:
            log = Path(tmp) / "rpc.log"
            env = {**os.environ, "LIBVIRT_LOG_FILTERS": "1:rpc",
                   "LIBVIRT_LOG_OUTPUTS": f"1:file:{log}"}
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.rpc_count", ssh_test_uri(port, node), "5",
                 str(log)],
                env=env, capture_output=True, text=True, timeout=900, check=True,
            ).stdout
            rows.append(json.loads(out))
    return rows


def idle_tvirt(uri: str, vms: int, seconds: float) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text("[ui]\ninterval = 1.0\n")
        app = PtyApp([TVIRT, "-c", uri], env={"TVIRT_CONFIG": str(config)})
        try:
            app.wait_for(READING, 300)
            app.wait_gone(READING, 600)  # idle means after the listing's work is done
            return _idle(app.process, seconds, app.pump)
        finally:
            app.close()


def _idle(proc: psutil.Process, seconds: float, pump: object = None) -> tuple[float, float]:
    """CPU % of one core over `seconds`, after a settling pause, and the peak RSS."""
    drain = pump if callable(pump) else (lambda t: time.sleep(t))
    settle = time.monotonic() + 5
    while time.monotonic() < settle:
        drain(0.1)
    start_cpu, start = cpu_seconds(proc), time.monotonic()
    while time.monotonic() - start < seconds:
        drain(0.1)
    used = cpu_seconds(proc) - start_cpu
    return 100 * used / (time.monotonic() - start), peak_rss_mib(proc)


PeerFigures = tuple[list[peer_virt_manager.ListRun], dict[int, peer_virt_manager.RpcRun]]


def virt_manager(uri: str, port: int, vms: int, runs: int, idle_seconds: float,
                 rpc_counts: tuple[int, ...]) -> PeerFigures | str:
    """virt-manager on the same scale host and proxy port, or why it could not be run."""
    if missing := peer_virt_manager.available():
        return f"{missing} (apt-get install virt-manager xvfb)"
    try:
        lists = [peer_virt_manager.measure_list(uri, vms, idle_seconds) for _ in range(runs)]
        rpcs = {}
        for count in rpc_counts:
            with scale_node(count) as node:
                rpcs[count] = peer_virt_manager.measure_rpc(ssh_test_uri(port, node), count, 30)
    except peer_virt_manager.PeerError as exc:
        return str(exc)
    return lists, rpcs


def _ratio_row(figure: str, ours: float | None, theirs: float, fmt: str = ".2f") -> str:
    if ours is None:
        return f"| {figure} | not measured | {theirs:{fmt}} | |"
    return f"| {figure} | {ours:{fmt}} | {theirs:{fmt}} | {ours / max(theirs, 1e-9):.2f} |"


def print_peer_ratios(peer: PeerFigures, cpu: float, rss: float, screen: float | None,
                      tvirt_rpc: list[dict[str, object]], runs: int) -> None:
    lists, rpcs = peer
    med = statistics.median
    print(f"## tvirt against virt-manager, same run (medians of {runs})\n")
    print("| figure | tvirt | virt-manager | tvirt / virt-manager |")
    print("| --- | --- | --- | --- |")
    # virt-manager: launch to its manager window built with every VM row (see its module).
    print(_ratio_row("launch to the full list (s)", screen, med(r.shown_s for r in lists)))
    print(_ratio_row("idle CPU % of one core (with ssh children)", cpu,
                     med(r.cpu_pct for r in lists), ".1f"))
    print(_ratio_row("peak RSS (MiB)", rss, med(r.rss_mib for r in lists), ".0f"))
    for row in tvirt_rpc:
        theirs = rpcs.get(int(str(row["vms"])))
        if theirs is not None:
            ours = float(str(row["calls_per_tick"]))
            print(_ratio_row(f"RPC calls per tick, {row['vms']} VMs", ours,
                             theirs.calls_per_tick, "g"))
            # Per second, at each one's own tick: tvirt 1 s (idle setting above), virt-manager
            # its measured period (3 s set; longer when a tick outlasts it).
            print(_ratio_row(f"RPC calls per second at idle, {row['vms']} VMs", ours,
                             theirs.calls_per_s, ".1f"))
    print(f"\nvirt-manager Xvfb CPU % (not counted above): "
          f"{med(r.xvfb_cpu_pct for r in lists):.1f}\n")


def many_hosts(node: Path, seconds: float) -> dict[str, object]:
    """Eight hosts, one behind a 500 ms round trip: tick counts per host and UI loop lag."""
    from tvirt.screens.app import TvirtApp

    with ExitStack() as stack:
        fast = [stack.enter_context(proxied(RTT_DELAY)) for _ in range(7)]
        slow = stack.enter_context(proxied(SLOW_DELAY))
        uris = [ssh_test_uri(port, node) for port in [*fast, slow]]
        return asyncio.run(_many_hosts_app(TvirtApp, uris, seconds))


async def _many_hosts_app(app_class: type, uris: list[str], seconds: float) -> dict[str, object]:
    """Two windows: while the hosts' vCPUs and memory are still being read (the slow
    host reads one VM per 0.5 s job), and once every row is read."""
    app = app_class(uris=uris)
    result: dict[str, object] = {}
    async with app.run_test(size=(120, 40)) as pilot:

        def connected() -> bool:
            hosts = getattr(app, "hosts", {})
            return len(hosts) == len(uris) and all(
                h.state.word == "connected" for h in hosts.values()
            )

        def all_read() -> bool:
            return all(vm.vcpus is not None for vm in app.dashboard.table.vms.values())

        await _until(pilot, connected, 180)
        result["while filling"] = await _window(app, uris, seconds)
        await _until(pilot, all_read, 300)
        result["all read"] = await _window(app, uris, seconds)
    return result


async def _until(pilot: Any, predicate: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def _window(app: Any, uris: list[str], seconds: float) -> dict[str, object]:
    tickers = app.manager.tickers
    before = {host: t.samples for host, t in tickers.items()}
    lags: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        asked = time.monotonic()
        await asyncio.sleep(0.05)
        lags.append(time.monotonic() - asked - 0.05)
    rates = {host: (t.samples - before.get(host, 0)) / seconds for host, t in tickers.items()}
    slow_uri = uris[-1]
    return {
        "fast_ticks_per_s": [round(r, 2) for h, r in rates.items() if h != slow_uri],
        "slow_ticks_per_s": round(rates.get(slow_uri, 0.0), 2),
        "lag_median_ms": round(1000 * statistics.median(lags), 1),
        "lag_p99_ms": round(1000 * sorted(lags)[int(len(lags) * 0.99) - 1], 1),
        "lag_max_ms": round(1000 * max(lags), 1),
    }


def print_windows(result: dict[str, object]) -> None:
    """A markdown table of _many_hosts_app's windows, one column per window."""
    windows = list(result)
    print("| figure | " + " | ".join(windows) + " |")
    print("| --- |" + " --- |" * len(windows))
    first = result[windows[0]]
    assert isinstance(first, dict)
    for key in first:
        values = [result[w][key] for w in windows]  # type: ignore[index]
        print(f"| {key} | " + " | ".join(str(v) for v in values) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--skip-virt-manager", action="store_true")
    parser.add_argument("--skip-list", action="store_true", help="skip the list timings")
    args = parser.parse_args()
    ssh_port = int(testbed()["TVIRT_TEST_SSH_PORT"])

    print(f"## Scale host: {args.vms} VMs over test+ssh at a 20 ms round trip\n")
    rpc_counts = (10, 100, args.vms)
    screen: float | None = None
    vm_peer: PeerFigures | str | None = None
    with scale_node(args.vms) as node, proxied(RTT_DELAY) as port:
        uri = ssh_test_uri(port, node)
        if not args.skip_list:
            rows = list_times(uri, args.vms, args.runs)
            screen = rows[2][1]
            peer = rows[0][1]
            print(f"| what | median of {args.runs} (s) | ratio to virsh |")
            print("| --- | --- | --- |")
            for name, secs in rows:
                print(f"| {name} | {secs:.2f} | {secs / peer:.2f} |")
            print()
        cpu, rss = idle_tvirt(uri, args.vms, args.idle_seconds)
        print(f"| idle monitoring at a 1 s tick, {args.idle_seconds:g} s | CPU % of one core "
              "| peak RSS (MiB) |")
        print("| --- | --- | --- |")
        print(f"| tvirt | {cpu:.1f} | {rss:.0f} |")
        if not args.skip_virt_manager:
            vm_peer = virt_manager(uri, port, args.vms, args.runs, args.idle_seconds, rpc_counts)
            if isinstance(vm_peer, str):
                print(f"| virt-manager | could not be run: {vm_peer.splitlines()[0]} | |")
            else:
                print(f"| virt-manager (peer, its own 3 s tick) "
                      f"| {statistics.median(r.cpu_pct for r in vm_peer[0]):.1f} "
                      f"| {statistics.median(r.rss_mib for r in vm_peer[0]):.0f} |")
        print()
    print("## libvirt RPC calls per stats tick\n")
    print("| VMs | RPC calls per tick (tvirt) | calls to read each VM once (per-domain peer) |")
    print("| --- | --- | --- |")
    tvirt_rpc = rpc_per_tick(ssh_port, rpc_counts)
    for row in tvirt_rpc:
        print(f"| {row['vms']} | {row['calls_per_tick']:g} | {row['per_domain_calls']} |")
    print()
    if isinstance(vm_peer, str):
        print(f"virt-manager could not be run:\n\n```\n{vm_peer}\n```\n")
    elif vm_peer is not None:
        print_peer_ratios(vm_peer, cpu, rss, screen, tvirt_rpc, args.runs)
    print("## Eight hosts, one behind a 500 ms round trip\n")
    with scale_node(100) as node:
        result = many_hosts(node, 20)
    print_windows(result)


if __name__ == "__main__":
    main()
