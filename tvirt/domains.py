"""Reading domains from a connection into VMInfo records, in as few calls as we can."""

from __future__ import annotations

from typing import Any

import libvirt

from tvirt.model import VMInfo, VMState

_STATS = (
    libvirt.VIR_DOMAIN_STATS_STATE
    | libvirt.VIR_DOMAIN_STATS_VCPU
    | libvirt.VIR_DOMAIN_STATS_BALLOON
)


def list_vms(conn: libvirt.virConnect, host_id: str) -> list[VMInfo]:
    """All domains of a host.

    One bulk stats call gives state, vCPUs and memory where the driver supports it;
    autostart and persistence come from two filtered listings instead of a call per VM.
    """
    domains = conn.listAllDomains(0)
    autostart = _uuids(conn, libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
    transient = _uuids(conn, libvirt.VIR_CONNECT_LIST_DOMAINS_TRANSIENT)
    stats: dict[str, dict[str, Any]] = {}
    try:
        for dom, record in conn.getAllDomainStats(_STATS, 0):
            stats[dom.UUIDString()] = record
    except libvirt.libvirtError:
        pass  # Older or limited drivers: fall back to per-domain info below.
    result = []
    for dom in domains:
        uuid = dom.UUIDString()
        record = stats.get(uuid, {})
        if "vcpu.current" in record and "balloon.maximum" in record:
            state = VMState.from_libvirt(int(record["state.state"]))
            vcpus = int(record["vcpu.current"])
            memory = int(record["balloon.maximum"])
        else:
            try:
                info = dom.info()
            except libvirt.libvirtError as exc:
                # Undefined between the listing and now: not an error of the host.
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    continue
                raise
            state, vcpus, memory = VMState.from_libvirt(info[0]), int(info[3]), int(info[1])
        result.append(
            VMInfo(
                host_id=host_id,
                uuid=uuid,
                name=dom.name(),
                state=state,
                vcpus=vcpus,
                memory_kib=memory,
                autostart=uuid in autostart,
                persistent=uuid not in transient,
            )
        )
    return result


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


def _uuids(conn: libvirt.virConnect, flags: int) -> set[str]:
    return {dom.UUIDString() for dom in conn.listAllDomains(flags)}
