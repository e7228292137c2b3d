"""Turning model records into the words the TUI shows. Pure functions, no widgets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import humanize

from tvirt.model import HostInfo, HostState, VMInfo, VMState
from tvirt.stats import HostRates
from tvirt.words import plural as plural  # the one rule, shared with the commands

STATE_FILTERS: tuple[str, ...] = ("all", "running", "shut off", "paused", "other")
_GROUPED = {VMState.RUNNING: "running", VMState.SHUTOFF: "shut off", VMState.PAUSED: "paused"}


def state_group(state: VMState) -> str:
    """The state filter a VM falls under."""
    return _GROUPED.get(state, "other")


def memory(kib: int) -> str:
    """Binary units with at most one decimal: '512 MiB', '1.5 GiB', '8 GiB'."""
    value = float(kib)
    unit = "KiB"
    for bigger in ("MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value /= 1024
        unit = bigger
    number = f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{number} {unit}"


def on_off(flag: bool) -> str:
    return "on" if flag else "off"


def vm_counts(vms: Iterable[VMInfo]) -> str:
    """'3 VMs, 1 running, 2 shut off': running always, other groups when present."""
    states = Counter(vm.state for vm in vms)  # per state, then grouped: 10000 VMs add up fast
    groups = {name: 0 for name in STATE_FILTERS[1:]}
    for state, count in states.items():
        groups[state_group(state)] += count
    parts = [plural(states.total(), "VM"), f"{groups['running']} running"]
    parts += [f"{count} {name}" for name, count in groups.items() if count and name != "running"]
    return ", ".join(parts)


def host_counts(hosts: Iterable[HostInfo]) -> str:
    """'2 hosts, 1 connected': connected always, other states when present."""
    hosts = list(hosts)
    parts = [plural(len(hosts), "host")]
    order = (HostState.CONNECTED, HostState.CONNECTING, HostState.DISCONNECTED, HostState.FAILED)
    for state in order:
        count = sum(1 for host in hosts if host.state is state)
        if count or state is HostState.CONNECTED:
            parts.append(f"{count} {state.word}")
    return ", ".join(parts)


def host_lines(host: HostInfo) -> list[str]:
    """The host list entry: label, state word, then what we know of the machine."""
    title = host.label
    tags = [tag for tag, on in (("demo connection", host.demo), ("read-only", host.readonly)) if on]
    if tags:
        title += f" ({', '.join(tags)})"
    state = host.state.word
    if host.state is HostState.CONNECTED:
        hypervisor = " ".join(part for part in (host.hypervisor, host.hv_version) if part)
        state += f", {hypervisor}" if hypervisor else ""
    lines = [title, state]
    if host.state is HostState.CONNECTED:
        size = f"{plural(host.cpus, 'CPU')}, {memory(host.memory_kib)}"
        lines.append(f"{size}, {plural(host.vm_count, 'VM')}")
        # A demo host's name is just this machine's, and would vary between machines.
        if host.hostname and not host.demo and host.hostname not in host.label:
            lines.append(f"hostname {host.hostname}")
    if host.error:
        lines.append(host.error)
    return lines


def target_lines(vms: Iterable[VMInfo], labels: dict[str, str]) -> list[str]:
    """'web01 on demo lab.xml' for each VM, for dialogs that must say exactly what."""
    return [f"{vm.name} on {labels.get(vm.host_id, vm.host_id)}" for vm in vms]


def percent(value: float | None) -> str:
    """'12.3%', or 'n/a' when the number is not known."""
    return "n/a" if value is None else f"{value:.1f}%"


def size(value_bytes: float | None) -> str:
    """Binary units as humanize writes them ('1.5 MiB'), or 'n/a'."""
    if value_bytes is None:
        return "n/a"
    return str(humanize.naturalsize(value_bytes, binary=True, format="%.1f"))


def rate(bytes_per_second: float | None) -> str:
    """'1.5 MiB/s', or 'n/a'."""
    return "n/a" if bytes_per_second is None else f"{size(bytes_per_second)}/s"


def host_stats_line(rates: HostRates | None) -> str:
    """'CPU 12.3%, memory 4.1 GiB of 16 GiB (25.6%)', with n/a for what is not known."""
    cpu = percent(rates.cpu_percent if rates else None)
    if rates is None or rates.memory_used_kib is None or rates.memory_total_kib is None:
        mem = "n/a"
    else:
        mem = (
            f"{memory(rates.memory_used_kib)} of {memory(rates.memory_total_kib)} "
            f"({percent(rates.memory_percent)})"
        )
    return f"CPU {cpu}, memory {mem}"
