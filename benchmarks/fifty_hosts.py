"""Fifty hosts, ten thousand VMs (issue 20). Needs the test bed: `bash scripts/testbed.sh up`.

    .venv/bin/python -m benchmarks.fifty_hosts [--hosts 50] [--vms 200] [--skip-virt-manager]

Each host is its own test-driver node file of `--vms` VMs (half running) served by the
local libvirtd over `test+ssh://` through the local sshd: most directly, five behind the
delay proxy at a 20 ms round trip and two at 500 ms. Two runs of the full app:

1. In a pty, as a person runs it: launch to the status line's "N VMs" (every row in the
   table), CPU at the default 2 s tick (the app and its ssh children; the children apart
   too) and the bytes written to the terminal a second, first while the two far hosts
   still read VM details (a record every 0.5 s each, for minutes), then idle: once every
   host's details are read. Peak RSS. `--profile FILE` runs the app under cProfile.
2. Headless (Textual's run_test, in this process): event-loop lag and ticks per second
   per host while the far hosts still read details, the lag again once every host's are
   read, the lag while a filter is typed, and the time the Hosts panel, the filter, a
   sort and a batch action over 200 marked VMs take, each until its effect is on the
   widgets.

When the lab of scripts/lab.sh is up, its three real qemu+ssh hosts join the pty run
(the app then runs --readonly and presses no key: the lab is only looked at); the
table says when it was not up. The headless run, which starts VMs, never opens them.
virt-manager runs on the same URIs where it can (its saved connection list in a private
settings file, autoconnected), with a time cap; what it reached by then is reported.
Prints markdown tables for docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil

from benchmarks.harness import (
    RTT_DELAY,
    TVIRT,
    PtyApp,
    cpu_seconds,
    peak_rss_mib,
    proxied,
    scale_node,
    ssh_test_uri,
    testbed,
)
from benchmarks.lab_hosts import LAB_ENV, lab, vm_total

SLOW_DELAY = 0.250  # each way: a 500 ms round trip
READING = "reading vCPUs and memory"
LAG_STEP = 0.05


@contextlib.contextmanager
def fifty_uris(hosts: int, vms: int, near: int = 5, far: int = 2) -> Iterator[list[str]]:
    """`hosts` URIs, each its own node file: `near` at 20 ms, then `far` at 500 ms last."""
    port = int(testbed()["TVIRT_TEST_SSH_PORT"])
    with ExitStack() as stack:
        nodes = [stack.enter_context(scale_node(vms)) for _ in range(hosts)]
        near_port = stack.enter_context(proxied(RTT_DELAY))
        far_port = stack.enter_context(proxied(SLOW_DELAY))
        direct = hosts - near - far
        ports = [port] * direct + [near_port] * near + [far_port] * far
        yield [ssh_test_uri(p, node) for p, node in zip(ports, nodes, strict=True)]


def lab_uris() -> tuple[list[str], str]:
    """The lab's three qemu+ssh URIs (scripts/lab.sh) if it is up and answers, and why
    not otherwise. Only read here: a read-only connection counts its VMs."""
    if not LAB_ENV.exists():
        return [], "the lab was not up (no /run/tvirt-lab/env)"
    env = lab()
    uris = [env[f"TVIRT_LAB_{node.upper()}_URI"]
            for node in env.get("TVIRT_LAB_NODES", "").split(",") if node]
    try:
        vm_total(uris)
    except Exception as exc:  # any failure means: run without the lab
        return [], f"the lab did not answer ({str(exc).splitlines()[0]})"
    return uris, ""


def _status_count(text: str) -> int | None:
    """N of the status line's 'N VMs'."""
    match = re.search(r"(\d+) VMs", text)
    return int(match.group(1)) if match else None


def _config(tmp: Path) -> Path:
    path = tmp / "config.toml"
    path.write_text("")  # defaults: the 2 s tick; no saved hosts
    return path


def _ssh_children(proc: psutil.Process) -> list[psutil.Process]:
    with contextlib.suppress(psutil.Error):
        return [p for p in proc.children(recursive=True) if p.name() == "ssh"]
    return []


def pty_run(uris: list[str], vms: int, idle_seconds: float,
            lab: list[str] | None = None, profile: str = "") -> dict[str, float]:
    """Launch to every row; CPU (app, ssh children) and terminal bytes once the fast
    hosts are read (the far ones still reading), and idle once every host is read.
    With `lab` URIs the app opens them too and runs --readonly: this run presses no key,
    and read-only mode refuses every change, so the lab is only looked at."""
    fast = len(uris) - 2
    total = len(uris) * vms
    lab = lab or []
    with tempfile.TemporaryDirectory() as tmp:
        # --profile: the app under cProfile (its main thread: the event loop), written
        # when it quits at the end of the run.
        args = ([sys.executable, "-m", "cProfile", "-o", profile] if profile else []) + [TVIRT]
        args += ["--readonly"] if lab else []
        for uri in uris + lab:
            args += ["-c", uri]
        env = {"TVIRT_CONFIG": str(_config(Path(tmp)))}
        if profile:  # the tvirt of the interpreter's venv, not a tvirt/ in the cwd
            env["PYTHONSAFEPATH"] = "1"
        app = PtyApp(args, cols=160, rows=50, env=env)
        try:
            if lab:
                shown = _wait_for_count(app, total, lab, 300)
            else:
                shown = app.wait_for(f"{total} VMs", 300)
            # Idle: every fast host's details read (the two far hosts read one VM per
            # 0.5 s job for minutes; their reads are a job every 0.5 s on their workers).
            deadline = time.monotonic() + 300
            read = shown
            while time.monotonic() < deadline:
                app.pump(0.2)
                text = app.text()
                if READING not in text:
                    read = time.perf_counter() - app.started
                    break
                count = _read_count(text)
                if count is not None and count >= fast * vms:
                    read = time.perf_counter() - app.started
                    break
            # First window: the near hosts are read, the two far hosts still read one
            # VM per 0.5 s job (each record a status line and a table row to draw).
            reading = _idle(app, idle_seconds)
            # Idle: every host's details read, the far ones too (minutes at 500 ms).
            all_read = app.wait_gone(READING, 600)
            idle = _idle(app, idle_seconds)
            return {
                "shown_s": shown,
                "fast_read_s": read,
                "all_read_s": all_read,
                **{f"reading_{name}": value for name, value in reading.items()},
                **idle,
                "rss_mib": peak_rss_mib(app.process),
            }
        finally:
            app.close(60 if profile else 5)  # cProfile writes its file as the app exits


def _idle(app: PtyApp, seconds: float) -> dict[str, float]:
    """After 5 s to settle: CPU of the app and its ssh children over `seconds`, and the
    bytes the app wrote to the terminal a second."""
    proc = app.process
    settle = time.monotonic() + 5
    while time.monotonic() < settle:
        app.pump(0.1)
    children = _ssh_children(proc)
    start_all, start_app = cpu_seconds(proc), _own_cpu(proc)
    start_kids = sum(_own_cpu(c) for c in children)
    start, written = time.monotonic(), app.bytes_read
    while time.monotonic() - start < seconds:
        app.pump(0.1)
    elapsed = time.monotonic() - start
    return {
        "bytes_per_s": (app.bytes_read - written) / elapsed,
        "cpu_all_pct": 100 * (cpu_seconds(proc) - start_all) / elapsed,
        "cpu_app_pct": 100 * (_own_cpu(proc) - start_app) / elapsed,
        "cpu_ssh_pct": 100 * (sum(_own_cpu(c) for c in children) - start_kids) / elapsed,
        "ssh_children": float(len(children)),
    }


def _wait_for_count(app: PtyApp, total: int, lab: list[str], timeout: float) -> float:
    """Seconds from launch until the status line counts `total` test VMs and the lab's
    VMs as they are (re-read now and then: their count may change during the wait)."""
    deadline = time.perf_counter() + timeout
    lab_count, read_at = vm_total(lab), time.monotonic()
    while time.perf_counter() < deadline:
        app.pump(0.05)
        shown = _status_count(app.text())
        if shown is not None and shown >= total + lab_count:
            return time.perf_counter() - app.started
        if time.monotonic() - read_at > 5:
            lab_count, read_at = vm_total(lab), time.monotonic()
    raise TimeoutError(f"{total} VMs and the lab's never appeared; screen:\n{app.text()}")


def _own_cpu(proc: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        times = proc.cpu_times()
        return float(times.user + times.system)
    return 0.0


def _read_count(text: str) -> int | None:
    """N of 'reading vCPUs and memory, N of M' on the status line."""
    _, found, rest = text.partition(READING + ", ")
    if not found:
        return None
    number = rest.split(" ", 1)[0]
    return int(number) if number.isdigit() else None


# -- headless: lag, ticks per host, and the time of each interaction ----------------------


async def _lag_while(work: Awaitable[object] | None, seconds: float) -> list[float]:
    """Event-loop lag samples (s) over `seconds`, while `work` runs on the same loop."""
    task = asyncio.ensure_future(work) if work is not None else None
    lags: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end or (task is not None and not task.done()):
        asked = time.monotonic()
        await asyncio.sleep(LAG_STEP)
        lags.append(time.monotonic() - asked - LAG_STEP)
    if task is not None:
        await task
    return lags


def _lag_figures(lags: list[float]) -> str:
    ordered = sorted(lags)
    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)]
    return (f"{1000 * statistics.median(ordered):.1f} / {1000 * p99:.1f} / "
            f"{1000 * ordered[-1]:.1f}")


async def _until(predicate: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError("the app never got there")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def _tick_rates(app: Any, before: dict[str, int], seconds: float, uris: list[str]
                ) -> tuple[list[float], list[float]]:
    rates = {h: (t.samples - before.get(h, 0)) / seconds for h, t in app.manager.tickers.items()}
    far = set(uris[-2:])
    return ([rates.get(u, 0.0) for u in uris if u not in far],
            [rates.get(u, 0.0) for u in uris if u in far])


def _rate_words(rates: list[float]) -> str:
    return f"{min(rates):.2f} to {max(rates):.2f} (median {statistics.median(rates):.2f})"


async def headless(uris: list[str], vms: int, window: float) -> dict[str, str]:
    from textual.widgets import Input

    from tvirt.screens.app import TvirtApp

    total = len(uris) * vms
    fast = len(uris) - 2
    out: dict[str, str] = {}
    app = TvirtApp(uris=uris)
    async with app.run_test(size=(160, 50)) as pilot:
        table = app.dashboard.table
        listed = await _until(lambda: len(table.vms) == total == table.row_count, 300)
        out["launch to every row in the table (headless), s"] = f"{listed:.2f}"

        def fast_read() -> bool:
            unread = [vm for vm in table.vms.values() if vm.vcpus is None]
            return len(table.vms) - len(unread) >= fast * vms

        await _until(fast_read, 300)
        await asyncio.sleep(5)
        before = {h: t.samples for h, t in app.manager.tickers.items()}
        lags = await _lag_while(None, window)
        near, far = _tick_rates(app, before, window, uris)
        out["lag while the 2 far hosts still read details, median / p99 / max, ms"] = (
            _lag_figures(lags))
        out["ticks per second, 48 near hosts (idle)"] = _rate_words(near)
        out["ticks per second, 2 far hosts (idle)"] = _rate_words(far)
        await _until(lambda: all(vm.vcpus is not None for vm in table.vms.values()), 600)
        await asyncio.sleep(5)
        lags = await _lag_while(None, window)
        out["lag idle, every host's details read, median / p99 / max, ms"] = _lag_figures(lags)

        async def type_filter() -> None:
            await pilot.press("slash")
            for key in "vm01":
                await pilot.press(key)
                await asyncio.sleep(0.3)  # a person's typing speed
            await pilot.press("escape")

        before = {h: t.samples for h, t in app.manager.tickers.items()}
        start = time.monotonic()
        lags = await _lag_while(type_filter(), 0)
        typed = time.monotonic() - start
        out["lag while a filter is typed, median / p99 / max, ms"] = _lag_figures(lags)
        near, far = _tick_rates(app, before, typed, uris)
        out["ticks per second, near hosts, while typing"] = _rate_words(near)

        # The filter: from the last key to the table showing only its rows.
        filt = app.dashboard.query_one("#filter", Input)
        start = time.monotonic()
        filt.value = ""
        await _until(lambda: table.row_count == total, 60)
        await pilot.pause()
        out["clear the filter (10000 rows back), s"] = f"{time.monotonic() - start:.2f}"
        start = time.monotonic()
        filt.value = "vm0123"
        await pilot.pause()
        out["filter 'vm0123' (10000 rows to 50), s"] = f"{time.monotonic() - start:.2f}"
        filt.value = ""
        await pilot.pause()

        start = time.monotonic()
        await pilot.press("o")  # sort by host
        await pilot.pause()
        out["sort 10000 rows (o: by host), s"] = f"{time.monotonic() - start:.2f}"
        await pilot.press("O")
        await pilot.pause()
        await pilot.press(*["o"] * 6)  # back to name
        await pilot.pause()

        out |= await _hosts_panel(app, pilot)
        out |= await _batch(app, pilot, vms)
    return out


async def _hosts_panel(app: Any, pilot: Any) -> dict[str, str]:
    """Focus the Hosts panel and move to its last host; fold it (z); its filter (/)."""
    out: dict[str, str] = {}
    hosts = app.dashboard.host_list
    start = time.monotonic()
    hosts.focus()
    await pilot.press("end")
    await pilot.pause()
    out["Hosts panel: focus, go to the last host, s"] = f"{time.monotonic() - start:.2f}"
    start = time.monotonic()
    await pilot.press("z")
    await pilot.pause()
    out["Hosts panel: fold the connected hosts (z), s"] = f"{time.monotonic() - start:.2f}"
    await pilot.press("z")
    await pilot.pause()
    await pilot.press("slash")
    # The filter, typed: a host's own label (labels are the part of the URI that differs).
    wanted = next(iter(reversed(app.hosts.values()))).label
    start = time.monotonic()
    # Queued at once, as in _batch: press() would wait up to a second after each key.
    from textual import events

    for char in wanted:
        app.post_message(events.Key(char if char.isalnum() else f"chr{ord(char)}", char))
    await _until(lambda: hosts.option_count == 1, 120)
    await pilot.pause()
    out[f"Hosts panel: type a host's label ({len(wanted)} keys) to one host, s"] = (
        f"{time.monotonic() - start:.2f}")
    await pilot.press("escape")  # clears the filter, back in the panel
    await pilot.press("escape")  # back to the VM table
    await pilot.pause()
    return out


async def _batch(app: Any, pilot: Any, vms: int) -> dict[str, str]:
    """Mark 200 shut-off VMs with Space and start them with s; until all 200 report."""
    from textual import events

    table = app.dashboard.table
    await pilot.press("f", "f")  # state filter: shut off
    await pilot.pause()
    table.move_cursor(row=0)
    await pilot.pause()
    # The 400 keys go into the app's queue at once, as a fast typist's would: Pilot's
    # press() waits for the process to be idle after each key, which with fifty hosts
    # ticking never comes, so each key took its one-second cap (the "stall" of earlier
    # runs was mostly that).
    start = time.monotonic()
    for _ in range(200):
        app.post_message(events.Key("space", " "))
        app.post_message(events.Key("down", None))
    await _until(lambda: len(table.marks) >= 200, 300)
    marked = time.monotonic() - start
    targets = list(table.marks)
    done_before = len(app.messages)
    start = time.monotonic()
    await pilot.press("s")
    await _until(lambda: len(app.messages) - done_before >= len(targets), 120)
    await _until(lambda: all(table.vms[k].state.word == "running" for k in targets), 60)
    await pilot.pause()
    return {
        "mark 200 VMs (Space, Down, 200 times, keys queued at once), s": f"{marked:.2f}",
        f"start {len(targets)} marked VMs, until every result and row is in, s":
            f"{time.monotonic() - start:.2f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--idle-seconds", type=float, default=30)
    parser.add_argument("--window", type=float, default=20)
    parser.add_argument("--skip-virt-manager", action="store_true")
    parser.add_argument("--peer-cap", type=float, default=180,
                        help="seconds virt-manager gets to list the VMs")
    parser.add_argument("--skip-pty", action="store_true")
    parser.add_argument("--profile", default="",
                        help="run the pty app under cProfile, its stats written to this file")
    parser.add_argument("--skip-headless", action="store_true")
    parser.add_argument("--skip-lab", action="store_true",
                        help="leave out the lab's three real hosts even if it is up")
    args = parser.parse_args()
    total = args.hosts * args.vms
    lab, why = ([], "left out (--skip-lab)") if args.skip_lab else lab_uris()
    print(f"## {args.hosts} hosts, {total} VMs over test+ssh "
          f"({args.hosts - 7} direct, 5 at 20 ms, 2 at 500 ms)\n")
    with fifty_uris(args.hosts, args.vms) as uris:
        if not args.skip_pty:
            pty = pty_run(uris, args.vms, args.idle_seconds, lab, args.profile)
            print("| figure (pty, default 2 s tick) | tvirt |")
            print("| --- | --- |")
            lab_words = (f"{len(lab)} qemu+ssh hosts, {vm_total(lab)} VMs, app --readonly"
                         if lab else why)
            print(f"| the lab's real hosts in this run | {lab_words} |")
            also = ", the lab's too" if lab else ""
            print(f"| launch to the status line's \"{total} VMs\" (every row{also}), s "
                  f"| {pty['shown_s']:.2f} |")
            print(f"| launch to every near host's vCPUs and memory read, s "
                  f"| {pty['fast_read_s']:.2f} |")
            print(f"| launch to every host's vCPUs and memory read (the far ones too), s "
                  f"| {pty['all_read_s']:.2f} |")
            for prefix, words in (("reading_", "while the 2 far hosts still read details"),
                                  ("", "idle, every host's details read")):
                print(f"| {words}: CPU % of one core, app + its "
                      f"{pty[prefix + 'ssh_children']:.0f} ssh children "
                      f"| {pty[prefix + 'cpu_all_pct']:.1f} |")
                print(f"| {words}: of which the app / ssh "
                      f"| {pty[prefix + 'cpu_app_pct']:.1f} / {pty[prefix + 'cpu_ssh_pct']:.1f} |")
                print(f"| {words}: bytes written to the terminal a second "
                      f"| {pty[prefix + 'bytes_per_s']:.0f} |")
            print(f"| peak RSS of the app, MiB | {pty['rss_mib']:.0f} |\n", flush=True)
        if not args.skip_headless:
            figures = asyncio.run(headless(uris, args.vms, args.window))
            print("| figure (headless app) | tvirt |")
            print("| --- | --- |")
            for name, value in figures.items():
                print(f"| {name} | {value} |")
            print(flush=True)
        if not args.skip_virt_manager:
            from benchmarks import peer_fifty

            print(peer_fifty.report(uris, args.vms, cap=args.peer_cap))


if __name__ == "__main__":
    main()
