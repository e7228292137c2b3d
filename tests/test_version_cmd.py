"""`tvirt version`: tvirt's, the library's and each host's versions; `--version` short."""

from __future__ import annotations

import json

import libvirt
import pytest

from conftest import Testbed
from tvirt import __version__
from tvirt.cli import main
from tvirt.errors import EXIT_OK
from tvirt.model import format_version

REFUSED = "qemu+ssh://root@127.0.0.1:1/system"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_dash_dash_version_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"tvirt {__version__}\n", "")


def test_versions_of_a_host_and_of_one_that_does_not_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "-c", "test:///default", "-c", REFUSED, "version", "--json")
    assert code == EXIT_OK and err == ""
    found = json.loads(out)
    library = format_version(libvirt.getVersion())
    assert found["tvirt"] == __version__ and found["libvirt"] == library
    demo, refused = found["hosts"]
    assert demo["uri"] == "test:///default"
    # the test driver runs in this process: its "daemon" is the library itself
    assert demo["daemon"] == library and demo["hypervisor"] == "TEST"
    assert demo["hypervisor_version"] and "error" not in demo
    assert "daemon" not in refused and "refused the connection" in refused["error"]


def test_version_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-c", "test:///default", "-c", REFUSED, "version")
    lines = out.splitlines()
    assert code == EXIT_OK
    assert lines[0] == f"tvirt {__version__}"
    assert lines[1] == f"libvirt library {format_version(libvirt.getVersion())}"
    assert lines[3].startswith("demo default: libvirt daemon ") and "hypervisor TEST " in lines[3]
    assert lines[4].startswith("127.0.0.1 qemu/system: no versions: ")
    assert "refused the connection" in lines[4]


@pytest.mark.real
def test_the_daemon_and_qemu_behind_ssh(
    capsys: pytest.CaptureFixture[str], testbed: Testbed
) -> None:
    code, out, _ = run(capsys, "-c", testbed.ssh_uri, "--json", "version")
    host = json.loads(out)["hosts"][0]
    assert code == EXIT_OK and "error" not in host
    assert host["hypervisor"] == "QEMU"
    assert host["daemon"].count(".") == 2 and host["hypervisor_version"].count(".") == 2
