"""Hardware changes on the real libvirtd and the shared TCG guest: what tvirt can set it
can set back (memory, its maximum, vCPUs), a missing disk file is refused up front, and a
disk only in the config of a running VM is listed and can be removed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from test_tui_dashboard import SIZE, select, table
from test_tui_vm_screens import answer, status

from conftest import Testbed
from tui_helpers import until
from tvirt import cli
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.vm_hardware import VMHardwareScreen

pytestmark = pytest.mark.real
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG


@pytest.fixture
def dom(testbed: Testbed, guest: str) -> Iterator[libvirt.virDomain]:
    """The shared guest, shut off, given back shut off with 128 MiB and 1 vCPU."""
    conn = libvirt.open(testbed.qemu_uri)
    domain = conn.lookupByName(guest)
    try:
        yield domain
    finally:
        if domain.isActive():
            domain.destroy()
        domain.setVcpusFlags(1, CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM)
        domain.setMemoryFlags(128 * 1024, CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
        domain.setMemoryFlags(128 * 1024, CONFIG)
        conn.close()


def tvirt(testbed: Testbed, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit status and the one line printed (stdout, or stderr on failure)."""
    try:
        code = cli.main(["-c", testbed.qemu_uri, *argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, (out.out or out.err).strip()


def memory(dom: libvirt.virDomain) -> tuple[int, int]:
    """(memory, maximum) in the config, in MiB."""
    root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    return (int(root.findtext("currentMemory") or 0) // 1024,
            int(root.findtext("memory") or 0) // 1024)


def test_memory_set_in_the_config_can_be_set_back(
    testbed: Testbed, guest: str, dom: libvirt.virDomain, capsys: pytest.CaptureFixture[str]
) -> None:
    code, said = tvirt(testbed, capsys, "hw", "memory", guest, "99999T", "--config-only")
    assert code == 2 and said == (
        "tvirt: A memory size of 99999T is more than 1 PiB, which is surely a typo.")
    # Twice the host's memory: this machine's own memory is ballooned and moves by some
    # hundred MiB between two reads, so "one more than now" was sometimes allowed.
    host_mib = dom.connect().getInfo()[1]
    too_much = 2 * host_mib
    code, said = tvirt(testbed, capsys, "hw", "memory", guest, f"{too_much}M")
    assert code == 1, said
    told = re.fullmatch(
        rf"tvirt: Memory of {too_much} MiB is more than the host has \((\d+) MiB\)\.", said)
    assert told is not None and int(told.group(1)) < too_much, said
    assert memory(dom) == (128, 128)
    # A maximum no host has, as tvirt used to set it: the VM cannot start.
    dom.setMemoryFlags(100 * 1024**3, CONFIG | libvirt.VIR_DOMAIN_MEM_MAXIMUM)
    code, said = tvirt(testbed, capsys, "hw", "memory", guest, "128M", "--config-only")
    assert code == 0, said
    assert "lowered the maximum to 128 MiB in the config" in said
    assert memory(dom) == (128, 128)
    dom.create()  # it starts again
    dom.destroy()
    # Raised with the memory, lowered with it again when no balloon room was set aside.
    assert tvirt(testbed, capsys, "hw", "memory", guest, "512M")[0] == 0
    assert memory(dom) == (512, 512)
    assert tvirt(testbed, capsys, "hw", "memory", guest, "128M")[0] == 0
    assert memory(dom) == (128, 128)
    # The maximum on its own: balloon room is kept when the memory goes down...
    code, said = tvirt(testbed, capsys, "hw", "max-memory", guest, "256M")
    assert code == 0 and said.endswith("maximum memory of " + guest + " to 256 MiB in the config.")
    assert tvirt(testbed, capsys, "hw", "memory", guest, "64M")[0] == 0
    assert memory(dom) == (64, 256)
    # ...and a maximum below the memory takes the memory down with it.
    code, said = tvirt(testbed, capsys, "hw", "max-memory", guest, "32M")
    assert code == 0 and "the memory came down to 32 MiB with it" in said
    assert memory(dom) == (32, 32)


def test_vcpus_are_checked_against_the_host_and_can_be_set_back(
    testbed: Testbed, guest: str, dom: libvirt.virDomain, capsys: pytest.CaptureFixture[str]
) -> None:
    cpus = dom.connect().getInfo()[2]
    code, said = tvirt(testbed, capsys, "hw", "vcpus", guest, "10000")
    assert code == 1 and said == f"tvirt: The host offers at most {cpus} vCPUs, not 10000."
    code, said = tvirt(testbed, capsys, "hw", "vcpus", guest, "0")
    assert code == 2 and said == "tvirt: A VM needs at least 1 vCPU, not 0."
    assert tvirt(testbed, capsys, "hw", "vcpus", guest, "2")[0] == 0
    assert ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)).findtext("vcpu") == "2"
    code, said = tvirt(testbed, capsys, "hw", "vcpus", guest, "1")
    assert code == 0 and said == f"{guest}: Set {guest} to 1 vCPU in the config."
    assert dom.vcpusFlags(CONFIG | libvirt.VIR_DOMAIN_VCPU_MAXIMUM) == 1


def test_a_missing_disk_file_is_refused_up_front(
    testbed: Testbed, guest: str, dom: libvirt.virDomain, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    host = dom.connect().getHostname()
    for state in ("shut off", "running"):
        if state == "running":
            dom.create()
        code, said = tvirt(testbed, capsys, "hw", "disk-add", guest, "/nonexistent/disk.img")
        assert code == 1, state
        assert said == f"tvirt: There is no disk image at /nonexistent/disk.img on {host}."
        assert dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE) == before, state


async def test_a_disk_only_in_the_config_is_listed_and_removed(
    testbed: Testbed, guest: str, dom: libvirt.virDomain, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = tmp_path / "extra.img"
    image.write_bytes(b"\0" * 1024 * 1024)
    dom.create()
    # As when the live attach of a disk was refused: only the config has it.
    dom.attachDeviceFlags(
        f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        f"<source file='{image}'/><target dev='vdb' bus='virtio'/></disk>", CONFIG)
    code, listing = tvirt(testbed, capsys, "hw", "show", guest)
    assert code == 0
    assert f"vdb: disk, {image}, bus virtio, format raw (next boot)" in listing.splitlines()
    app = TvirtApp(uris=[testbed.qemu_uri], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any(vm.name == guest for vm in table(app).vms.values()),
                    "the guest listed", timeout=60)
        select(app, guest)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, VMHardwareScreen), "the hardware")
        screen = app.screen
        assert isinstance(screen, VMHardwareScreen)
        await until(pilot, lambda: screen.overview is not None, "the overview", 30)
        assert screen.overview is not None
        keys = [d.key for d in screen.overview.devices]
        assert "vdb" in keys, keys
        row = screen.query_one("#devices").get_row_at(keys.index("vdb"))  # type: ignore[attr-defined]
        assert row[2].endswith("(next boot)"), row
        screen.query_one("#devices").move_cursor(row=keys.index("vdb"))  # type: ignore[attr-defined]
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: "Removed disk vdb" in status(screen), "the removal", 30)
        assert "the running VM never had it" in status(screen)
        # The maximum memory has its own key (M); a running VM gets it at the next boot.
        await pilot.press("M")
        await answer(pilot, "256M")
        await until(pilot, lambda: "maximum memory" in status(screen), "the new maximum", 30)
        assert status(screen) == (f"Set the maximum memory of {guest} to 256 MiB in the config "
                                  "only; it takes effect at the next boot.")
        await until(pilot, lambda: screen.overview is not None
                    and screen.overview.next_max_memory_mib == 256, "the overview", 30)
        assert "(next boot: 1 vCPU, memory 128 of 256 MiB)" in str(
            screen.query_one("#overview").render())  # type: ignore[attr-defined]
    config = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    assert "vdb" not in [t.get("dev") for t in config.iter("target")]
