"""Idle cost of the full app (headless) over local test-driver node files: event-loop lag
and the process's CPU, without ssh or delay proxies, so before/after is steadier.

    .venv/bin/python -m benchmarks.idle_local [--hosts 50] [--vms 200] [--seconds 30] [--slow S]
        [--profile out.pstats]

Self-contained (tvirt, textual, psutil only), so the same file can run under another
tree's venv for a "before" figure. --profile runs cProfile on the event loop's thread
during the window (then the lag and CPU figures include the profiler's own cost).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import re
import resource
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

STEP = 0.05


def write_node(path: Path, count: int) -> None:
    """A test-driver node file with `count` VMs, half running."""
    domains = "".join(
        "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        f"<name>vm{i:04d}</name><uuid>{uuid.UUID(int=i + 1)}</uuid>"
        "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
        f"<test:runstate>{1 if i % 2 == 0 else 5}</test:runstate></domain>"
        for i in range(count)
    )
    path.write_text(
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
        f"<mhz>2000</mhz></cpu><memory>8388608</memory>{domains}</node>"
    )


def _thread_times(me: psutil.Process) -> dict[str, float]:
    """CPU seconds by thread kind (the name without its numbers), from the kernel."""
    names = {t.native_id: re.sub(r"[-_ ]?\d+", "", t.name) for t in threading.enumerate()}
    out: dict[str, float] = {}
    for t in me.threads():
        kind = names.get(t.id, "other (libvirt, C)")
        out[kind] = out.get(kind, 0.0) + t.user_time + t.system_time
    return out


async def _lags(seconds: float) -> list[float]:
    lags: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        asked = time.monotonic()
        await asyncio.sleep(STEP)
        lags.append(time.monotonic() - asked - STEP)
    return lags


async def run(
    uris: list[str],
    vms: int,
    seconds: float,
    profile: str | None,
    slow: float = 0.0,
    options: dict[str, object] | None = None,
) -> str:
    from tvirt.screens.app import TvirtApp

    total = len(uris) * vms
    app = TvirtApp(uris=uris, **(options or {}))  # type: ignore[arg-type]
    me = psutil.Process()
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.dashboard.table
        start = time.monotonic()
        while not (len(table.vms) == total == table.row_count and all(
            vm.vcpus is not None for vm in table.vms.values()
        )):
            if time.monotonic() - start > 600:
                raise TimeoutError("the rows never all came")
            await asyncio.sleep(0.1)
        loaded = time.monotonic() - start
        await asyncio.sleep(5)
        prof = cProfile.Profile() if profile else None
        if slow:
            # asyncio's debug mode logs every callback longer than this, with its handle.
            loop = asyncio.get_running_loop()
            loop.slow_callback_duration = slow
            loop.set_debug(True)
        cpu0, wall0 = sum(me.cpu_times()[:2]), time.monotonic()
        threads0 = _thread_times(me)
        if prof:
            prof.enable()
        lags = await _lags(seconds)
        if prof and profile:
            prof.disable()
            prof.dump_stats(profile)
        span = time.monotonic() - wall0
        cpu = (sum(me.cpu_times()[:2]) - cpu0) / span * 100
        threads1 = _thread_times(me)
        by_kind = sorted(
            ((threads1[k] - threads0.get(k, 0.0)) / span * 100, k) for k in threads1
        )
        kinds = ", ".join(f"{k} {v:.1f}" for v, k in reversed(by_kind) if v >= 0.1)
        await pilot.pause()
    ordered = sorted(lags)
    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)]
    load = os.getloadavg()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return (
        f"{len(uris)} x {vms} VMs, loaded in {loaded:.1f} s; idle {seconds:g} s: "
        f"CPU {cpu:.1f} % of one core ({kinds}); lag median / p99 / max "
        f"{1000 * statistics.median(ordered):.1f} / {1000 * p99:.1f} / "
        f"{1000 * ordered[-1]:.1f} ms; peak RSS {peak:.0f} MiB; "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--profile")
    parser.add_argument("--slow", type=float, default=0.0,
                        help="log event-loop callbacks longer than this many seconds")
    parser.add_argument("--per-tick", type=int,
                        help="VMs read a tick ([ui] vms_per_tick; trees that have it)")
    parser.add_argument("--no-stats", action="store_true",
                        help="no stats ticks: the app's own idle cost")
    args = parser.parse_args()
    options: dict[str, object] = {}
    if args.per_tick is not None:
        options["tick_budget"] = args.per_tick
    if args.no_stats:
        options["stats"] = False
    with tempfile.TemporaryDirectory(prefix="tvirt-idle-") as tmp:
        uris = []
        for h in range(args.hosts):
            node = Path(tmp) / f"node{h:02d}.xml"
            write_node(node, args.vms)
            uris.append(f"test://{node}")
        if args.slow:
            import logging

            logging.basicConfig(level=logging.WARNING)
        result = asyncio.run(run(uris, args.vms, args.seconds, args.profile, args.slow, options))
        print(result, flush=True)


if __name__ == "__main__":
    main()
