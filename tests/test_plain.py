"""Plain commands, `tvirt watch` and `tvirt shell`: lines of words and no control bytes.

Golden transcripts run the installed `tvirt` as a subprocess with stdout a pipe (plain
mode), with TERM=dumb, and in a pseudo-terminal, and compare its lines byte for byte.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pty_term import Terminal
from test_accessibility import FIXTURE, tvirt_bin

from conftest import Testbed
from tvirt.cli import build_parser, plain, shell
from tvirt.cli.watch import Watcher, line
from tvirt.model import HostInfo, HostState, VMInfo, VMState
from tvirt.updates import DomainChanged, DomainRemoved, DomainsListed, HostChanged

GOLDEN = Path(__file__).parent / "golden"
LAB = f"test://{FIXTURE}"
FORBIDDEN = (b"\x1b", b"\r", b"\x08")


def tvirt(*argv: str, env: dict[str, str] | None = None, stdin: str = "",
          timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [tvirt_bin(), *argv],
        input=stdin.encode(),
        capture_output=True,
        timeout=timeout,
        env={**os.environ, "TVIRT_CONFIG": "/nonexistent/tvirt/config.toml", **(env or {})},
    )


def golden(name: str) -> str:
    return (GOLDEN / name).read_text().replace("{FIXTURE}", str(FIXTURE))


def assert_plain(data: bytes) -> None:
    for byte in FORBIDDEN:
        assert byte not in data, f"{byte!r} in {data!r}"


@pytest.mark.parametrize("term", ["xterm-256color", "dumb"])
@pytest.mark.parametrize(
    ("argv", "name"),
    [(["list"], "list.txt"), (["info", "web01"], "info.txt"), (["hosts"], "hosts.txt")],
)
def test_golden_transcripts(argv: list[str], name: str, term: str) -> None:
    result = tvirt("-c", LAB, *argv, env={"TERM": term})
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == golden(name)
    assert_plain(result.stdout + result.stderr)


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["list"], 0, "web01: running, host demo lab.xml"),
        (["--json", "list"], 0, '"name": "web01"'),
        (["keys"], 0, "?: Show this list of keys"),
        (["--help"], 0, "usage: tvirt"),
        (["info", "nosuch"], 1, "tvirt: No VM called 'nosuch'."),
        (["watch", "--help"], 0, "usage: tvirt watch"),
        (["shell", "--help"], 0, "usage: tvirt shell"),
    ],
)
def test_no_escape_sequences_even_on_a_terminal(argv: list[str], code: int, says: str) -> None:
    term = Terminal([tvirt_bin(), "-c", LAB, *argv],
                    env={"TVIRT_CONFIG": "/nonexistent/tvirt/config.toml"})
    try:
        assert term.proc.wait(60) == code
        # Words too, not just the absence of escapes: silence would pass that alone.
        term.wait_for(lambda: says in bytes(term.raw).decode(errors="replace"), 10, says)
        time.sleep(0.2)
        # The pty turns \n into \r\n itself; every other control byte would be ours.
        assert_plain(bytes(term.raw).replace(b"\r\n", b"\n"))
    finally:
        term.close()


def test_errors_are_one_sentence_on_stderr_with_a_non_zero_exit() -> None:
    result = tvirt("-c", LAB, "info", "nosuch")
    assert result.returncode == 1
    assert result.stdout == b""
    assert result.stderr.decode() == "tvirt: No VM called 'nosuch'.\n"


def test_clean_drops_control_bytes_and_whole_sequences() -> None:
    assert plain.clean("web\x1b[31mred\x1b[0m01") == "webred01"
    assert plain.clean("a\rb\x08c\x07d\x9b2Je") == "a?b?c?de"
    assert plain.clean("title\x1b]0;evil\x07x") == "titlex"
    assert plain.clean("line one\r\nline two\ttab\n") == "line one\nline two\ttab\n"


def test_commands_print_through_the_filter(capsys: pytest.CaptureFixture[str]) -> None:
    with plain.filtered():
        print("vm \x1b[2Jname: running")
        print("oops\x1b[31m", file=sys.stderr)
    out, err = capsys.readouterr()
    assert out == "vm name: running\n" and err == "oops\n"


def test_no_command_in_plain_mode_starts_the_line_shell() -> None:
    result = tvirt("-c", LAB, env={"TERM": "dumb"}, stdin="list\nquit\n")
    out = result.stdout.decode()
    assert result.returncode == 0
    assert out.startswith("Plain mode (TERM=dumb): starting the line shell")
    assert "web01: running, host demo lab.xml" in out
    assert_plain(result.stdout + result.stderr)
    piped = tvirt("-c", LAB, stdin="quit\n")
    assert piped.stdout.decode().startswith(
        "Plain mode (stdout is not a terminal): starting the line shell"
    )


# -- tvirt watch -------------------------------------------------------------------
def watch_lines(argv: list[str], count: int) -> tuple[list[str], int]:
    proc = subprocess.Popen(
        [tvirt_bin(), "-c", LAB, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TVIRT_CONFIG": "/nonexistent/tvirt/config.toml"},
    )
    assert proc.stdout is not None
    lines: list[str] = []
    timer = threading.Timer(30, proc.kill)
    timer.start()
    try:
        while len(lines) < count:
            raw = proc.stdout.readline()
            if not raw:
                break
            assert_plain(raw)
            lines.append(raw.decode().rstrip("\n"))
        proc.send_signal(signal.SIGINT)
        code = proc.wait(15)
    finally:
        timer.cancel()
    return lines, code


def test_watch_lists_then_stops_cleanly_on_ctrl_c() -> None:
    expected = golden("watch.txt").splitlines()
    lines, code = watch_lines(["watch"], len(expected))
    assert lines == expected
    assert code == 0


WATCH_VM_KEYS = {"time", "kind", "event", "name", "host", "uri", "uuid", "state",
                 "previous_state", "autostart"}
WATCH_HOST_KEYS = {"time", "kind", "event", "name", "host", "uri", "state",
                   "previous_state", "previous_name", "error"}


def test_watch_json_is_one_object_per_line_with_the_documented_keys() -> None:
    lines, code = watch_lines(["--json", "watch"], 7)
    assert code == 0
    records = [json.loads(text) for text in lines]
    assert records[0]["kind"] == "host" and set(records[0]) == WATCH_HOST_KEYS
    assert records[0]["state"] == "connected"
    for record in records[1:]:
        assert set(record) == WATCH_VM_KEYS
        assert record["kind"] == "vm" and record["event"] == "listed"
        assert record["previous_state"] is None
    assert {r["name"]: r["state"] for r in records[1:]}["cache01"] == "paused"


def _vm(state: VMState, autostart: bool = False) -> VMInfo:
    return VMInfo("qemu:///h1", "u1", "web01", state, 1, 1024, autostart)


def test_watch_lines_for_every_kind_of_change() -> None:
    w = Watcher()
    host = HostInfo("qemu:///h1", "qemu:///h1", "host1", HostState.CONNECTED)
    assert [line(r) for r in w.records(HostChanged(host))] == ["host host1: connected"]
    assert [line(r) for r in w.records(DomainsListed("qemu:///h1", (_vm(VMState.RUNNING),)))
            ] == ["web01 on host1: running"]
    assert [line(r) for r in w.records(DomainChanged(_vm(VMState.SHUTOFF)))
            ] == ["web01 on host1: running -> shut off"]
    assert w.records(DomainChanged(_vm(VMState.SHUTOFF))) == []
    assert [line(r) for r in w.records(DomainChanged(_vm(VMState.SHUTOFF, True)))
            ] == ["web01 on host1: autostart on"]
    lost = HostInfo("qemu:///h1", "qemu:///h1", "host1", HostState.DISCONNECTED,
                    error="Connection lost: the keepalive timed out.")
    assert [line(r) for r in w.records(HostChanged(lost))] == [
        "host host1: connected -> disconnected (Connection lost: the keepalive timed out.)"
    ]
    assert [line(r) for r in w.records(HostChanged(host))] == [
        "host host1: disconnected -> connected"
    ]
    # A relisting after the reconnect reports only what changed meanwhile.
    other = VMInfo("qemu:///h1", "u2", "db01", VMState.RUNNING, 1, 1024, False)
    relisted = w.records(DomainsListed("qemu:///h1", (_vm(VMState.RUNNING, True), other)))
    assert [line(r) for r in relisted] == ["db01 on host1: new, running",
                                           "web01 on host1: shut off -> running"]
    assert [line(r) for r in w.records(DomainRemoved("qemu:///h1", "u2", "db01"))] == [
        "db01 on host1: removed"
    ]


@pytest.mark.real
def test_watch_sees_the_real_guest_start_and_stop(testbed: Testbed, guest: str) -> None:
    import libvirt

    proc = subprocess.Popen(
        [tvirt_bin(), "-c", testbed.qemu_uri, "watch", "--changes-only"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TVIRT_CONFIG": "/nonexistent/tvirt/config.toml"},
    )
    assert proc.stdout is not None
    seen: list[str] = []
    reader = threading.Thread(
        target=lambda: seen.extend(raw.decode().rstrip("\n") for raw in proc.stdout),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()

    def wait_line(fragment: str, start: str = "") -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(fragment in text and text.startswith(start) for text in list(seen)):
                return
            time.sleep(0.1)
        raise AssertionError(f"no line with {fragment!r}; saw {seen}")

    conn = libvirt.open(testbed.qemu_uri)
    try:
        wait_line(": connected")
        dom = conn.lookupByName(guest)
        dom.create()
        wait_line(": shut off -> running", f"{guest} on ")
        dom.destroy()
        # QEMU reports the SIGTERM of destroy as a shutdown first: libvirt may send a
        # "shutting down" event before "stopped", so the watch can show either path.
        wait_line("-> shut off", f"{guest} on ")
    finally:
        if conn.lookupByName(guest).isActive():
            conn.lookupByName(guest).destroy()
        conn.close()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(15)
    assert code == 0
    changes = [text for text in seen if text.startswith(f"{guest} on ")]
    assert any(text.endswith(": shut off -> running") for text in changes), seen
    after = changes[next(i for i, t in enumerate(changes) if t.endswith("-> running")) + 1 :]
    assert [t.split(": ", 1)[1] for t in after] in (
        ["running -> shut off"],
        ["running -> shutting down", "shutting down -> shut off"],
    ), seen


# -- tvirt shell -------------------------------------------------------------------
def test_shell_numbered_menu_and_yes_no() -> None:
    script = "start\n1\ndestroy web01\nno\ndestroy web01\nyes\nquit\n"
    result = tvirt("-c", LAB, "shell", stdin=script)
    out = result.stdout.decode()
    assert result.returncode == 0
    assert "Which VM for start?\n  1. build01: shut off, host demo lab.xml\n" in out
    assert "  2. db01: shut off" in out and "  3. mail01: crashed" in out
    assert "web01" not in out.split("Which VM for start?")[1].split("Number or name")[0]
    assert "Started build01" in out
    assert "Force off web01? Type yes or no: Cancelled: did not force off web01." in out
    assert "Working: destroy web01.\nForced off web01" in out
    assert "Finished: destroy web01: done." in out
    assert_plain(result.stdout + result.stderr)


def test_shell_delete_asks_yes_or_no_and_passes_yes() -> None:
    result = tvirt("-c", LAB, "shell", stdin="delete db01\nyes\nquit\n")
    out = result.stdout.decode()
    assert "Delete db01? Type yes or no: Working: delete db01 --yes.\n" in out
    assert "Deleted db01 on demo lab.xml." in out
    cancelled = tvirt("-c", LAB, "shell", stdin="delete db01\n\nquit\n").stdout.decode()
    assert "Cancelled: did not delete db01." in cancelled and "Deleted" not in cancelled


def test_shell_completion_knows_commands_and_vm_names() -> None:
    sh = shell.Shell(_args(), runner=lambda _argv: 0, parser=build_parser)
    try:
        assert "start " in sh.completenames("sta")
        assert sh.completedefault("we", "start we", 6, 8) == ["web01", "web02"]
        assert "--remove-storage" in sh.completedefault("--re", "delete --re", 7, 11)
    finally:
        sh.close()


def _args() -> argparse.Namespace:
    return argparse.Namespace(connect=[LAB], readonly=False, timeout=10.0)


def test_shell_long_work_prints_start_still_working_and_final_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Fakes for the shell's clock and its wait for the work: each wait is one whole
    # PROGRESS_INTERVAL of fake time, and the work may end only during the third, so
    # exactly two "still working" lines are due, at 30 s and 60 s, however loaded the
    # machine is.
    now = [100.0]
    waits: list[float] = []
    release = threading.Event()

    def join(worker: threading.Thread, timeout: float) -> None:
        waits.append(timeout)
        now[0] += timeout
        if len(waits) == 3:
            release.set()
            worker.join(30)

    def slow(argv: list[str]) -> int:
        assert release.wait(30), "the work was never let finish"
        print("Started web01 on demo lab.xml.")
        return 0

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    sh = shell.Shell(_args(), runner=slow, parser=build_parser, clock=lambda: now[0],
                     join=join)
    try:
        capsys.readouterr()
        assert sh.run(["start", "web01"]) == 0
    finally:
        sh.close()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Working: start web01."
    assert lines[1].startswith("Still working: start web01, ")
    assert lines[-2] == "Started web01 on demo lab.xml."
    assert lines[-1] == "Finished: start web01: done."
    assert lines == [
        "Working: start web01.",
        "Still working: start web01, 30 s so far.",
        "Still working: start web01, 60 s so far.",
        "Started web01 on demo lab.xml.",
        "Finished: start web01: done.",
    ]
    assert waits == [shell.PROGRESS_INTERVAL] * 3


def test_shell_on_a_terminal_completes_with_tab_and_writes_no_escapes(tmp_path: Path) -> None:
    term = Terminal([tvirt_bin(), "-c", LAB, "shell"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")})
    try:
        term.wait_for(lambda: "tvirt>" in term.text(), what="the prompt")
        term.send("sta\t")
        term.wait_for(lambda: "tvirt> start " in term.text(), what="completion")
        term.send("\r")
        term.wait_for(lambda: "Number or name (1 to 3" in term.text(), what="the menu")
        term.send("2\r")
        term.wait_for(lambda: "Finished: start db01: done." in term.text(), what="the result")
        term.send("quit\r")
        term.proc.wait(15)
        assert_plain(bytes(term.raw).replace(b"\r\n", b"\n"))
        # The history is kept next to the config.
        assert "start" in (tmp_path / "shell_history").read_text()
    finally:
        term.close()


def test_shell_menu_carries_the_host_it_showed_and_asks_again(tmp_path: Path) -> None:
    """The same VM names on two hosts: the number picks the VM on the host shown beside
    it (not "exists on several hosts"), and a wrong answer asks again."""
    copy = tmp_path / "copy.xml"
    copy.write_text(FIXTURE.read_text())
    script = "destroy\n9\nweb01\n6\nyes\nquit\n"
    result = tvirt("-c", LAB, "-c", f"test://{copy}", "shell", stdin=script)
    out = result.stdout.decode()
    assert result.returncode == 0, out
    assert "  6. web01: running, host demo lab.xml\n" in out
    assert "9 is not in the list; type a number from 1 to 8.\n" in out
    assert "web01 is on several hosts; answer with its number.\n" in out
    assert "Force off web01 on demo lab.xml? Type yes or no: " in out
    assert f"Working: destroy web01 --host {LAB}.\nForced off web01 on demo lab.xml." in out
    assert "several hosts; pick one" not in out + result.stderr.decode()
    assert_plain(result.stdout + result.stderr)


@pytest.mark.real
def test_shell_menu_and_host_on_the_real_local_and_ssh_hosts(
    testbed: Testbed, guest: str, tmp_path: Path
) -> None:
    """The same libvirtd through qemu:///system and qemu+ssh: every VM is listed twice.
    The menu's number and the label every screen shows both pick the right host."""
    import re

    both = ["-c", testbed.qemu_uri, "-c", testbed.ssh_uri]
    for wanted in ("localhost", "localhost qemu/system", testbed.qemu_uri):
        result = tvirt(*both, "info", guest, "--host", wanted)
        assert result.returncode == 0, (wanted, result.stderr)
        assert f"{guest}: shut off, host localhost qemu/system, " in result.stdout.decode()
    term = Terminal([tvirt_bin(), *both, "shell"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")})
    try:
        term.wait_for(lambda: "tvirt>" in term.text(), what="the prompt")
        term.send("info\r")
        term.wait_for(lambda: b"Number or name" in term.raw, what="the menu")
        menu = bytes(term.raw).decode()
        numbers = re.findall(rf"(\d+)\. {re.escape(guest)}: shut off, host (\S+) qemu/system",
                             menu)
        assert sorted(host for _n, host in numbers) == ["127.0.0.1", "localhost"], menu
        term.send(next(n for n, host in numbers if host == "127.0.0.1") + "\r")
        term.wait_for(lambda: b"persistent" in term.raw, what="the info line")
        text = bytes(term.raw).decode()
        assert f"{guest}: shut off, host 127.0.0.1 qemu/system, " in text
        assert "several hosts" not in text
        term.send("quit\r")
        term.proc.wait(15)
    finally:
        term.close()
