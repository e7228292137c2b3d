"""Gluster facts and the plain commands against the real glusterd, lsblk and loop devices."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from glustervol import own_volume
from loopdevs import TOO_SMALL_FOR_THIN_POOL, have, loop_devices, sh

from conftest import need
from tvirt import gluster
from tvirt.remote import Runner, runner_for

pytestmark = pytest.mark.real
LOCAL = Runner("localhost")


@pytest.fixture(autouse=True)
def _tools() -> None:
    if missing := have("gluster", "mkfs.xfs", "lsblk", "wipefs"):
        need(missing)


def tvirt(
    *argv: str, state: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    if state is not None:
        env["XDG_STATE_HOME"] = str(state)
    return subprocess.run(
        [sys.executable, "-c", "import sys; from tvirt.cli import main; sys.exit(main())", *argv],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
    )


def test_testbed_volume_is_read_from_xml(testbed) -> None:  # type: ignore[no-untyped-def]
    state = gluster.collect(LOCAL)
    assert state.error == ""
    (vol,) = [v for v in state.volumes if v.name == testbed.gluster_volume]
    assert (vol.type, vol.replica, vol.state) == ("Replicate", 3, "started")
    assert all(b.host == testbed.gluster_host and b.online and b.pid > 0 for b in vol.bricks)
    assert all(b.heal_pending == 0 and b.split_brain == 0 for b in vol.bricks)
    assert state.peers and state.peers[0].connected


def test_killed_brick_shows_offline_within_one_refresh(tmp_path: Path, testbed) -> None:  # type: ignore[no-untyped-def]
    with own_volume(tmp_path, testbed.gluster_host) as name:
        (vol,) = [v for v in gluster.collect(LOCAL).volumes if v.name == name]
        assert [b.state for b in vol.bricks] == ["online"] * 3
        victim = vol.bricks[1]
        os.kill(victim.pid, signal.SIGKILL)
        # The very next refresh (one tick) must show it; no waiting, no retries.
        (vol,) = [v for v in gluster.collect(LOCAL).volumes if v.name == name]
        assert [b.state for b in vol.bricks] == ["online", "offline", "online"]
        assert vol.bricks[1].pid == 0
        assert vol.state == "degraded, 1 of 3 bricks offline"
        out = tvirt("-c", "qemu:///system", "gluster", "bricks").stdout
        assert f"{victim.name}: offline, volume {name}, port none, pid none" in out
        # the test bed's own volume is untouched
        assert testbed.gluster_volume in out and f"{testbed.gluster_volume}" in out


def test_gluster_commands_plain_and_json(testbed) -> None:  # type: ignore[no-untyped-def]
    done = tvirt("-c", "qemu:///system", "gluster", "volumes")
    assert done.returncode == 0, done.stderr
    assert f"{testbed.gluster_volume}: started, replicate, replica 3, 3 bricks" in done.stdout
    done = tvirt("-c", "qemu:///system", "gluster", "heal", "--json")
    records = json.loads(done.stdout)
    assert list(records[0])[:2] == ["name", "state"]
    assert {r["pending"] for r in records if r["volume"] == testbed.gluster_volume} == {0}
    # "host" is the label screens show, as in every JSON output, with the URI beside it.
    assert {(r["host"], r["uri"]) for r in records} == {("localhost qemu/system",
                                                         "qemu:///system")}
    done = tvirt("-c", "qemu:///system", "gluster", "peers")
    assert done.stdout.startswith("localhost: connected")


def test_disks_and_wipe_commands_locally_and_over_ssh(tmp_path: Path, testbed) -> None:  # type: ignore[no-untyped-def]
    with loop_devices(tmp_path) as (loop,):
        sh("mkfs.ext4", "-q", loop)
        for host in ("localhost", testbed.ssh_uri):
            listed = tvirt("disks", host, "--json")
            assert listed.returncode == 0, listed.stderr
            (rec,) = [r for r in json.loads(listed.stdout) if r["path"] == loop]
            assert rec["safety"] == "safe" and rec["signatures"] == ["ext4"]
        # No terminal to ask and no --yes-i-mean-DEVICE: refused with a sentence.
        asked = tvirt("wipe", "localhost", loop, "--method", "signatures")
        assert asked.returncode == 2
        assert asked.stderr.strip() == (
            f"tvirt: Wiping needs --yes-i-mean-{loop} when there is no terminal to ask."
        )
        wrong = tvirt("wipe", "localhost", loop, "--method", "signatures", "--yes-i-mean-/dev/sda")
        assert wrong.returncode == 1 and "does not match" in wrong.stderr
        dry = tvirt("wipe", "localhost", loop, "--method", "discard", "--dry-run")
        # locally tvirt holds the device exclusively, so blkdiscard must not try to as well
        assert dry.stdout.splitlines()[-2] == f"{loop}: would run blkdiscard --force {loop}"
        readonly = tvirt(
            "--readonly", "wipe", "localhost", loop, "--method", "zero", f"--yes-i-mean-{loop}"
        )
        assert readonly.returncode == 1 and "Read-only" in readonly.stderr
        state = tmp_path / "state"
        done = tvirt(
            "wipe",
            testbed.ssh_uri,
            loop,
            "--method",
            "signatures",
            f"--yes-i-mean-{loop}",
            state=state,
        )
        assert done.returncode == 0, done.stderr
        assert f"{loop}: signature ext4 at 0x438, removed" in done.stdout
        assert done.stdout.splitlines()[-1].startswith(f"{loop}: verified, ")
        log = (state / "tvirt" / "wipe.log").read_text()
        assert f"host=127.0.0.1 device={loop} ran wipefs --all {loop} -> exit 0" in log
        # Now it is wiped, over ssh the inventory agrees.
        rec = next(
            r
            for r in json.loads(tvirt("disks", testbed.ssh_uri, "--json").stdout)
            if r["path"] == loop
        )
        assert rec["signatures"] == []


def test_ssh_runner_really_uses_ssh(testbed) -> None:  # type: ignore[no-untyped-def]
    runner = runner_for(testbed.ssh_uri)
    assert runner.command(["gluster", "--mode=script", "volume", "info"])[0] == "ssh"
    state = gluster.collect(runner)
    assert state.host == "127.0.0.1" and state.error == ""
    assert testbed.gluster_volume in {v.name for v in state.volumes}


def test_create_command_dry_run_and_failure_with_undo(tmp_path: Path) -> None:
    import socket

    with loop_devices(tmp_path, 3, size=TOO_SMALL_FOR_THIN_POOL) as loops:
        specs = [f"localhost:{p}" for p in loops]
        # LVM thin asked for (auto would choose plain XFS on a kernel without device-mapper).
        thin = ["--layout", "lvm-thin"]
        dry = tvirt("gluster", "create", "tvirt-test-cli", *specs, *thin, "--dry-run")
        assert dry.returncode == 0, dry.stderr
        lines = [line for line in dry.stdout.splitlines() if not line.startswith("# ")]
        assert lines[0] == f"localhost: would run wipefs --all {loops[0]}"
        assert lines[1] == f"localhost: would run pvcreate -y {loops[0]}"
        assert lines[-1] == "localhost: would run gluster --mode=script volume start tvirt-test-cli"
        host = socket.gethostname()
        assert f"{host}:/gluster_bricks/tvirt-test-cli-3/brick force" in lines[-3]
        assert "volume set tvirt-test-cli" in lines[-2]  # the virt profile
        asked = tvirt("gluster", "create", "tvirt-test-cli", *specs, *thin)
        assert asked.returncode == 2 and "needs --yes" in asked.stderr
        # Disks too small for a thin pool: the run fails at the thin pool on every kernel.
        state = tmp_path / "state"
        run = tvirt(
            "gluster",
            "create",
            "tvirt-test-cli",
            *specs,
            *thin,
            "--yes",
            "--undo-on-failure",
            state=state,
        )
        assert run.returncode == 1
        err = run.stderr.splitlines()
        assert err[0] == f"done: localhost: wipe the signatures of {loops[0]}"
        assert err[1] == f"done: localhost: make {loops[0]} an LVM physical volume"
        assert err[3].startswith("failed: localhost: create thin pool")
        assert f"undone: localhost: pvremove -y {loops[0]}" in err
        assert not any(line.startswith("not undone") for line in err)
        assert "undo ran vgremove" in (state / "tvirt" / "bricks.log").read_text()


def test_read_only_create_is_refused_before_any_disk_is_read(tmp_path: Path) -> None:
    with loop_devices(tmp_path, 3) as loops:
        specs = [f"localhost:{p}" for p in loops]
        for extra in ([], ["--dry-run"], ["--yes"]):
            done = tvirt("--readonly", "gluster", "create", "tvirt-test-ro", *specs, *extra)
            assert (done.returncode, done.stdout) == (1, "")
            assert done.stderr == (
                "tvirt: Read-only mode refused to create the bricks and volume tvirt-test-ro "
                "on localhost qemu/system; restart tvirt without --readonly to make changes.\n"
            )


def test_wipe_json_names_the_host_by_its_label(ext4_loop: str) -> None:
    # "host" means the same in every JSON output: the label, with the URI beside it.
    dry = tvirt("wipe", "localhost", ext4_loop, "--method", "zero", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    record = json.loads(dry.stdout)
    assert (record["host"], record["uri"]) == ("localhost qemu/system", "qemu:///system")
    assert record["state"] == "dry run" and record["name"] == ext4_loop
