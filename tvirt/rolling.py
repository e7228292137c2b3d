"""Rates when a tick reads only some of a host's VMs (the tick budget, tvirt.tiers).

Each VM's rates come from its own two latest samples, whatever ticks lay between them,
so a VM read once in k ticks gets its CPU % over its own k intervals. A tick that read
only some VMs says so (`StatsSnapshot.covered`); the VMs it did not read are not in its
`vms` and never in `removed`, and nothing is done for them: the table keeps their cells,
the history their last points. Only a tick that listed the host's VMs (a full tick, or
the listing that starts a round) says a VM is gone.
"""

from __future__ import annotations

from dataclasses import dataclass

from tvirt.stats import (
    DomainSample,
    HostSample,
    StatsSnapshot,
    VMRates,
    host_rates,
    vm_rates,
)


@dataclass(slots=True)
class Last:
    """A VM's newest sample, when it was read, and the rates it gave."""

    sample: DomainSample
    time: float
    rates: VMRates
    known: bool  # the rates had an interval (a sample before this one)
    cpus: int  # the host's CPUs they were computed with


# uuid -> Last; the ticker keeps one per host from tick to tick.
VMLast = dict[str, Last]


def rolling_snapshot(
    host_id: str,
    prev: HostSample | None,
    cur: HostSample,
    last: VMLast,
    *,
    seq: int = 1,
    skipped: int = 0,
) -> StatsSnapshot:
    """The tick's snapshot; updates `last`. `prev` is the previous tick (host rates);
    an empty `last` (first tick, or after a pause or failure) gives no VM rates."""
    elapsed = cur.time - prev.time if prev is not None else None
    if elapsed is not None and elapsed <= 0:
        elapsed = None
    cpus, now = cur.cpus, cur.time
    out: list[VMRates] = []
    same: set[str] = set()
    get = last.get
    for d in cur.domains:
        entry = get(d.uuid)
        if entry is None:
            rates = vm_rates(None, d, None, cpus)
            last[d.uuid] = Last(d, now, rates, False, cpus)
            out.append(rates)
            continue
        if entry.sample is d:  # the same record as last time (tvirt.ticker)
            same.add(d.uuid)
            if entry.known and entry.cpus == cpus:
                # Every counter moved by zero: the rates stay (the common case of an
                # idle fleet, so it does no more than this).
                entry.time = now
                out.append(entry.rates)
                continue
        span: float | None = now - entry.time
        if span is not None and span <= 0:
            span = None
        rates = vm_rates(entry.sample, d, span, cpus)
        entry.sample, entry.time, entry.rates = d, now, rates
        entry.known, entry.cpus = span is not None, cpus
        out.append(rates)
    read = frozenset(d.uuid for d in cur.domains) if cur.partial or len(last) > len(out) else None
    if read is None:  # a full tick with every VM it knew: none gone
        gone = []
    elif cur.listed is not None:
        gone = [uuid for uuid in last if uuid not in cur.listed and uuid not in read]
    elif not cur.partial:
        gone = [uuid for uuid in last if uuid not in read]
    else:
        gone = []
    for uuid in gone:
        del last[uuid]
    return StatsSnapshot(
        host_id=host_id,
        seq=seq,
        time=cur.time,
        wall=cur.wall,
        elapsed=elapsed,
        bulk=cur.bulk,
        host=host_rates(prev, cur),
        vms=tuple(out),
        removed=tuple(gone),
        skipped=skipped,
        steady=frozenset(same),
        covered=read if cur.partial else None,
    )
