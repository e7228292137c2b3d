"""Plain commands: one record per line, --json, exit codes, one-sentence errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tvirt.cli import EXIT_CONNECT, EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from tvirt.keys import all_keys, display


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_one_line_per_vm_name_and_state_first(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    code, out, _ = run(capsys, "-c", node_xml(4), "list")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert lines[0].startswith("vm0000: running, host demo node4.xml")
    assert lines[1].startswith("vm0001: shut off,")
    assert len(lines) == 4
    code, out, _ = run(capsys, "-c", node_xml(4), "list", "--state", "shut off")
    assert [line.split(":")[0] for line in out.splitlines()] == ["vm0001", "vm0003"]


def test_json_schema(capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]) -> None:
    code, out, _ = run(capsys, "-c", node_xml(2), "--json", "list")
    assert code == EXIT_OK
    records = json.loads(out)
    assert set(records[0]) == {
        "name",
        "state",
        "host",
        "uri",
        "uuid",
        "vcpus",
        "memory_kib",
        "autostart",
        "persistent",
    }
    assert records[0]["state"] == "running" and records[0]["memory_kib"] == 65536
    code, out, _ = run(capsys, "-c", node_xml(2), "--json", "hosts")
    host = json.loads(out)[0]
    assert host["state"] == "connected" and host["demo"] is True and host["cpus"] == 2


def test_actions_and_exit_codes(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    uri = node_xml(2)
    code, out, _ = run(capsys, "-c", uri, "suspend", "vm0000")
    assert code == EXIT_OK and out.strip() == "Paused vm0000 on demo node2.xml."
    # Each CLI run opens its own connection; custom test nodes are private per
    # connection, so this run sees vm0001 shut off again and pausing it fails.
    code, _, err = run(capsys, "-c", uri, "suspend", "vm0001")
    assert code == EXIT_FAILED and err.startswith("Could not pause vm0001")
    code, _, err = run(capsys, "-c", uri, "start", "nosuch")
    assert code == EXIT_FAILED and err.strip() == "tvirt: No VM called 'nosuch'."


def test_readonly_refuses(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    code, _, err = run(capsys, "-c", node_xml(2), "--readonly", "destroy", "vm0000")
    assert code == EXIT_FAILED and "Read-only mode refused to force off vm0000" in err


def test_delete_without_terminal_needs_yes(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    code, _, err = run(capsys, "-c", node_xml(2), "delete", "vm0001")
    assert code == EXIT_USAGE and "--yes" in err
    code, out, _ = run(capsys, "-c", node_xml(2), "delete", "vm0001", "--yes")
    assert code == EXIT_OK and out.startswith("Deleted vm0001")


def test_bad_uri_and_unreachable_host(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-c", "qemu:/system", "list")
    assert code == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    code, _, err = run(capsys, "-c", "qemu+ssh://root@nonexistent.invalid/system", "list")
    assert code == EXIT_CONNECT and "could not be resolved" in err


def test_ambiguous_name_needs_host(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    code, _, err = run(
        capsys, "-c", node_xml(2), "-c", "test:///default", "-c", node_xml(3), "info", "vm0000"
    )
    assert code == EXIT_USAGE and "--host" in err
    code, out, _ = run(
        capsys, "-c", node_xml(2), "-c", node_xml(3), "info", "vm0000", "--host", "demo node3.xml"
    )
    assert code == EXIT_OK and "node3" in out


def test_keys_lists_every_binding(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "keys")
    assert code == EXIT_OK
    lines = out.splitlines()
    assert len(lines) == len(all_keys())
    for key in all_keys():
        assert any(line.startswith(f"{display(key.key)}: {key.description}") for line in lines)
