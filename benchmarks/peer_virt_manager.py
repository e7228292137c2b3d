"""virt-manager as a peer on a scale host: launch to the full list, idle CPU and RSS, RPC calls.

    .venv/bin/python -m benchmarks.peer_virt_manager [--vms 1000] [--runs 3]
        [--idle-seconds 30] [--rpc-counts 10,100,1000] [--rpc-seconds 30]

Needs the test bed, virt-manager and Xvfb (Debian: `apt-get install virt-manager xvfb`).
Makes its own scale node and 20 ms round-trip proxy and prints markdown tables.

What is measured, and how:
- Launch to list: virt-manager runs with --debug and its stderr is read live, each line
  timestamped on arrival against a clock started before Popen. It logs `domain=NAME
  status=S added` as each VM enters its connection model, and `Showing manager` once the
  manager window, built from the full model with every VM row, is presented: with
  `--connect` the window is only built after the connection has all its initial objects.
  "Showing manager" is the figure compared with tvirt; the Nth "added" is also reported.
- Xvfb is started beforehand (its start-up is not timed) and its CPU is reported apart.
- Idle CPU % of one core sums the virt-manager python process and its children (its ssh
  tunnel), as benchmarks.scale.cpu_seconds does for tvirt. Peak RSS is VmHWM of the python
  process only, as for tvirt.
- RPC calls: libvirt's client log (LIBVIRT_LOG_FILTERS=1:rpc) in an idle window after the
  list is shown. Each of virt-manager's ticks starts with one virNodeGetInfo, so those mark
  tick boundaries; calls per tick is the median over the whole ticks in the window.

Caveats: virt-manager skips the bulk virConnectGetAllDomainStats on test-driver
connections (statsmanager: `conn.is_test()`), so on this scale host it polls per domain;
on a QEMU host its tick would be lighter. At connect it also creates a 'default' storage
pool if there is none (virtinst build_default_pool, not configurable): here that only
touches the private test-driver node, but on a real host it would define a real pool.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

from benchmarks.harness import cpu_seconds, peak_rss_mib, proxied, scale_node, ssh_test_uri

ADDED = re.compile(r"\bdomain=\S+ status=\S+ added$")
SHOWN = "Showing manager"
# virt-manager logs these when the connection fails; waiting longer would not help.
FAILED = ("changed to state=Disconnected", "Removing failed uri")
DIALOG = "error dialog message"  # logged just after, with libvirt's error text
# Same shape as benchmarks.rpc_count.CALL (a remote-program call, not a keepalive), but
# kept here so this module does not import tvirt.
CALL = re.compile(r"^(\S+ \S+?)\+\d{4}: .*RPC_CLIENT_MSG_TX_QUEUE: .* prog=536903814 .*proc=(\d+) "
                  r"type=0 ", re.MULTILINE)
NODE_GET_INFO = 6  # virt-manager's tick opens with conn.getInfo()
# remote_protocol.x names of the procedures seen in virt-manager's idle ticks.
PROCS: dict[int, str] = {6: "NODE_GET_INFO", 16: "DOMAIN_GET_INFO"}
MIN_WHOLE_TICKS = 3  # a slow host's ticks run back to back; wait for a few whole ones
STDERR_TAIL = 15


class PeerError(RuntimeError):
    """virt-manager (or its display) could not be run or never listed the VMs."""


@dataclass
class ListRun:
    added_s: float  # launch to the last expected "added" line
    shown_s: float  # launch to "Showing manager" (window built with every row)
    cpu_pct: float  # virt-manager + its ssh child, % of one core
    xvfb_cpu_pct: float
    rss_mib: float


@dataclass
class RpcRun:
    vms: int
    interval_s: float  # configured stats update-interval
    window_s: float
    ticks: int
    calls: int
    calls_per_tick: float  # median over whole ticks in the window
    tick_period_s: float  # median gap between tick starts, from libvirt's log times
    procs_per_tick: dict[str, float] = field(default_factory=dict)

    @property
    def calls_per_s(self) -> float:
        return self.calls / self.window_s


def available() -> str | None:
    """None if virt-manager and Xvfb are installed, else what is missing."""
    missing = [name for name in ("virt-manager", "Xvfb") if not shutil.which(name)]
    return ", ".join(missing) + " not installed" if missing else None


def _stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    """Ends a process we started, then any children it left, each by its own pid."""
    children: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        children = psutil.Process(proc.pid).children(recursive=True)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()


@contextlib.contextmanager
def xvfb() -> Iterator[tuple[str, psutil.Process]]:
    """A private X display; -displayfd picks a free number and says when it is ready."""
    read_fd, write_fd = os.pipe()
    err = tempfile.TemporaryFile()  # a file, not a pipe nobody drains while it runs
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-nolisten", "tcp", "-screen", "0",
         "1280x1024x24"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=err,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        number = os.read(read_fd, 64).decode().strip() if ready else ""
        if not number:
            _stop(proc)
            err.seek(0)
            raise PeerError(f"Xvfb did not start: {err.read().decode(errors='replace')[-500:]}")
        yield f":{number}", psutil.Process(proc.pid)
    finally:
        os.close(read_fd)
        _stop(proc)
        err.close()


class VirtManager:
    """virt-manager --debug on one URI, with its stderr read and timestamped live."""

    def __init__(self, uri: str, display: str, home: Path, rpc_log: Path | None = None) -> None:
        self.uri = uri
        env = {
            **os.environ,
            "DISPLAY": display,
            # In-memory settings: no dconf (whose writes need dbus-launch, absent here) and
            # nothing persisted to the user's settings; keys keep their schema defaults.
            "GSETTINGS_BACKEND": "memory",
            # Its log file and GTK state go to a temp dir. HOME is kept: ssh reads
            # ~/.ssh/config from the passwd home anyway, which has the test bed's key.
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "NO_AT_BRIDGE": "1",  # no accessibility bus to start or wait for
        }
        if rpc_log is not None:  # libvirt reads these once, when the client initialises
            env |= {"LIBVIRT_LOG_FILTERS": "1:rpc", "LIBVIRT_LOG_OUTPUTS": f"1:file:{rpc_log}"}
        self.lines: collections.deque[str] = collections.deque(maxlen=200)
        self.added: list[float] = []
        self.shown: float | None = None
        self.failed = False
        self.dialog = False
        self._changed = threading.Condition()
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(
            ["virt-manager", "--no-fork", "--debug", "--connect", uri],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, errors="replace",
        )
        self._reader = threading.Thread(target=self._read, name="virt-manager-stderr",
                                        daemon=True)
        self._reader.start()

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.popen.pid)  # the script's shebang execs python3 in place

    def _read(self) -> None:
        assert self.popen.stderr is not None
        for raw in self.popen.stderr:
            now = time.perf_counter() - self.started
            line = raw.rstrip("\n")
            with self._changed:
                self.lines.append(line)
                if ADDED.search(line):
                    self.added.append(now)
                elif SHOWN in line and self.shown is None:
                    self.shown = now
                elif any(word in line for word in FAILED):
                    self.failed = True
                elif DIALOG in line:
                    self.dialog = True
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def tail(self) -> str:
        with self._changed:
            return "\n".join(list(self.lines)[-STDERR_TAIL:])

    def wait_listed(self, vms: int, timeout: float) -> tuple[float, float]:
        """Seconds from launch to the vms-th "added" line and to "Showing manager"."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.added) < vms or self.shown is None:
                left = deadline - time.monotonic()
                why = ("it failed to connect" if self.failed
                       else f"it exited ({self.popen.returncode})" if self.popen.poll() is not None
                       else f"no full list after {timeout:g} s" if left <= 0 else "")
                if why:
                    if self.failed:  # give it a moment to log the error dialog's text
                        self._changed.wait_for(lambda: self.dialog, 3)
                        self._changed.wait(0.3)
                    raise PeerError(
                        f"virt-manager did not list {vms} VMs on {self.uri}: {why}, "
                        f"{len(self.added)} added; last stderr lines:\n{self.tail()}")
                self._changed.wait(min(left, 1.0))
            return self.added[vms - 1], self.shown

    def close(self) -> None:
        _stop(self.popen)
        self._reader.join(5)


def update_interval() -> float:
    """The stats update-interval virt-manager reads, under the same settings backend."""
    out = subprocess.run(
        ["gsettings", "get", "org.virt-manager.virt-manager.stats", "update-interval"],
        env={**os.environ, "GSETTINGS_BACKEND": "memory"}, capture_output=True, text=True,
        check=True, timeout=30,
    ).stdout
    return max(float(out.split()[-1]), 1.0)  # virt-manager clamps it to at least 1 s


def _read_calls(log: Path, start: int, end: int) -> list[tuple[float, int]]:
    """(log time in s, procedure) of each remote call between two file offsets."""
    with log.open("rb") as f:
        f.seek(start)
        text = f.read(end - start).decode(errors="replace")
    if start:  # drop the line cut by the start offset
        text = text.partition("\n")[2]
    return [(datetime.fromisoformat(m.group(1)).timestamp(), int(m.group(2)))
            for m in CALL.finditer(text)]


def _tick_starts(log: Path, start: int) -> int:
    return sum(proc == NODE_GET_INFO for _, proc in _read_calls(log, start, log.stat().st_size))


def measure_list(uri: str, vms: int, idle_seconds: float, timeout: float = 600) -> ListRun:
    """One launch: time to the full list, then idle CPU and peak RSS after settling."""
    with tempfile.TemporaryDirectory(prefix="tvirt-peer-") as tmp, xvfb() as (display, xserver):
        peer = VirtManager(uri, display, Path(tmp))
        try:
            added, shown = peer.wait_listed(vms, timeout)
            time.sleep(5)  # settle: let the first ticks after the list pass
            proc = peer.process
            cpu0, x0, start = cpu_seconds(proc), cpu_seconds(xserver), time.monotonic()
            time.sleep(idle_seconds)
            if peer.popen.poll() is not None:
                raise PeerError(f"virt-manager exited while idle; last stderr:\n{peer.tail()}")
            elapsed = time.monotonic() - start
            cpu = 100 * (cpu_seconds(proc) - cpu0) / elapsed
            xcpu = 100 * (cpu_seconds(xserver) - x0) / elapsed
            return ListRun(added, shown, cpu, xcpu, peak_rss_mib(proc))
        finally:
            peer.close()


def measure_rpc(uri: str, vms: int, seconds: float, timeout: float = 600,
                max_seconds: float = 240) -> RpcRun:
    """libvirt calls in an idle window after the list is shown, split at each tick."""
    with tempfile.TemporaryDirectory(prefix="tvirt-peer-") as tmp, xvfb() as (display, _):
        log = Path(tmp) / "rpc.log"
        peer = VirtManager(uri, display, Path(tmp), rpc_log=log)
        try:
            peer.wait_listed(vms, timeout)
            time.sleep(5)
            start_at, start = log.stat().st_size, time.monotonic()
            # At least `seconds`, and long enough for some whole ticks (capped).
            while time.monotonic() - start < seconds or (
                    _tick_starts(log, start_at) <= MIN_WHOLE_TICKS
                    and time.monotonic() - start < max_seconds):
                time.sleep(1)
            end_at, window = log.stat().st_size, time.monotonic() - start
        finally:
            peer.close()
        calls = _read_calls(log, start_at, end_at)
    marks = [i for i, (_, proc) in enumerate(calls) if proc == NODE_GET_INFO]
    whole = [b - a for a, b in itertools.pairwise(marks)]
    gaps = [calls[b][0] - calls[a][0] for a, b in itertools.pairwise(marks)]
    procs = [proc for _, proc in (calls[marks[0]:marks[-1]] if whole else calls)]
    per = max(len(whole), 1)
    return RpcRun(
        vms=vms, interval_s=update_interval(), window_s=window, ticks=len(marks),
        calls=len(calls), calls_per_tick=statistics.median(whole) if whole else float(len(calls)),
        tick_period_s=statistics.median(gaps) if gaps else float("nan"),
        procs_per_tick={f"{PROCS.get(p, '?')} ({p})": n / per
                        for p, n in collections.Counter(procs).items()},
    )


def _fmt_procs(procs: dict[str, float]) -> str:
    return ", ".join(f"{name} {n:g}" for name, n in sorted(procs.items(), key=lambda kv: -kv[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--rpc-counts", default="", help="VM counts for RPC (default 10,100,VMS)")
    parser.add_argument("--rpc-seconds", type=float, default=30)
    parser.add_argument("--skip-rpc", action="store_true")
    args = parser.parse_args()
    if missing := available():
        raise SystemExit(f"virt-manager peer: {missing}")
    counts = [int(c) for c in args.rpc_counts.split(",") if c] or [10, 100, args.vms]

    runs: list[ListRun] = []
    rpcs: list[RpcRun] = []
    errors: list[str] = []  # an RPC count that fails does not lose the other figures
    with proxied() as port:
        with scale_node(args.vms) as node:
            uri = ssh_test_uri(port, node)
            for i in range(args.runs):
                try:
                    runs.append(measure_list(uri, args.vms, args.idle_seconds))
                except PeerError as exc:
                    errors.append(str(exc))
                    continue
                print(f"run {i + 1}: {runs[-1]}", file=sys.stderr, flush=True)
        for count in [] if args.skip_rpc else counts:
            with scale_node(count) as node:
                try:
                    rpcs.append(measure_rpc(ssh_test_uri(port, node), count, args.rpc_seconds))
                except PeerError as exc:
                    errors.append(str(exc))
                    continue
            print(f"rpc: {rpcs[-1]}", file=sys.stderr, flush=True)
    if not runs and not rpcs:
        raise SystemExit("\n".join(errors))

    print(f"## virt-manager, {args.vms} VMs over test+ssh at a 20 ms round trip\n")
    print("| run | launch to last VM added (s) | launch to manager shown (s) "
          f"| idle CPU % over {args.idle_seconds:g} s | Xvfb CPU % | peak RSS (MiB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    med = statistics.median
    for i, r in enumerate(runs, 1):
        print(f"| {i} | {r.added_s:.2f} | {r.shown_s:.2f} | {r.cpu_pct:.1f} "
              f"| {r.xvfb_cpu_pct:.1f} | {r.rss_mib:.0f} |")
    if runs:
        print(f"| median | {med(r.added_s for r in runs):.2f} | {med(r.shown_s for r in runs):.2f} "
              f"| {med(r.cpu_pct for r in runs):.1f} | {med(r.xvfb_cpu_pct for r in runs):.1f} "
              f"| {med(r.rss_mib for r in runs):.0f} |")
    if rpcs:
        print(f"\n## virt-manager libvirt RPC calls, idle window of {args.rpc_seconds:g} s\n")
        print("| VMs | set interval (s) | measured tick period (s) | ticks in window (s) "
              "| calls per tick | calls per s | procedures per tick |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for rpc in rpcs:
            print(f"| {rpc.vms} | {rpc.interval_s:g} | {rpc.tick_period_s:.2f} "
                  f"| {rpc.ticks} ({rpc.window_s:.0f}) "
                  f"| {rpc.calls_per_tick:g} | {rpc.calls_per_s:.1f} "
                  f"| {_fmt_procs(rpc.procs_per_tick)} |")
    for error in errors:
        print(f"\nFailed:\n\n```\n{error}\n```")


if __name__ == "__main__":
    main()
