"""Reading domains from a connection into VMInfo records, in as few calls as we can."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import libvirt

from tvirt.model import VMInfo, VMState

_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_BALLOON
)


def list_domains(
    conn: libvirt.virConnect, host_id: str, *, details: bool
) -> list[tuple[VMInfo, libvirt.virDomain]]:
    """All domains of a host, each with its handle.

    One bulk stats call gives state, vCPUs and memory where the driver supports it;
    autostart and persistence come from two filtered listings instead of a call per VM.
    Drivers whose bulk stats lack vCPUs or memory (the test driver; some older ones)
    need one info() per domain: with details=False those are left as None, so the list
    costs a few round trips whatever the VM count, and fill_details() reads them later.
    """
    # The four calls go at once (at_once): over ssh each is a round trip, and a host at
    # a 500 ms round trip waited two seconds for them one after the other.
    domains, autostart, transient, stats = at_once(
        lambda: conn.listAllDomains(0),
        lambda: _uuids(conn, libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART),
        lambda: _uuids(conn, libvirt.VIR_CONNECT_LIST_DOMAINS_TRANSIENT),
        lambda: _bulk_stats(conn),
    )
    result = []
    for dom in domains:
        uuid = dom.UUIDString()
        record = stats.get(uuid, {})
        vcpus: int | None = None
        memory: int | None = None
        if "vcpu.current" in record and "balloon.maximum" in record:
            vcpus, memory = int(record["vcpu.current"]), int(record["balloon.maximum"])
        if "state.state" in record and (vcpus is not None or not details):
            state = VMState.from_libvirt(int(record["state.state"]))
        else:
            read = _info(dom)
            if read is None:
                continue
            state, vcpus, memory = read
        vm = VMInfo(
            host_id=host_id,
            uuid=uuid,
            name=dom.name(),
            state=state,
            vcpus=vcpus,
            memory_kib=memory,
            autostart=uuid in autostart,
            persistent=uuid not in transient,
        )
        result.append((vm, dom))
    return result


def fill_details(
    pairs: list[tuple[VMInfo, libvirt.virDomain]],
    budget: float | None = None,
    at_once: int = 1,
) -> tuple[list[VMInfo], int]:
    """The records with vCPUs and memory read (one info() each), and how many of `pairs`
    were used: all of them, or with a budget in seconds, as many as fit (at least one
    round). With at_once > 1 the calls go in rounds of that many at once, from threads
    of this call: a libvirt connection carries several calls in flight, so a host at a
    500 ms round trip answers a round in about one round trip instead of one per VM.

    State comes with the same call, so it is refreshed too. A domain undefined
    meanwhile is left out; its removal event says so.
    """
    start = time.monotonic()
    result: list[VMInfo] = []
    used = 0
    step = max(1, at_once)
    pool = ThreadPoolExecutor(step, thread_name_prefix="fill") if step > 1 else None
    try:
        while used < len(pairs):
            if used and budget is not None and time.monotonic() - start >= budget:
                break
            batch = pairs[used:used + step]
            used += len(batch)
            doms = [dom for _vm, dom in batch]
            reads = list(pool.map(_info, doms)) if pool is not None else [_info(doms[0])]
            for (vm, _dom), read in zip(batch, reads, strict=True):
                if read is not None:
                    state, vcpus, memory = read
                    result.append(replace(vm, state=state, vcpus=vcpus, memory_kib=memory))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    return result, used


def _info(dom: libvirt.virDomain) -> tuple[VMState, int, int] | None:
    """State, vCPUs and memory (KiB) from one info() call; None if the domain is gone,
    which is not an error of the host (it was undefined since the listing)."""
    try:
        info = dom.info()
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            return None
        raise
    return VMState.from_libvirt(info[0]), int(info[3]), int(info[1])


def read_vm(dom: libvirt.virDomain, host_id: str) -> VMInfo:
    """Fresh record for one domain, after an event or an action."""
    info = dom.info()
    return VMInfo(
        host_id=host_id,
        uuid=dom.UUIDString(),
        name=dom.name(),
        state=VMState.from_libvirt(info[0]),
        vcpus=int(info[3]),
        memory_kib=int(info[1]),
        autostart=bool(dom.autostart()),
        persistent=bool(dom.isPersistent()),
    )


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """The results of calls made at the same time from threads of this call, in order;
    the first call's exception, if any, is raised once all have ended. A libvirt
    connection carries several calls in flight, so n round trips take about one."""
    with ThreadPoolExecutor(len(calls), thread_name_prefix="at-once") as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


def _bulk_stats(conn: libvirt.virConnect) -> dict[str, dict[str, Any]]:
    stats: dict[str, dict[str, Any]] = {}
    try:
        for dom, record in conn.getAllDomainStats(_STATS, 0):
            stats[dom.UUIDString()] = record
    except libvirt.libvirtError:
        pass  # Older or limited drivers: fall back to per-domain info below.
    return stats


def _uuids(conn: libvirt.virConnect, flags: int) -> set[str]:
    return {dom.UUIDString() for dom in conn.listAllDomains(flags)}
