"""Several hosts at once: one HostWorker each, all reporting to one sink."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from tvirt.config import Config
from tvirt.host import HostWorker
from tvirt.updates import Sink
from tvirt.uri import DEMO_URI, SYSTEM_URI, ParsedURI, URIError, parse_uri

SYSTEM_SOCKETS = (
    Path("/run/libvirt/libvirt-sock"),
    Path("/run/libvirt/virtqemud-sock"),
    Path("/var/run/libvirt/libvirt-sock"),
)


def choose_uris(flags: Sequence[str], config: Config) -> tuple[list[str], str]:
    """The URIs to open and where they came from, in the documented order."""
    if flags:
        return list(flags), "--connect"
    env = os.environ.get("LIBVIRT_DEFAULT_URI", "").strip()
    if env:
        return [env], "LIBVIRT_DEFAULT_URI"
    if config.uris:
        return list(config.uris), f"config {config.path}"
    if any(path.exists() for path in SYSTEM_SOCKETS):
        return [SYSTEM_URI], "the local libvirtd socket"
    return [DEMO_URI], "the built-in demo (no libvirtd found)"


class HostManager:
    def __init__(self, sink: Sink, *, readonly: bool = False, reconnect: bool = True) -> None:
        self._sink = sink
        self.readonly = readonly
        self._reconnect = reconnect
        self.workers: dict[str, HostWorker] = {}

    def add(self, uri: str) -> HostWorker:
        """Validate and open a URI; raises URIError with a sentence for bad input."""
        parsed: ParsedURI = parse_uri(uri)
        if parsed.uri in self.workers:
            raise URIError(f"{parsed.uri} is already connected.")
        worker = HostWorker(parsed, self._sink, readonly=self.readonly, reconnect=self._reconnect)
        self.workers[worker.host_id] = worker
        worker.start()
        return worker

    def remove(self, host_id: str, timeout: float = 5.0) -> None:
        """Forget a host. timeout=0 returns at once; the worker closes in its own time."""
        worker = self.workers.pop(host_id, None)
        if worker is not None:
            worker.stop(timeout)

    def get(self, host_id: str) -> HostWorker:
        return self.workers[host_id]

    def stop(self) -> None:
        for worker in list(self.workers.values()):
            worker.stop(timeout=2.0)
        self.workers.clear()
