"""Counts libvirt RPC calls per stats tick, from libvirt's own client log.

Run as a child process: libvirt reads LIBVIRT_LOG_* when it initialises, so the parent
sets them. Each remote call is one RPC_CLIENT_MSG_TX_QUEUE line of the remote program
(prog=536903814) with type=0; keepalive pings use another program and are not counted.

    python -m benchmarks.rpc_count URI TICKS LOGFILE
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path

from tvirt.inventory import Inventory
from tvirt.manager import HostManager
from tvirt.stats import StatsSnapshot
from tvirt.ticker import StatsTicker

CALL = re.compile(r"RPC_CLIENT_MSG_TX_QUEUE: .* prog=536903814 .*proc=(\d+) type=0 ")


def calls(log: Path) -> list[int]:
    return [int(m.group(1)) for m in CALL.finditer(log.read_text(errors="replace"))]


def main(uri: str, ticks: int, log: Path) -> None:
    inventory = Inventory()
    manager = HostManager(inventory.apply, reconnect=False)
    worker = manager.add(uri)
    deadline = time.monotonic() + 120
    while worker.host_id not in inventory.listed and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.call(lambda _conn: None).result(60)  # let the after-listing jobs finish
    got = threading.Semaphore(0)

    def on_sample(_snap: StatsSnapshot) -> None:
        got.release()

    # The first tick also reads the host's CPU count once; count from the second on.
    ticker = StatsTicker(worker, on_sample, interval=0.3)
    ticker.start()
    got.acquire(timeout=120)
    before = len(calls(log))
    for _ in range(ticks):
        got.acquire(timeout=120)
    ticker.stop()
    ticker.wait_idle(60)
    tick_calls = calls(log)[before:]
    # The per-domain way, for comparison: one info() per domain (what a naive poller does).
    mark = len(calls(log))
    worker.call(lambda conn: [dom.info() for dom in conn.listAllDomains(0)]).result(600)
    naive = len(calls(log)) - mark
    manager.stop()
    print(json.dumps({
        "vms": len(inventory.vms),
        "ticks": ticks,
        "calls_per_tick": len(tick_calls) / ticks,
        "procs": sorted(set(tick_calls)),
        "per_domain_calls": naive,
    }))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
