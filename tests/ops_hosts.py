"""A host worker for the operation tests (tests/test_ops_*.py): connected and listed,
read-only or not, and the VMs it lists found by name."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from conftest import Recorder, wait_for
from tvirt.host import HostWorker
from tvirt.manager import HostManager
from tvirt.model import VMInfo


@dataclass(frozen=True)
class Opened:
    worker: HostWorker
    recorder: Recorder

    def vm(self, name: str) -> VMInfo:
        """The VM called name as the host listed it (or as an update last showed it)."""
        wait_for(lambda: self.recorder.inventory.find(name), 30, f"{name} listed")
        return self.recorder.inventory.find(name)[0]


@contextmanager
def opened(uri: str, *, readonly: bool = False) -> Iterator[Opened]:
    recorder = Recorder()
    manager = HostManager(recorder, readonly=readonly)
    worker = manager.add(uri)
    try:
        wait_for(lambda: uri in recorder.inventory.listed, 30, "the listing")
        yield Opened(worker, recorder)
    finally:
        manager.stop()


def undefine_if_present(uri: str, name: str) -> None:
    """A test's own VM removed from the host, if the test got as far as defining it."""
    import libvirt

    conn = libvirt.open(uri)
    try:
        if name in [d.name() for d in conn.listAllDomains(0)]:
            conn.lookupByName(name).undefine()
    finally:
        conn.close()

