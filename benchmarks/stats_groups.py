"""What the light stats groups save: getAllDomainStats with every group the ticker used to
ask for, against only what the VM table needs, on local test-driver node files (no ssh,
so the figure is libvirt-python and the driver, not the network). Best of `--runs`.

    .venv/bin/python -m benchmarks.stats_groups [--hosts 50] [--vms 200] [--runs 5]

Prints a markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import libvirt

from benchmarks.harness import scale_node
from tvirt.stats import parse_domain
from tvirt.ticker import FULL_GROUPS, LIGHT_GROUPS


def _best(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _parse(records: list[tuple[Any, dict[str, Any]]]) -> None:
    for dom, record in records:
        parse_domain(dom.UUIDString(), dom.name(), record, dom.ID())


def measure(conns: list[Any], runs: int) -> list[tuple[str, float]]:
    rows: list[tuple[str, float]] = []
    for name, groups in (("full", FULL_GROUPS), ("light", LIGHT_GROUPS)):
        def fetch(groups: int = groups) -> list[list[tuple[Any, dict[str, Any]]]]:
            return [c.getAllDomainStats(groups, 0) for c in conns]

        rows.append((f"getAllDomainStats, {name} groups", _best(runs, fetch)))
        answers = fetch()

        def parse_all(answers: list[list[tuple[Any, dict[str, Any]]]] = answers) -> None:
            for records in answers:
                _parse(records)

        parse = _best(runs, parse_all)
        rows.append((f"parse the {name} records", parse))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--uri", help="a real host instead of test-driver node files")
    args = parser.parse_args()
    with ExitStack() as stack:
        if args.uri:
            conns = [libvirt.open(args.uri)]
            args.hosts, args.vms = 1, len(conns[0].listAllDomains(0))
            keys = [len(r) for g in (FULL_GROUPS, LIGHT_GROUPS)
                    for _d, r in conns[0].getAllDomainStats(g, 0)[:1]]
            print(f"keys in one record, full / light: {keys}")
        else:
            nodes = [stack.enter_context(scale_node(args.vms)) for _ in range(args.hosts)]
            conns = [libvirt.open(f"test://{node}") for node in nodes]
        rows = measure(conns, args.runs)
    total = max(args.hosts * args.vms, 1)
    print(f"| one tick of {args.hosts} x {args.vms} VMs, best of {args.runs} | ms | µs a VM |")
    print("| --- | --- | --- |")
    for what, seconds in rows:
        print(f"| {what} | {seconds * 1e3:.1f} | {seconds / total * 1e6:.1f} |")


if __name__ == "__main__":
    main()
