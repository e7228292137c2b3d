"""Disk operations (tvirt.ops.disks) on the real host: a loop device made by the test is
listed and classified, wiped for real with progress, refused in read-only mode before
anything is read, and a refused wipe is one sentence."""

from __future__ import annotations

import pytest
from loopdevs import sh

from conftest import LocalHost
from tvirt import disks, wipe
from tvirt import progress as pg
from tvirt.ops import disks as disk_ops
from tvirt.ops.run import Refused

pytestmark = pytest.mark.real


def signatures(path: str) -> list[str]:
    return [s.type for s in disks.parse_wipefs(sh("wipefs", "--json", "--no-act", path).stdout)]


def test_listing_classifies_the_loop_device(local_host: LocalHost, ext4_loop: str) -> None:
    listing = disk_ops.listing(local_host()).result(120)
    assert listing.vm_disks_unknown == ""
    dev = disks.find(listing.devices, ext4_loop)
    assert dev is not None and dev.safety is disks.Safety.SAFE, dev
    assert [s.type for s in dev.signatures] == ["ext4"]


def test_without_libvirt_every_device_is_unknown_and_says_why(
    local_host: LocalHost, ext4_loop: str
) -> None:
    host = local_host()
    host.worker, host.why_no_libvirt = None, "no libvirt connection to the test"
    listing = disk_ops.listing(host).result(120)
    assert listing.vm_disks_unknown == "no libvirt connection to the test"
    dev = disks.find(listing.devices, ext4_loop)
    assert dev is not None and dev.safety is disks.Safety.UNKNOWN
    assert "the VM disks of this host could not be read" in dev.reason


def test_wipe_runs_with_progress_and_verifies(local_host: LocalHost, ext4_loop: str) -> None:
    host = local_host()
    dev = disks.find(host.devices(), ext4_loop)
    events: list[pg.Event] = []
    report = disk_ops.wipe_device(
        host, dev, ext4_loop, wipe.Method.SIGNATURES, ext4_loop, events.append
    ).result(300)
    assert report.ok and report.verified, report.message
    assert [s.type for s in report.removed] == ["ext4"]
    assert signatures(ext4_loop) == []
    assert isinstance(events[0], pg.Started) and events[0].what == ext4_loop
    assert isinstance(events[-1], pg.Finished) and events[-1].outcome == report.message


def test_read_only_refuses_before_anything_is_read(local_host: LocalHost, ext4_loop: str) -> None:
    host = local_host(readonly=True)
    assert disk_ops.refuse_wipe(host, ext4_loop) is not None
    # the device is not even looked up: None would be "not a whole block device"
    future = disk_ops.wipe_device(host, None, ext4_loop, wipe.Method.ZERO, ext4_loop)
    with pytest.raises(Refused) as caught:
        future.result(30)
    assert str(caught.value) == (
        f"Read-only mode refused to wipe {ext4_loop} on {host.label}; "
        "restart tvirt without --readonly to make changes."
    )
    assert signatures(ext4_loop) == ["ext4"]
    # a dry run changes nothing, so read-only mode allows it
    dev = disks.find(host.devices(), ext4_loop)
    plan = disk_ops.dry_run(host, dev, ext4_loop, wipe.Method.SIGNATURES)
    assert plan.dry_run and plan.commands[-1] == f"wipefs --all --force {ext4_loop}"


def test_a_wrong_confirmation_is_one_sentence(local_host: LocalHost, ext4_loop: str) -> None:
    host = local_host()
    dev = disks.find(host.devices(), ext4_loop)
    future = disk_ops.wipe_device(host, dev, ext4_loop, wipe.Method.ZERO, "/dev/loop")
    with pytest.raises(wipe.WipeRefused) as caught:
        future.result(30)
    assert str(caught.value) == (
        f"The typed confirmation '/dev/loop' does not match {ext4_loop}; nothing was wiped."
    )
    assert signatures(ext4_loop) == ["ext4"]
