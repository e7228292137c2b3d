"""Disk operations on one host: list and classify its block devices, wipe one.

Reading devices runs lsblk and wipefs through the host's Runner and asks its libvirt worker
which disks VMs use; a wipe re-reads the device right before the first destructive command
(tvirt.wipe compares it with what the person confirmed) and reports progress through
tvirt.progress. Both run on a thread of their own (ops.run.in_thread); read-only mode
refuses a wipe before anything is read.
"""

from __future__ import annotations

from concurrent.futures import Future

from tvirt import disks, wipe
from tvirt import progress as pg
from tvirt.ops.hostcmd import CommandHost, Listing
from tvirt.ops.run import Refused, in_thread, refused

__all__ = ["CommandHost", "Listing", "dry_run", "listing", "refuse_wipe", "wipe_device"]


def listing(host: CommandHost) -> Future[Listing]:
    """The host's devices, each classified safe, unsafe or unknown with the reason."""
    return in_thread(host, host.listing)


def refuse_wipe(host: CommandHost, path: str) -> Refused | None:
    """The read-only refusal of a wipe, asked before any question."""
    return refused(host, f"wipe {path}")


def dry_run(host: CommandHost, device: disks.Device | None, path: str, method: wipe.Method) -> (
    wipe.WipeReport
):
    """The exact commands a wipe would run; runs nothing (allowed in read-only mode)."""
    return wipe.wipe(host.commands(), device, path, method, "", dry_run=True)


def wipe_device(
    host: CommandHost,
    device: disks.Device | None,
    path: str,
    method: wipe.Method,
    confirm: str,
    on_progress: pg.Report = pg.ignore,
) -> Future[wipe.WipeReport]:
    """Wipe the device the person confirmed (typed `confirm`). Refused in read-only mode,
    for a device that is not safe or a confirmation that does not match (WipeRefused),
    and when a fresh reading just before the first destructive command differs."""

    def job() -> wipe.WipeReport:
        wipe.check(device, path, confirm)
        assert device is not None
        return wipe.wipe(
            host.commands(),
            device,
            path,
            method,
            confirm,
            current=lambda: disks.find(host.devices(), device.path),
            readonly=host.readonly,
            on_progress=on_progress,
        )

    return in_thread(host, job, change=f"wipe {path}")
