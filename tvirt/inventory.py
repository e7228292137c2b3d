"""What is known of every host and VM, built only from worker updates."""

from __future__ import annotations

import threading

from tvirt.model import HostInfo, VMInfo
from tvirt.updates import (
    DomainChanged,
    DomainRemoved,
    DomainsDetailed,
    DomainsListed,
    HostChanged,
    Update,
)


class Inventory:
    """Thread-safe: workers apply updates, readers take copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hosts: dict[str, HostInfo] = {}
        self.vms: dict[str, VMInfo] = {}
        self.listed: set[str] = set()

    def apply(self, update: Update) -> VMInfo | None:
        """Apply one update; returns the VM's previous record for changes."""
        with self._lock:
            if isinstance(update, HostChanged):
                self.hosts[update.host.host_id] = update.host
            elif isinstance(update, DomainsListed):
                self.vms = {k: v for k, v in self.vms.items() if v.host_id != update.host_id}
                self.vms.update({vm.key: vm for vm in update.vms})
                self.listed.add(update.host_id)
            elif isinstance(update, DomainChanged):
                previous = self.vms.get(update.vm.key)
                self.vms[update.vm.key] = update.vm
                return previous
            elif isinstance(update, DomainsDetailed):
                # Only VMs still known: one removed meanwhile stays removed.
                for vm in update.vms:
                    if vm.key in self.vms:
                        self.vms[vm.key] = vm
            elif isinstance(update, DomainRemoved):
                return self.vms.pop(f"{update.host_id}/{update.uuid}", None)
        return None

    def vm_list(self) -> list[VMInfo]:
        """By name, then by the host label people see: the URI alone would order the
        same VM on two hosts by where their files happen to live."""
        with self._lock:
            labels = {h: info.label for h, info in self.hosts.items()}
            return sorted(
                self.vms.values(),
                key=lambda vm: (vm.name.lower(), labels.get(vm.host_id, vm.host_id), vm.host_id),
            )

    def host_list(self) -> list[HostInfo]:
        with self._lock:
            return list(self.hosts.values())

    def find(self, name: str, host: str | None = None) -> list[VMInfo]:
        """VMs called name (or with that UUID), optionally on hosts matching host."""
        with self._lock:
            found = [vm for vm in self.vms.values() if name in (vm.name, vm.uuid)]
            hosts = dict(self.hosts)
        if host:
            found = [vm for vm in found if vm.host_id in hosts and hosts[vm.host_id].matches(host)]
        return found
