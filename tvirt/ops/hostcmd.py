"""A host as the Gluster, disk and brick features see it: the Runner its commands run
through (locally or over ssh) and, when connected, its libvirt worker (for the pools on
each volume and the disks its VMs use). tvirt.ops.gluster, tvirt.ops.disks and
tvirt.ops.bricks take one.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tvirt import disks
from tvirt.errors import TvirtError
from tvirt.ops.run import Host, on_host
from tvirt.remote import Runner, runner_for
from tvirt.uri import ParsedURI

T = TypeVar("T")
CALL_TIMEOUT = 60.0  # seconds a libvirt fact may take before it counts as unknown


@dataclass(frozen=True)
class Listing:
    """A host's devices; `vm_disks_unknown` says why its VM disks could not be read (then
    every device is unknown, which counts as unsafe)."""

    devices: list[disks.Device] = field(default_factory=list)
    vm_disks_unknown: str = ""


class NoRunner(TvirtError):
    """The host has no way to run commands (no ssh connection)."""


@dataclass
class CommandHost:
    """One host for the Gluster and disk features: its commands and, if connected, its libvirt.

    `why_no_libvirt` says why `worker` is None (the connection failed); `gluster_host` is
    the name gluster knows the host by (its peer hostname)."""

    label: str
    runner: Runner | None
    worker: Host | None = None
    readonly: bool = False
    gluster_host: str = ""
    why_no_libvirt: str = ""
    timeout: float = CALL_TIMEOUT
    uri: str = ""  # the connection URI, for JSON records beside the label

    def commands(self) -> Runner:
        if self.runner is None:
            raise NoRunner("No commands can run on this host.", host=self.label)
        return self.runner

    def libvirt_call(self, fn: Callable[[Any], T]) -> T:
        """fn(conn) on the host's worker, waited for. Blocking: only for a thread that is
        already off the event loop (a brick run, a wipe's re-read)."""
        if self.worker is None:
            raise TvirtError(
                self.why_no_libvirt or f"no libvirt connection to {self.label}", host=self.label
            )
        try:
            return on_host(self.worker, fn).result(self.timeout)
        except FutureTimeout:
            raise TvirtError(
                f"no answer from {self.label} within {self.timeout:g} s", host=self.label
            ) from None

    def listing(self) -> Listing:
        """The host's disks, classified, blocking (for a thread already off the event
        loop; tvirt.ops.disks.listing is the Future of it). A VM-disk listing that fails
        leaves every device unknown, and says why."""
        runner = self.commands()
        vm_sources: dict[str, str] | None = None
        nodedevs: dict[str, str] = {}
        why = ""
        try:
            vm_sources = self.libvirt_call(disks.vm_disks)
        except TvirtError as exc:
            why = str(exc).strip().rstrip(".")
        else:
            with contextlib.suppress(TvirtError):  # only the node-device column stays empty
                nodedevs = self.libvirt_call(disks.node_devices)
        return Listing(disks.inventory(runner, vm_sources, nodedevs), why)

    def devices(self) -> list[disks.Device]:
        """The listing's devices (blocking, as listing())."""
        return self.listing().devices


def for_uri(
    uri: ParsedURI, worker: Host | None, readonly: bool, why: str = ""
) -> CommandHost:
    """The CommandHost behind a connection URI (RemoteError if commands cannot run there:
    a remote URI without ssh)."""
    return CommandHost(
        worker.label if worker else uri.label,
        runner_for(uri),
        worker,
        readonly=readonly,
        gluster_host=uri.host or socket.gethostname(),
        why_no_libvirt=why,
        uri=uri.uri,
    )
