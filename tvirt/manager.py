"""Several hosts at once: one HostWorker each, all reporting to one sink."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tvirt.config import Config
from tvirt.host import CONNECT_TIMEOUT, RECHECK_INTERVAL, HostWorker
from tvirt.labels import host_labels
from tvirt.model import HostInfo
from tvirt.recheck import RecheckBudget
from tvirt.tiers import StatsTiers
from tvirt.updates import HostChanged, Sink, Update
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
    """The hosts of one session. It alone sees them all, so it names them: every
    HostChanged passes through it and leaves with the label `tvirt.labels` gives, and a
    host whose label changes because another came, went or reported its hostname is
    reported again under its new label."""

    def __init__(
        self,
        sink: Sink,
        *,
        readonly: bool = False,
        reconnect: bool = True,
        progressive: bool = False,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self._sink = sink
        self._connect_timeout = connect_timeout
        self.readonly = readonly
        self._reconnect = reconnect
        # Interactive views list first and fill details after; commands wait for all.
        self._progressive = progressive
        self.workers: dict[str, HostWorker] = {}
        # At most one stats ticker per host. A ticker outlives disconnects: its ticks fail
        # fast (counted in .errors) while the host is away and resume after reconnecting.
        self.tickers: dict[str, StatsTicker] = {}
        # Which VMs get the heavy stats groups; None: all of them (the app sets one).
        self.tiers: StatsTiers | None = None
        # Every host's slow recheck shares one rate, so ten thousand VMs do not all
        # re-list every 30 s (tvirt.recheck).
        self.rechecks = RecheckBudget(RECHECK_INTERVAL)
        # Labels: the hostnames ever reported (kept across disconnects, so a label does
        # not flip when a host drops) and the last HostChanged passed on for each host.
        # The lock orders relabelling against the workers' own reports.
        self._label_lock = threading.RLock()
        self._hostnames: dict[str, str] = {}
        self._reported: dict[str, HostInfo] = {}

    def add(self, uri: str) -> HostWorker:
        """Validate and open a URI; raises URIError with a sentence for bad input."""
        return self.add_all([uri])[0]

    def add_all(self, uris: Sequence[str]) -> list[HostWorker]:
        """Open several URIs, all labelled before any reports, so a command's hosts are
        not first shown under a label that the next URI makes ambiguous. Every URI is
        checked before any opens (URIError for the first bad one)."""
        parsed: list[ParsedURI] = []
        for uri in uris:
            one = parse_uri(uri)
            if one.uri in self.workers or any(p.uri == one.uri for p in parsed):
                raise URIError(f"{one.uri} is already connected.")
            parsed.append(one)
        workers = [
            HostWorker(
                one,
                self._relay,
                readonly=self.readonly,
                reconnect=self._reconnect,
                progressive=self._progressive,
                connect_timeout=self._connect_timeout,
                rechecks=self.rechecks,
            )
            for one in parsed
        ]
        with self._label_lock:
            self.workers.update((w.host_id, w) for w in workers)
            # The new ones report under their label once started; others may have
            # been shown already (the app shows a host as soon as it is added).
            self._report_again(self._relabel() - {w.host_id for w in workers})
        for worker in workers:
            worker.start()
        return workers

    def _relay(self, update: Update) -> None:
        """The workers' sink: a host's report leaves under the label the rule gives."""
        if not isinstance(update, HostChanged):
            self._sink(update)
            return
        with self._label_lock:
            host = update.host
            worker = self.workers.get(host.host_id)
            if worker is None:  # a removed host's late report: its receivers drop it
                self._sink(update)
                return
            if host.hostname:
                self._hostnames[host.host_id] = host.hostname
            others = self._relabel() - {host.host_id}
            self._report(replace(host, label=worker.label))
            self._report_again(others)

    def _report(self, host: HostInfo) -> None:
        self._reported[host.host_id] = host
        self._sink(HostChanged(host))

    def _report_again(self, host_ids: set[str]) -> None:
        """Hosts again, under their new labels. One that has not reported yet is told as
        its worker stands (read under the lock its own reports wait for, so it cannot
        overtake a newer one)."""
        for host_id in sorted(host_ids):
            worker = self.workers[host_id]
            last = self._reported.get(host_id) or worker.info
            self._report(replace(last, label=worker.label))

    def _relabel(self) -> set[str]:
        """Give every worker the rule's label; the hosts whose label changed."""
        labels = host_labels({h: self._hostnames.get(h, "") for h in self.workers})
        changed = {h for h, label in labels.items() if self.workers[h].label != label}
        for host_id in changed:
            self.workers[host_id].label = labels[host_id]
        return changed

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
                tiers=self.tiers,
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
        if self.tiers is not None:
            self.tiers.forget(host_id)
        self.rechecks.forget(host_id)
        with self._label_lock:
            worker = self.workers.pop(host_id, None)
            self._hostnames.pop(host_id, None)
            self._reported.pop(host_id, None)
            self._report_again(self._relabel())
        # Outside the lock: the worker may be waiting for it to pass on a last report.
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
