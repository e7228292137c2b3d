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
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psutil

from benchmarks.delay_proxy import DelayProxy
from benchmarks.harness import (
    TVIRT,
    PtyApp,
    known_port,
    median_seconds,
    run_quiet,
    scale_node,
    ssh_test_uri,
    testbed,
)

RTT_DELAY = 0.010  # each way: 20 ms round trip
SLOW_DELAY = 0.250  # each way: 500 ms round trip


@contextmanager
def proxied(delay: float) -> Iterator[int]:
    port = int(testbed()["TVIRT_TEST_SSH_PORT"])
    with DelayProxy(port, delay) as proxy, known_port(proxy.port):
        yield proxy.port


def cpu_seconds(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def peak_rss_mib(proc: psutil.Process) -> float:
    """VmHWM: the peak resident size the kernel recorded for the process."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def list_times(uri: str, vms: int, runs: int) -> list[tuple[str, float]]:
    virsh = median_seconds(lambda: run_quiet(["virsh", "-c", uri, "list", "--all"]), runs)
    plain = median_seconds(lambda: run_quiet([TVIRT, "-c", uri, "list"]), runs)
    screens = []
    for _ in range(runs):
        app = PtyApp([TVIRT, "-c", uri])
        try:
            screens.append(app.wait_for(f"{vms} VMs", 300))
        finally:
            app.close()
    return [
        ("`virsh list --all` (peer)", virsh),
        ("`tvirt list` (plain command)", plain),
        ("`tvirt` full-screen app, launch to the full list on screen", statistics.median(screens)),
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
            app.wait_for(f"{vms} VMs", 300)
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


def idle_virt_manager(uri: str, seconds: float) -> tuple[float, float] | None:
    if not shutil.which("virt-manager") or not shutil.which("xvfb-run"):
        subprocess.run(["apt-get", "install", "-y", "-q", "virt-manager", "xvfb"],
                       check=False, stdout=subprocess.DEVNULL,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("virt-manager") or not shutil.which("xvfb-run"):
        return None
    proc = subprocess.Popen(
        ["xvfb-run", "-a", "virt-manager", "--no-fork", "--connect", uri],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        target: psutil.Process | None = None
        while time.monotonic() < deadline and target is None:
            for child in psutil.Process(proc.pid).children(recursive=True):
                try:
                    line, name = " ".join(child.cmdline()), child.name()
                except psutil.Error:  # exited (or a zombie) while we looked
                    continue
                if "virt-manager" in line and name.startswith("python"):
                    target = child
            time.sleep(0.5)
        if target is None:
            return None
        time.sleep(20)  # let it connect and list the 1000 VMs
        return _idle(target, seconds)
    finally:
        for child in psutil.Process(proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
        proc.kill()
        proc.wait()


def many_hosts(node: Path, seconds: float) -> dict[str, object]:
    """Eight hosts, one behind a 500 ms round trip: tick counts per host and UI loop lag."""
    from tvirt.screens.app import TvirtApp

    with ExitStack() as stack:
        fast = [stack.enter_context(proxied(RTT_DELAY)) for _ in range(7)]
        slow = stack.enter_context(proxied(SLOW_DELAY))
        uris = [ssh_test_uri(port, node) for port in [*fast, slow]]
        return asyncio.run(_many_hosts_app(TvirtApp, uris, seconds))


async def _many_hosts_app(app_class: type, uris: list[str], seconds: float) -> dict[str, object]:
    app = app_class(uris=uris)
    lags: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 180
        while len(getattr(app, "hosts", {})) < len(uris) or not all(
            h.state.word == "connected" for h in app.hosts.values()
        ):
            if time.monotonic() > deadline:
                break
            await pilot.pause(0.1)
        tickers = getattr(app.manager, "tickers", {})
        before = {host: t.samples for host, t in tickers.items()}
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            asked = time.monotonic()
            await asyncio.sleep(0.05)
            lags.append(time.monotonic() - asked - 0.05)
        after = {host: t.samples for host, t in tickers.items()}
    rates = {host: (after[host] - before.get(host, 0)) / seconds for host in after}
    slow_uri = uris[-1]
    return {
        "fast_ticks_per_s": [round(r, 2) for h, r in rates.items() if h != slow_uri],
        "slow_ticks_per_s": round(rates.get(slow_uri, 0.0), 2),
        "lag_median_ms": round(1000 * statistics.median(lags), 1),
        "lag_p99_ms": round(1000 * sorted(lags)[int(len(lags) * 0.99) - 1], 1),
        "lag_max_ms": round(1000 * max(lags), 1),
    }


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
    with scale_node(args.vms) as node, proxied(RTT_DELAY) as port:
        uri = ssh_test_uri(port, node)
        if not args.skip_list:
            rows = list_times(uri, args.vms, args.runs)
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
            vm = idle_virt_manager(uri, args.idle_seconds)
            if vm is None:
                print("| virt-manager | could not be started | |")
            else:
                print(f"| virt-manager (peer, its own 3 s poll) | {vm[0]:.1f} | {vm[1]:.0f} |")
                print(f"\nRatios tvirt/virt-manager: CPU {cpu / max(vm[0], 0.01):.2f}, "
                      f"RSS {rss / max(vm[1], 0.01):.2f}")
        print()
    print("## libvirt RPC calls per stats tick\n")
    print("| VMs | RPC calls per tick (tvirt) | calls to read each VM once (per-domain peer) |")
    print("| --- | --- | --- |")
    for row in rpc_per_tick(ssh_port, (10, 100, args.vms)):
        print(f"| {row['vms']} | {row['calls_per_tick']:g} | {row['per_domain_calls']} |")
    print()
    print("## Eight hosts, one behind a 500 ms round trip\n")
    with scale_node(100) as node:
        result = many_hosts(node, 20)
    print("| figure | value |")
    print("| --- | --- |")
    for key, value in result.items():
        print(f"| {key} | {value} |")


if __name__ == "__main__":
    main()
