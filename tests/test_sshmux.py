"""One ssh connection per host for the commands tvirt runs there: one master per host,
reused by the next command, closed when tvirt exits; its socket in a private directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Testbed, wait_for
from tvirt import config, sshmux
from tvirt.remote import runner_for, ssh_prefix
from tvirt.uri import parse_uri

TVIRT = str(Path(sys.executable).parent / "tvirt")


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime directory of this test's own, short (a socket path has 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="tvmux", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    yield path
    sshmux.close_all()
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ssh_log(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The real ssh behind a shim on PATH that only writes down each ssh command line
    (to see commands share the connection and the master closed); its log and env."""
    log = tmp_path / "ssh.log"
    shim = tmp_path / "bin" / "ssh"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {shutil.which("ssh")} "$@"\n')
    shim.chmod(0o755)
    yield log, {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}"}


def ours(log: Path) -> tuple[list[str], list[str]]:
    """tvirt's own ssh commands and its `-O exit` calls; libvirt's ssh (the qemu+ssh
    transport, running virt-ssh-helper) is not ours."""
    calls = [c for c in log.read_text().splitlines() if "virt-ssh-helper" not in c]
    return [c for c in calls if " -O " not in c], [c for c in calls if " -O exit " in c]


def done_pid(command: str) -> str:
    """The tvirt process's id in a ControlPath=BASE/tvirt/PID/%C option."""
    return command.split("ControlPath=", 1)[1].split("/%C", 1)[0].rsplit("/", 1)[1]


def sockets(runtime: Path) -> list[Path]:
    """The masters' sockets of every process, in their per-process directories."""
    return sorted((runtime / "tvirt").glob("*/*"))


def test_the_socket_directory_is_private(runtime_dir: Path) -> None:
    prefix = ssh_prefix(parse_uri("qemu+ssh://root@node1/system"))
    assert f"ControlPath={runtime_dir}/tvirt/{os.getpid()}/%C" in prefix
    assert (runtime_dir / "tvirt").stat().st_mode & 0o777 == 0o700
    (runtime_dir / "tvirt").chmod(0o755)  # loosened by someone: tightened again
    assert sshmux.control_dir() == runtime_dir / "tvirt"
    assert (runtime_dir / "tvirt").stat().st_mode & 0o777 == 0o700


def test_a_directory_of_someone_else_is_not_used(runtime_dir: Path) -> None:
    theirs = runtime_dir / "tvirt"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)  # nobody's
    assert sshmux.control_dir() is None
    prefix = ssh_prefix(parse_uri("qemu+ssh://root@node1/system"))
    assert not any("Control" in word for word in prefix)  # one connection per command


@pytest.mark.real
def test_one_master_per_host_reused_then_closed(runtime_dir: Path, testbed: Testbed) -> None:
    runner = runner_for(testbed.ssh_uri)
    assert runner.run(["echo", "one"]).out == "one\n"
    first = sshmux.master_pid(runner.ssh_prefix)
    assert first is not None
    assert runner.run(["echo", "two"]).out == "two\n"
    assert sshmux.master_pid(runner.ssh_prefix) == first  # the same connection
    assert len(sockets(runtime_dir)) == 1
    sshmux.close_all()
    wait_for(lambda: sockets(runtime_dir) == [], what="the master's socket to go")
    assert sshmux.master_pid(runner.ssh_prefix) is None


def test_directories_of_processes_that_are_gone_are_removed(runtime_dir: Path) -> None:
    base = runtime_dir / "tvirt"
    base.mkdir(mode=0o700)
    dead = base / "999999999"  # beyond pid_max: no such process
    dead.mkdir()
    (dead / "leftover").write_text("")
    alive = base / "1"
    alive.mkdir()
    assert sshmux.process_dir() == base / str(os.getpid())
    assert sorted(p.name for p in base.iterdir()) == sorted(["1", str(os.getpid())])


@pytest.mark.real
def test_the_master_goes_when_the_process_exits(
    runtime_dir: Path, testbed: Testbed, ssh_log: tuple[Path, dict[str, str]]
) -> None:
    log, env = ssh_log
    script = (
        "import json\n"
        "from tvirt import sshmux\n"
        "from tvirt.remote import runner_for\n"
        f"runner = runner_for({testbed.ssh_uri!r})\n"
        "pids = []\n"
        "for word in ('one', 'two'):\n"
        "    assert runner.run(['echo', word]).ok\n"
        "    pids.append(sshmux.master_pid(runner.ssh_prefix))\n"
        "print(json.dumps(pids))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=True, env=env)
    first, second = json.loads(done.stdout)
    assert first is not None and first == second
    commands, exits = ours(log)
    assert len(commands) == 2 and len(exits) == 1
    wait_for(lambda: sockets(runtime_dir) == [], what="the master's socket to go")
    wait_for(lambda: not Path(f"/proc/{first}").exists(), what="the master to exit")


@pytest.mark.real
def test_a_command_closes_its_master_on_exit(
    runtime_dir: Path, testbed: Testbed, ssh_log: tuple[Path, dict[str, str]]
) -> None:
    # `tvirt disks` runs lsblk, then wipefs for each device, on the host.
    log, env = ssh_log
    done = subprocess.run([TVIRT, "-c", testbed.ssh_uri, "disks", "127.0.0.1", "--json"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)
    commands, exits = ours(log)
    assert len(commands) >= 2  # lsblk and wipefs at least
    assert all(f"ControlPath={runtime_dir}/tvirt/{done_pid(commands[0])}/%C" in c
               for c in commands)
    assert len(exits) == 1 and log.read_text().splitlines()[-1] == exits[0]  # closed, last
    wait_for(lambda: sockets(runtime_dir) == [], what="the master's socket to go")


@pytest.fixture
def sharing_as_configured() -> Iterator[None]:
    """The switch is process-wide: each test leaves it as the config says."""
    yield
    sshmux.set_sharing(None)


def test_the_switch_applies_to_runners_made_before(
    runtime_dir: Path, sharing_as_configured: None
) -> None:
    runner = runner_for("qemu+ssh://root@node1:2222/system")
    assert sshmux.shared(runner.command(["true"]))
    sshmux.set_sharing(False)
    off = runner.command(["true"])
    assert not any(word.startswith("Control") for word in off)
    assert off == ["ssh", "-o", "BatchMode=yes", "-T", "-p", "2222", "root@node1", "--", "true"]
    assert ssh_prefix(parse_uri("qemu+ssh://root@node1/system"))[-1] == "root@node1"
    assert not sshmux.shared(ssh_prefix(parse_uri("qemu+ssh://root@node1/system")))
    made_off = runner_for("qemu+ssh://root@node1/system")
    sshmux.set_sharing(True)  # and back: a runner made while off shares again
    again = made_off.command(["true"])
    assert again.count("-o") == 4 and sshmux.shared(again) and again[-3] == "root@node1"


def test_the_config_switches_sharing(tmp_path: Path, sharing_as_configured: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("TVIRT_CONFIG", str(path))
    assert config.load(path).share_connections is True  # no file: on
    path.write_text("[ssh]\nshare_connections = false\n")
    assert config.load(path).share_connections is False
    sshmux.set_sharing(None)
    assert sshmux.sharing() is False  # read from the config on first use
    path.write_text('[ssh]\nshare_connections = "no"\n')
    with pytest.raises(config.ConfigError, match=r"ssh\.share_connections"):
        config.load(path)
    settings = config.Config(path=path, share_connections=False)
    config.save(settings)
    assert config.load(path).share_connections is False


@pytest.mark.real
def test_with_sharing_off_no_master_is_made(
    runtime_dir: Path, testbed: Testbed, sharing_as_configured: None
) -> None:
    runner = runner_for(testbed.ssh_uri)  # made while on, used while off
    sshmux.set_sharing(False)
    for word in ("one", "two", "three"):
        assert runner.run(["echo", word]).out == f"{word}\n"
        assert sockets(runtime_dir) == []
    assert sshmux.master_pid(sshmux.apply(runner.ssh_prefix)) is None
    # On again: one master serves the next several commands.
    sshmux.set_sharing(True)
    pids = []
    for word in ("four", "five", "six"):
        assert runner.run(["echo", word]).out == f"{word}\n"
        pids.append(sshmux.master_pid(runner.ssh_prefix))
    assert pids[0] is not None and pids == [pids[0]] * 3
    assert len(sockets(runtime_dir)) == 1


@pytest.mark.real
def test_a_command_with_sharing_off_in_the_config(
    runtime_dir: Path, testbed: Testbed, ssh_log: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    log, env = ssh_log
    path = tmp_path / "config.toml"
    path.write_text("[ssh]\nshare_connections = false\n")
    done = subprocess.run([TVIRT, "-c", testbed.ssh_uri, "disks", "127.0.0.1", "--json"],
                          capture_output=True, text=True, timeout=300,
                          env={**env, "TVIRT_CONFIG": str(path)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)
    commands, exits = ours(log)
    assert len(commands) >= 2 and exits == []  # lsblk and wipefs, each on its own
    assert not any("ControlPath=" in c for c in commands)
    assert not (runtime_dir / "tvirt").exists() or sockets(runtime_dir) == []
