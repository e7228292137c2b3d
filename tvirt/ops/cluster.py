"""The cluster overview of a set of hosts (tvirt.cluster): `overview` is a Future, `gather`
the blocking work behind it.

The libvirt facts go to every host's worker at once; gluster is asked of the first host
whose libvirt answered (a lost host's ssh would hang for as long as it is away), and not
of its peers: its volumes span that cluster, and tens of hosts asked every tick would be
tens of ssh round trips for one answer. A host no asked glusterd knows is asked in turn
(another cluster, or none).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from tvirt import cluster, gluster
from tvirt.errors import TvirtError
from tvirt.ops.hostcmd import CommandHost, for_uri
from tvirt.ops.run import Host, on_host
from tvirt.remote import RemoteError
from tvirt.uri import parse_uri

LIBVIRT_TIMEOUT = 15.0  # a frozen host's job fails by keepalive (about 6 s) well before


def host_for(uri: str, worker: Host | None, readonly: bool, why: str = "") -> CommandHost:
    """The overview's view of one connection: a demo (test://) host runs no commands, and
    neither does a remote one without ssh (its gluster column stays empty)."""
    parsed = parse_uri(uri)
    try:
        host = for_uri(parsed, worker, readonly, why)
    except RemoteError:
        return CommandHost(worker.label if worker else parsed.label, None, worker,
                           readonly=readonly, why_no_libvirt=why, uri=parsed.uri)
    if parsed.demo:
        host.runner = None
    return host


def _facts(host: CommandHost, job: Future[Any] | None, timeout: float) -> Any:
    if job is None:
        raise TvirtError(host.why_no_libvirt or f"No connection to {host.label}.")
    try:
        return job.result(timeout)
    except FutureTimeout:
        raise TvirtError(f"No answer from {host.label} within {timeout:g} s.",
                         host=host.label) from None


def gather(hosts: Sequence[CommandHost], libvirt_timeout: float = LIBVIRT_TIMEOUT
           ) -> cluster.Overview:
    """Every host's line and the volumes' health. Blocking."""
    jobs = [on_host(h.worker, cluster.libvirt_facts) if h.worker else None for h in hosts]
    facts: list[Any] = []
    errors: list[str] = []
    for host, job in zip(hosts, jobs, strict=True):
        try:
            facts.append(_facts(host, job, libvirt_timeout))
            errors.append("")
        except TvirtError as exc:
            facts.append(None)
            errors.append(str(exc))
    volumes: list[gluster.Volume] = []
    peers: dict[str, str] = {}
    asked: list[str] = []
    failure = ""
    for host, fact in zip(hosts, facts, strict=True):
        if fact is None or host.runner is None or _name(host) in peers:
            continue  # lost (its ssh would hang), no commands, or its cluster already asked
        try:
            found, peer_list = cluster.volume_facts(host.runner)
        except (gluster.GlusterError, RemoteError) as exc:
            failure = failure or str(exc)
            continue
        volumes += found
        peers.update({p.hostname: p.word for p in peer_list if p.hostname != "localhost"})
        peers[_name(host)] = "connected"
        asked.append(host.label)
    if asked:
        failure = ""
    rows = tuple(cluster.host_row(h, fact, error, volumes, peers)
                 for h, fact, error in zip(hosts, facts, errors, strict=True))
    return cluster.Overview(rows, cluster.health(volumes), ", ".join(asked), failure)


def _name(host: CommandHost) -> str:
    """The name gluster knows the host by."""
    return host.gluster_host or host.label


def overview(hosts: Sequence[CommandHost]) -> Future[cluster.Overview]:
    """gather() on a thread of its own: a screen awaits it, a command waits for it."""
    future: Future[cluster.Overview] = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(gather(hosts))
        except TvirtError as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="tvirt-cluster", daemon=True).start()
    return future
