"""Gluster operations (tvirt.ops.gluster) on the real glusterd: the test bed's volume
tvirt-test is collected with its libvirt pools, a volume of the test's own (on loop
devices it made) is stopped and started, read-only mode refuses before gluster is asked,
and a failure is one sentence naming the command and the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from glustervol import own_volume
from loopdevs import have, sh

from conftest import LocalHost, Testbed, need
from tvirt import gluster
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
