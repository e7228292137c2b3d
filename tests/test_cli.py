"""Plain commands: one record per line, --json, exit codes, one-sentence errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tvirt.cli import main
from tvirt.errors import EXIT_CONNECT, EXIT_FAILED, EXIT_OK, EXIT_USAGE
from tvirt.keys import all_keys, display


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors, as the tvirt script would exit
        code = int(exc.code or 0)
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


# -- global options in the places people type them (issue 14, bug 15) ---------------
def test_global_options_work_after_the_command_too(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    two, three = node_xml(2), node_xml(3)
    code, out, err = run(capsys, "list", "--json", "-c", two)
    assert code == EXIT_OK, err
    assert [vm["name"] for vm in json.loads(out)] == ["vm0000", "vm0001"]
    code, out, _ = run(capsys, "info", "vm0001", "--json", "-c", two)
    assert code == EXIT_OK and json.loads(out)["state"] == "shut off"
    # -c before and after the command add up; --host then picks one of them.
    code, out, _ = run(capsys, "-c", two, "list", "-c", three, "--json")
    assert sorted(vm["host"] for vm in json.loads(out)) == ["demo node2.xml"] * 2 + [
        "demo node3.xml"
    ] * 3
    code, out, _ = run(capsys, "-c", two, "list", "-c", three, "--host", "demo node3.xml")
    assert code == EXIT_OK and len(out.splitlines()) == 3 and "node2" not in out
    code, _, err = run(capsys, "destroy", "vm0000", "-c", two, "--readonly")
    assert code == EXIT_FAILED and "Read-only mode refused to force off vm0000" in err
    code, out, _ = run(capsys, "hosts", "--json", "--timeout", "20", "-c", two)
    assert code == EXIT_OK and json.loads(out)[0]["label"] == "demo node2.xml"
    # Nested commands (net stop, vol download) take them after the last word as well.
    code, out, _ = run(capsys, "net", "list", "-c", "test:///default", "--json")
    assert code == EXIT_OK and json.loads(out)[0]["name"] == "default"


def test_list_state_must_be_a_state_word(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    code, out, err = run(capsys, "-c", node_xml(2), "list", "--state", "bogus")
    assert code == EXIT_USAGE and out == ""
    assert "'bogus' is not a VM state" in err and "shut off" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "-c", node_xml(2), "list", "--state", "ShutOff")
    assert code == EXIT_OK and out.startswith("vm0001: shut off")


def test_readonly_refuses_before_asking_to_confirm(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    # Without a terminal an unconfirmed change asks for --yes (exit 2); read-only mode
    # must refuse first (exit 1), since no answer could make the change happen.
    code, _, err = run(capsys, "-c", "test:///default", "--readonly", "net", "stop", "default")
    assert code == EXIT_FAILED and err.startswith(
        "tvirt: Read-only mode refused to stop network default;"
    )
    code, _, err = run(capsys, "-c", node_xml(2), "delete", "vm0001", "--readonly")
    assert code == EXIT_FAILED and "Read-only mode refused to delete vm0001" in err


def test_json_host_is_the_label_and_uri_the_uri_everywhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    uri = f"test://{Path(__file__).parent / 'fixtures' / 'lab.xml'}"
    label = "demo lab.xml"
    code, out, _ = run(capsys, "-c", uri, "--json", "list")
    assert code == EXIT_OK
    assert {(vm["host"], vm["uri"]) for vm in json.loads(out)} == {(label, uri)}
    code, out, _ = run(capsys, "-c", uri, "--json", "pools")
    pools = json.loads(out)
    assert code == EXIT_OK and pools
    assert {(p["host"], p["uri"]) for p in pools} == {(label, uri)}
    code, out, _ = run(capsys, "-c", uri, "--json", "suspend", "web01")
    assert code == EXIT_OK
    result = json.loads(out)[0]
    assert (result["host"], result["uri"], result["ok"]) == (label, uri, True)


def test_host_accepts_the_label_its_first_word_and_the_uri(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    two, three = node_xml(2), node_xml(3)
    for wanted in ("demo node3.xml", "DEMO  node3.xml", three):
        code, out, err = run(capsys, "-c", two, "-c", three, "info", "vm0000", "--host", wanted)
        assert code == EXIT_OK and "host demo node3.xml" in out, (wanted, err)
    # "demo" is the first word of both labels: still ambiguous, and the message says
    # each host's label and URI.
    code, _, err = run(capsys, "-c", two, "-c", three, "info", "vm0000", "--host", "demo")
    assert code == EXIT_USAGE
    assert f"demo node2.xml ({two}), demo node3.xml ({three})" in err
    code, _, err = run(capsys, "-c", two, "info", "vm0000", "--host", "elsewhere")
    assert code == EXIT_USAGE
    assert err == "tvirt: No host called 'elsewhere'; the hosts are: demo node2.xml.\n"


def test_hosts_are_listed_in_the_order_given(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    # The big node is given first and answers last: the list still follows the command line.
    big, small = node_xml(400), node_xml(1)
    code, out, _ = run(capsys, "-c", big, "-c", small, "hosts", "--json")
    assert code == EXIT_OK
    assert [h["label"] for h in json.loads(out)] == ["demo node400.xml", "demo node1.xml"]


def test_net_list_covers_every_connected_host(
    capsys: pytest.CaptureFixture[str], node_xml: Callable[[int], str]
) -> None:
    nets = "<network><name>lan</name><bridge name='virbr9'/></network>"
    uris = []
    for size in (2, 3):
        path = Path(node_xml(size).removeprefix("test://"))
        path.write_text(path.read_text().replace("</node>", nets + "</node>"))
        uris += ["-c", f"test://{path}"]
    code, out, err = run(capsys, *uris, "net", "list", "--json")
    assert code == EXIT_OK, err
    assert sorted(n["host"] for n in json.loads(out)) == ["demo node2.xml", "demo node3.xml"]
    code, out, _ = run(capsys, *uris, "net", "list")
    assert sorted(out.splitlines())[0].startswith("lan on demo node2.xml: ")
    code, out, _ = run(capsys, *uris, "net", "list", "--host", "demo node3.xml")
    assert code == EXIT_OK and len(out.splitlines()) == 1 and out.startswith("lan: ")
