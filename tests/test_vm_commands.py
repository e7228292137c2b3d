"""The VM builder and the plain commands of issue 7 on a private test-driver host
(tests/fixtures/vmlab.xml): XML shape, validation sentences, --json, read-only refusals."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tvirt import cli
from tvirt.networks import NetSpec, network_xml, spec_problems
from tvirt.vmspec import (
    DiskKind,
    HostLimits,
    NetKind,
    Source,
    VMSpec,
    build_xml,
    parse_size_mib,
    problems,
)

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'vmlab.xml'}"
LIMITS = HostLimits(memory_mib=4096, cpus=4, max_vcpus=255, domain_types=("qemu", "kvm"),
                    existing_names=frozenset({"db01"}), pools=("labpool",),
                    networks=("labnet",))


def tvirt(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(["-c", LAB, *argv])
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_kernel_boot_xml_has_serial_console_and_virtio_disk() -> None:
    spec = VMSpec("vm1", 128, 1, Source.KERNEL, kernel="/k", initrd="/i",
                  cmdline="console=ttyS0 x=<y>", disk=DiskKind.NEW, disk_pool="labpool",
                  disk_size_mib=64, net=NetKind.NONE)
    root = ET.fromstring(build_xml(spec, "/pool/vm1.qcow2", "qcow2"))
    assert root.get("type") == "qemu"
    assert root.findtext("os/kernel") == "/k"
    assert root.findtext("os/cmdline") == "console=ttyS0 x=<y>"  # escaped, not injected
    assert root.find("os/boot") is None
    disk = root.find("devices/disk")
    assert disk is not None
    assert disk.find("target").get("bus") == "virtio"  # type: ignore[union-attr]
    assert disk.find("driver").get("type") == "qcow2"  # type: ignore[union-attr]
    assert root.find("devices/serial") is not None and root.find("devices/console") is not None
    assert root.find("devices/interface") is None and root.find("devices/graphics") is None
    assert root.find("cpu") is None  # never host-model: TCG hosts abort on it


def test_iso_install_with_bridge_vnc_and_generic_devices() -> None:
    spec = VMSpec("vm2", 1024, 2, Source.ISO, iso="/isos/x.iso", disk=DiskKind.EXISTING,
                  disk_path="/var/lib/libvirt/images/vm2.raw", net=NetKind.BRIDGE,
                  net_source="br0", graphics=True, os_hint="windows")
    root = ET.fromstring(build_xml(spec))
    assert [b.get("dev") for b in root.findall("os/boot")] == ["cdrom", "hd"]
    disks = root.findall("devices/disk")
    assert [d.get("device") for d in disks] == ["disk", "cdrom"]
    assert disks[0].find("target").get("bus") == "sata"  # type: ignore[union-attr]
    nic = root.find("devices/interface")
    assert nic is not None and nic.get("type") == "bridge"
    assert nic.find("model").get("type") == "e1000"  # type: ignore[union-attr]
    graphics = root.find("devices/graphics")
    assert graphics is not None and graphics.get("listen") == "127.0.0.1"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"name": ""}, "Give the VM a name"),
        ({"name": "a/b"}, "cannot contain a path separator"),
        ({"name": "a b"}, "may hold only letters"),
        ({"name": "db01"}, "already exists"),
        ({"memory_mib": 8}, "at least 16 MiB"),
        ({"memory_mib": 9000}, "more than the host has"),
        ({"vcpus": 0}, "at least 1 vCPU"),
        ({"vcpus": 9}, "The host offers at most 4 vCPUs, not 9"),
        ({"source": Source.KERNEL}, "needs the kernel's path"),
        ({"source": Source.ISO, "iso": "x.iso"}, "must be absolute"),
        ({"source": Source.IMPORT}, "needs an existing disk's path"),
        ({"disk": DiskKind.NEW, "disk_pool": "nope", "disk_size_mib": 5}, "no storage pool"),
        ({"disk": DiskKind.NEW, "disk_pool": "labpool"}, "size of at least 1 MiB"),
        ({"disk": DiskKind.NEW, "disk_pool": "labpool", "disk_size_mib": 5,
          "disk_format": "vmdk"}, "must be one of qcow2, raw"),
        ({"disk": DiskKind.EXISTING, "disk_path": "x.img"}, "must be absolute"),
        ({"net_source": "nonet"}, "no libvirt network"),
        ({"net": NetKind.BRIDGE, "net_source": "a bridge name too long"}, "not a valid bridge"),
        ({"os_hint": "beos"}, "OS hint"),
        ({"domain_type": "xen"}, "cannot run 'xen'"),
    ],
)
def test_every_bad_field_is_one_sentence(change: dict[str, object], words: str) -> None:
    base = VMSpec("ok", 256, 1, Source.PXE, net=NetKind.NETWORK, net_source="labnet")
    found = problems(VMSpec(**{**base.__dict__, **change}), LIMITS)  # type: ignore[arg-type]
    assert len(found) == 1 and words in found[0], found
    assert problems(base, LIMITS) == []


@pytest.mark.parametrize(("text", "mib"), [("512", 512), ("512M", 512), ("2G", 2048),
                                           ("1.5GiB", 1536), ("1T", 1048576)])
def test_sizes(text: str, mib: int) -> None:
    # Memory: a bare number is MiB (as virt-install); a disk size is bytes, rounded up.
    assert parse_size_mib(text, "memory") == mib
    assert parse_size_mib(text) == (mib if text != "512" else 1)


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "1Q"])
def test_bad_sizes(text: str) -> None:
    with pytest.raises(ValueError, match="size"):
        parse_size_mib(text)


def test_network_spec_and_xml() -> None:
    assert spec_problems(NetSpec("n1", "nat", "192.168.50.0/24")) == []
    for spec, words in (
        (NetSpec("bad name", "nat", "192.168.50.0/24"), "may hold only"),
        (NetSpec("n1", "bridge", "192.168.50.0/24"), "nat or isolated"),
        (NetSpec("n1", "nat", "192.168.50.1/24"), "IPv4 network"),
        (NetSpec("n1", "nat", "8.8.8.0/24"), "not a private range"),
        (NetSpec("n1", "nat", "10.0.0.0/30"), "/8 to /29"),
    ):
        assert any(words in p for p in spec_problems(spec)), (spec, spec_problems(spec))
    root = ET.fromstring(network_xml(NetSpec("n1", "isolated", "10.9.0.0/24")))
    assert root.find("forward") is None
    ip = root.find("ip")
    assert ip is not None and ip.get("address") == "10.9.0.1"
    assert root.find("ip/dhcp/range").get("start") == "10.9.0.2"  # type: ignore[union-attr]


def test_create_print_xml_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = tvirt(capsys, "create", "web9", "--pxe", "--disk-pool", "labpool",
                           "--disk-size", "1G", "--network", "labnet", "--print-xml")
    assert code == 0, err
    root = ET.fromstring(out)
    assert root.get("type") == "test"  # the driver's only type
    source = root.find("devices/disk/source")
    assert source is not None and source.get("file") == "/lab/pool/web9.qcow2"
    code, out, err = tvirt(capsys, "--json", "create", "web9", "--pxe", "--no-network")
    assert code == 0, err
    record = json.loads(out)
    assert record["name"] == "web9" and record["state"] == "shut off"


@pytest.mark.parametrize(
    ("argv", "words", "exit_code"),
    [
        (["create", "x"], "of the arguments --iso --kernel --import --pxe is required", 2),
        (["create", "x", "--pxe", "--memory", "lots"], "'lots' is not a memory size", 2),
        (["create", "x", "--pxe", "--disk-pool", "labpool"], "needs --disk-size", 2),
        (["create", "x", "--pxe", "--disk-size", "1G"], "needs --disk-pool", 2),
        (["create", "x", "--pxe", "--initrd", "/i"], "only go with --kernel", 2),
        (["create", "db01", "--pxe", "--no-network"], "already exists", 1),
        (["create", "x", "--pxe", "--network", "nonet"], "no libvirt network", 1),
        (["create", "x", "--pxe", "--no-network", "--vcpus", "99"], "offers at most 4 vCPUs", 1),
        (["hw", "memory", "db01", "1Q"], "not a unit of memory size", 2),
        (["hw", "boot", "db01", "usb"], "boot order is a list", 1),
        (["hw", "nic-add", "db01", "--network", "labnet", "--mac", "zz"], "not a MAC", 1),
        (["hw", "disk-remove", "db01", "vdq", "--yes"], "no disk 'vdq'", 1),
        (["hw", "media", "db01", "vda", __file__], "no CD drive 'vda'", 1),
        (["snapshot", "create", "db01", "bad name"], "snapshot name", 1),
        (["snapshot", "revert", "db01", "nope", "--yes"], "no snapshot called", 1),
        (["clone", "db01", "db01"], "already exists", 1),
        (["net", "define", "n2", "--subnet", "300.1.1.0/24"], "IPv4 network", 2),
        (["net", "start", "nonet"], "no network called", 1),
        (["hw", "show", "nosuchvm"], "No VM called", 1),
    ],
)
def test_bad_input_is_one_sentence(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str, exit_code: int
) -> None:
    code, _out, err = tvirt(capsys, *argv)
    assert code == exit_code, err
    assert words in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_destructive_commands_need_yes_without_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    for argv in (["hw", "disk-remove", "db01", "vda"], ["snapshot", "revert", "db01", "s"],
                 ["net", "stop", "labnet"]):
        code, _out, err = tvirt(capsys, *argv)
        assert code == 2 and "needs --yes" in err, (argv, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "x", "--pxe", "--no-network"],
        ["hw", "memory", "db01", "512M"],
        ["hw", "disk-remove", "db01", "vda", "--yes"],
        ["snapshot", "create", "db01", "s1"],
        ["clone", "db01", "db02"],
        ["net", "define", "n3"],
        ["net", "start", "labnet"],
        ["migrate", "db01", "test:///default"],
    ],
)
def test_readonly_refuses_every_change(capsys: pytest.CaptureFixture[str],
                                       argv: list[str]) -> None:
    code, _out, err = tvirt(capsys, "--readonly", *argv)
    assert code == 1 and "Read-only mode refused" in err, err


def test_hardware_snapshot_and_network_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = tvirt(capsys, "hw", "show", "db01")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("db01: running, host ")
    assert "sda: cdrom, empty, bus sata, format raw" in lines
    code, out, err = tvirt(capsys, "--json", "hw", "show", "db01")
    assert json.loads(out)["boot_order"] == ["hd", "cdrom"]
    code, out, err = tvirt(capsys, "net", "list")
    assert out.startswith("labnet: active, autostart off, virbr9, forward nat, ")
    code, out, err = tvirt(capsys, "snapshot", "list", "db01")
    assert out == "db01: no snapshots\n"
