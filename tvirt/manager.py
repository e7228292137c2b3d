"""Several hosts at once: one HostWorker each, all reporting to one sink."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tvirt.config import Config
from tvirt.host import HostWorker
from tvirt.updates import Sink
from tvirt.uri import DEMO_URI, SYSTEM_URI, ParsedURI, URIError, parse_uri

if TYPE_CHECKING:
    # Imported when a host is first watched: the plain commands never tick, and the
    # ticker brings psutil and the stats arithmetic.
    from tvirt.ticker import OnSample, StatsTicker

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
    if local_default():
        return local_default(), "the local libvirtd socket"
    return [DEMO_URI], "the built-in demo (no libvirtd found)"


def local_default() -> list[str]:
    """What a config without URIs stands for: the local libvirtd if its socket exists.
    Adding a host to such a config keeps this one too (the demo is never saved)."""
    return [SYSTEM_URI] if any(path.exists() for path in SYSTEM_SOCKETS) else []


class HostManager:
    def __init__(
        self,
        sink: Sink,
        *,
        readonly: bool = False,
        reconnect: bool = True,
        progressive: bool = False,
    ) -> None:
        self._sink = sink
        self.readonly = readonly
        self._reconnect = reconnect
        # Interactive views list first and fill details after; commands wait for all.
        self._progressive = progressive
        self.workers: dict[str, HostWorker] = {}
        # At most one stats ticker per host. A ticker outlives disconnects: its ticks fail
        # fast (counted in .errors) while the host is away and resume after reconnecting.
        self.tickers: dict[str, StatsTicker] = {}

    def add(self, uri: str) -> HostWorker:
        """Validate and open a URI; raises URIError with a sentence for bad input."""
        parsed: ParsedURI = parse_uri(uri)
        if parsed.uri in self.workers:
            raise URIError(f"{parsed.uri} is already connected.")
        worker = HostWorker(
            parsed,
            self._sink,
            readonly=self.readonly,
            reconnect=self._reconnect,
            progressive=self._progressive,
        )
        self.workers[worker.host_id] = worker
        worker.start()
        return worker

    def watch_stats(
        self,
        host_id: str,
        on_sample: OnSample,
        interval: float | None = None,
        *,
        paused: bool = False,
    ) -> StatsTicker:
        """Start sampling a host (paused: created, but no tick until resume()).

        on_sample runs on the host's worker thread. Watching a host that already has a
        ticker returns that ticker unchanged.
        """
        from tvirt.ticker import DEFAULT_INTERVAL, StatsTicker

        ticker = self.tickers.get(host_id)
        if ticker is None:
            ticker = StatsTicker.for_host(
                self.workers[host_id],
                on_sample,
                interval=DEFAULT_INTERVAL if interval is None else interval,
            )
            if paused:
                ticker.pause()
            self.tickers[host_id] = ticker
            ticker.start()
        return ticker

    def remove(self, host_id: str, timeout: float = 5.0) -> None:
        """Forget a host. timeout=0 returns at once; the worker closes in its own time."""
        # The ticker first, so no tick is queued on a worker that is going away.
        ticker = self.tickers.pop(host_id, None)
        if ticker is not None:
            ticker.stop()
        worker = self.workers.pop(host_id, None)
        if worker is not None:
            worker.stop(timeout)

    def get(self, host_id: str) -> HostWorker:
        return self.workers[host_id]

    def stop(self) -> None:
        for ticker in list(self.tickers.values()):
            ticker.stop()
        self.tickers.clear()
        for worker in list(self.workers.values()):
            worker.stop(timeout=2.0)
        self.workers.clear()
