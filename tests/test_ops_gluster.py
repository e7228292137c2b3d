"""Gluster operations (tvirt.ops.gluster) on the real glusterd: the test bed's volume
tvirt-test is collected with its libvirt pools, a volume of the test's own (on loop
devices it made) is stopped and started, read-only mode refuses before gluster is asked,
and a failure is one sentence naming the command and the host. The brick operations
(tvirt.ops.bricks) refuse in read-only mode, run, stop at a failure and undo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from glustervol import own_volume
from loopdevs import TOO_SMALL_FOR_THIN_POOL, have, loop_devices, sh

from conftest import LocalHost, Testbed, need
from tvirt import bricks, disks, gluster
from tvirt.ops import bricks as brick_ops
from tvirt.ops import gluster as gluster_ops
from tvirt.ops.run import Refused

pytestmark = pytest.mark.real


@pytest.fixture(autouse=True)
def _tools() -> None:
    if missing := have("gluster", "mkfs.xfs", "lsblk", "wipefs"):
        need(missing)


def status(volume: str) -> str:
    info = sh("gluster", "--mode=script", "volume", "info", volume).stdout
    return next(ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("Status:"))


def test_collect_reads_the_test_bed_volume(local_host: LocalHost, testbed: Testbed) -> None:
    state = gluster_ops.collect(local_host()).result(120)
    assert state.error == ""
    vol = next(v for v in state.volumes if v.name == testbed.gluster_volume)
    assert vol.state == "started" and vol.replica == 3 and len(vol.bricks) == 3
    assert all(b.online and b.pid > 0 for b in vol.bricks)
    assert all(b.heal_pending is not None for b in vol.bricks)  # heal counts were read
    pools = gluster_ops.pools_by_volume(local_host()).result(60)
    assert vol.pools == pools.get(vol.name, [])


def test_stop_and_start_a_volume_of_our_own(
    local_host: LocalHost, testbed: Testbed, tmp_path: Path
) -> None:
    host = local_host()
    with own_volume(tmp_path, testbed.gluster_host) as name:
        said = gluster_ops.volume_stop(host, name).result(180)
        assert said == f"Stop volume {name} on {host.label}: done."
        assert status(name) == "Stopped"
        state = gluster_ops.collect(host, heal=False).result(120)
        assert next(v for v in state.volumes if v.name == name).state == "stopped"
        gluster_ops.volume_start(host, name).result(180)
        assert status(name) == "Started"


def test_read_only_refuses_before_gluster_is_asked(local_host: LocalHost) -> None:
    host = local_host(readonly=True)
    # A volume that does not exist: were gluster asked, it would fail with a GlusterError
    # (and a broken refusal can never stop the shared test bed's volume).
    name = f"tvirt-test-none-{os.getpid()}"
    with pytest.raises(Refused) as caught:
        gluster_ops.volume_stop(host, name).result(30)
    assert str(caught.value) == (
        f"Read-only mode refused to stop volume {name} on {host.label}; "
        "restart tvirt without --readonly to make changes."
    )
    # reading is not a change: the same read-only host still collects
    assert gluster_ops.collect(host, heal=False).result(120).error == ""


def test_a_failure_is_one_sentence(local_host: LocalHost) -> None:
    host = local_host()
    name = f"tvirt-test-none-{os.getpid()}"
    with pytest.raises(gluster.GlusterError) as caught:
        gluster_ops.volume_start(host, name).result(120)
    text = str(caught.value)
    assert text.startswith(f"gluster --mode=script volume start {name} failed on localhost: ")
    assert text.endswith(".") and "\n" not in text
    assert caught.value.host == host.label
    # a host with no way to run commands: the view's state carries the sentence
    host.runner = None
    state = gluster_ops.collect(host).result(30)
    assert state.error == "No commands can run on this host."


def test_brick_run_refused_read_only_then_fails_and_is_undone(
    local_host: LocalHost, tmp_path: Path
) -> None:
    if missing := have("pvcreate", "lvcreate"):
        need(missing)
    with loop_devices(tmp_path, 3, size=TOO_SMALL_FOR_THIN_POOL) as loops:
        host = local_host()
        devices = host.devices()
        specs = [
            bricks.BrickSpec(host.commands(), d, host.gluster_host)
            for d in (disks.find(devices, p) for p in loops)
            if d is not None
        ]
        wizard = bricks.Wizard(f"tvirt-test-ops-{os.getpid()}", specs)
        steps = brick_ops.plan(wizard)
        seen: list[str] = []
        readonly = local_host(readonly=True)
        with pytest.raises(Refused, match=r"^Read-only mode refused to create the bricks"):
            brick_ops.execute([readonly], wizard, steps, lambda s, state: seen.append(state)
                              ).result(30)
        assert seen == [] and all(signature_types(p) == [] for p in loops)
        # Disks too small for a thin pool: the third step fails on every kernel.
        outcome = brick_ops.execute([host], wizard, steps).result(600)
        assert not outcome.ok and [s.what for s in outcome.done] == [s.what for s in steps[:2]]
        assert outcome.failed is steps[2] and "thin pool" in outcome.failed.what
        undone = brick_ops.undo([host], outcome, wizard.volume).result(600)
        assert undone.undo_errors == [] and len(undone.undone) == 2
        assert all(signature_types(p) == [] for p in loops)


def signature_types(path: str) -> list[str]:
    return [s.type for s in disks.parse_wipefs(sh("wipefs", "--json", "--no-act", path).stdout)]
