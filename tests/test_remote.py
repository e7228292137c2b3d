"""Remote commands: argv quoting, locally and over the test bed's real ssh."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvirt.remote import RemoteError, Runner, runner_for, ssh_prefix
from tvirt.uri import parse_uri

NASTY = [
    "plain",
    "with space",
    "it's quoted",
    'double "quotes"',
    "$(touch /tmp/tvirt-test-pwned)",
    "a; touch /tmp/tvirt-test-pwned",
    "`id`",
    "back\\slash",
    "*",
    "",
]


def test_local_uri_runs_here() -> None:
    runner = runner_for("qemu:///system")
    assert not runner.remote
    assert runner.command(["echo", "a b"]) == ["echo", "a b"]


def test_ssh_prefix_keeps_user_port_key_and_batch_mode() -> None:
    uri = parse_uri("qemu+ssh://admin@node1:2200/system?keyfile=/k/id%20x")
    prefix = ssh_prefix(uri)
    assert prefix[:4] == ("ssh", "-o", "BatchMode=yes", "-T")
    assert ["-p", "2200"] == list(prefix[4:6])
    assert ["-i", "/k/id x"] == list(prefix[6:8])
    assert prefix[-1] == "admin@node1"
    assert not any("StrictHostKeyChecking" in a for a in prefix)


def test_ssh_command_is_one_quoted_line() -> None:
    runner = runner_for("qemu+ssh://root@h/system")
    argv = runner.command(["mkdir", "-p", "/gluster_bricks/a b;$(x)"])
    assert argv[-2] == "--"
    assert argv[-1] == "mkdir -p '/gluster_bricks/a b;$(x)'"


def test_tls_host_is_refused_with_a_sentence() -> None:
    with pytest.raises(RemoteError, match="need an ssh connection"):
        runner_for("qemu+tls://h/system")


def _round_trip(runner: Runner, tmp: Path) -> None:
    pwned = Path("/tmp/tvirt-test-pwned")
    pwned.unlink(missing_ok=True)
    result = runner.run(["printf", "%s\\n", *NASTY])
    assert result.ok, result.sentence()
    assert result.out.split("\n")[:-1] == NASTY
    # A file whose name has every awkward character is found by that name.
    odd = tmp / "dir with 'q' $(x); y"
    odd.mkdir()
    (odd / "f;`id`").write_text("ok")
    found = runner.run(["cat", str(odd / "f;`id`")])
    assert found.ok and found.out == "ok"
    assert not pwned.exists(), "a name was interpreted by a shell"


def test_local_quoting(tmp_path: Path) -> None:
    _round_trip(Runner("localhost"), tmp_path)


@pytest.mark.real
def test_ssh_quoting(testbed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = runner_for(testbed.ssh_uri)
    assert runner.remote
    _round_trip(runner, tmp_path)


@pytest.mark.real
def test_ssh_failure_is_a_sentence(testbed) -> None:  # type: ignore[no-untyped-def]
    runner = runner_for(f"qemu+ssh://nobody-here@127.0.0.1:{testbed.ssh_port}/system")
    with pytest.raises(RemoteError, match=r"ssh to 127\.0\.0\.1 failed"):
        runner.run(["true"])


def test_failed_command_sentence() -> None:
    result = Runner("localhost").run(["ls", "/nonexistent dir"])
    assert not result.ok
    assert result.sentence().startswith("ls '/nonexistent dir' failed on localhost: ")
