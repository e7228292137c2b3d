"""Gluster operations on one host (a hostcmd.CommandHost): what the Gluster view and the
`tvirt gluster` commands ask of it.

Every operation returns a Future: `gluster --xml` runs on a thread of its own
(ops.run.in_thread), libvirt calls on the host's worker (ops.run.on_host); screens await
it, commands wait for it.
"""

from __future__ import annotations

from concurrent.futures import Future

from tvirt import gluster
from tvirt.errors import TvirtError
from tvirt.ops.hostcmd import CommandHost
from tvirt.ops.run import in_thread, on_host


def collect(
    host: CommandHost, heal: bool = True, pools: bool = True
) -> Future[gluster.GlusterState]:
    """Volumes, bricks (heal counts unless heal=False), peers and, with pools, the libvirt
    pools on each volume. A gluster failure is the state's error (the view shows it); a
    pool listing that fails leaves the pool column empty."""

    def job() -> gluster.GlusterState:
        if host.runner is None:
            return gluster.GlusterState(host.label, error="No commands can run on this host.")
        state = gluster.collect(host.runner, heal=heal)
        if pools and host.worker is not None and not state.error:
            try:
                by_volume = host.libvirt_call(gluster.pools_by_volume)
            except TvirtError:
                by_volume = {}  # volumes still show, without the pool column
            for vol in state.volumes:
                vol.pools = by_volume.get(vol.name, [])
        return state

    return in_thread(host, job)


def _volume_change(host: CommandHost, words: str, argv: list[str]) -> Future[str]:
    def job() -> str:
        result = host.commands().run([*gluster.GLUSTER, *argv], timeout=120)
        if not result.ok:
            raise gluster.GlusterError(result.sentence() + ".", host=host.label)
        return f"{words[0].upper()}{words[1:]} on {host.label}: done."

    return in_thread(host, job, change=words)


def volume_start(host: CommandHost, volume: str) -> Future[str]:
    return _volume_change(host, f"start volume {volume}", ["volume", "start", volume])


def volume_stop(host: CommandHost, volume: str) -> Future[str]:
    return _volume_change(host, f"stop volume {volume}", ["volume", "stop", volume])


def pools_by_volume(host: CommandHost) -> Future[dict[str, list[str]]]:
    """Gluster volume name -> the libvirt pools (gluster or netfs) that use it."""
    if host.worker is None:
        failed: Future[dict[str, list[str]]] = Future()
        failed.set_exception(
            TvirtError(host.why_no_libvirt or f"no libvirt connection to {host.label}")
        )
        return failed
    return on_host(host.worker, gluster.pools_by_volume)
