"""Which virtualization type a new VM gets, and why, on the real host; and what a silent
console says to try. On a host that is itself a VM (the test bed is one), nested KVM guests
spin with a blank console, so the default there is qemu (TCG), with the reason in words."""

from __future__ import annotations

import subprocess
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from textual.widgets import Static

from conftest import Testbed
from tui_helpers import until
from tvirt.screens.app import TvirtApp
from tvirt.screens.console import ConsoleScreen, open_console
from tvirt.screens.create_wizard import CreateWizard
from tvirt.screens.form import Choice
from tvirt.vmcreate import choose_domain_type, host_limits, stall_hint
from tvirt.vmspec import HostLimits


def cpu_is_virtual() -> bool:
    """This machine's own answer: the 'hypervisor' CPU flag in /proc/cpuinfo."""
    flags = next(
        (ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags")),
        "",
    )
    return "hypervisor" in flags.split()


@pytest.mark.parametrize(
    ("types", "nested", "kind", "words"),
    [
        (("kvm", "qemu"), False, "kvm", "offers KVM hardware virtualization"),
        (("kvm", "qemu"), True, "qemu", "itself a virtual machine"),
        (("qemu",), True, "qemu", "no usable KVM"),
        (("qemu",), False, "qemu", "no usable KVM"),
        (("test",), False, "test", "the only type this host offers"),
    ],
)
def test_the_default_type_and_its_reason(
    types: tuple[str, ...], nested: bool, kind: str, words: str
) -> None:
    limits = HostLimits(4096, 4, 16, domain_types=types, nested=nested)
    chosen, why = choose_domain_type(limits)
    assert chosen == kind
    assert why.startswith(f"{kind}: ") and words in why


@pytest.mark.real
def test_the_real_host_says_whether_it_is_a_vm(testbed: Testbed) -> None:
    conn = libvirt.open(testbed.qemu_uri)
    try:
        limits = host_limits(conn)
    finally:
        conn.close()
    assert limits.nested == cpu_is_virtual()
    kind, why = choose_domain_type(limits)
    if limits.nested:
        assert kind == "qemu" and "hypervisor flag" in why and "Type kvm" in why


@pytest.mark.real
async def test_wizard_shows_the_chosen_type_and_why(testbed: Testbed) -> None:
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: testbed.qemu_uri in app.hosts, "the host", 60)
        wiz = CreateWizard(testbed.qemu_uri, "localhost")
        await app.push_screen(wiz)
        await until(pilot, lambda: wiz.limits is not None, "the host limits", 60)
        assert wiz.limits is not None
        kind, why = choose_domain_type(wiz.limits)
        assert wiz.query_one("#virt-type", Choice).value == kind
        assert str(wiz.query_one("#virt-why", Static).render()) == f"Default {why}"
        if cpu_is_virtual():
            assert kind == "qemu"


@pytest.fixture
def silent_guest(testbed: Testbed) -> Iterator[str]:
    """A running guest whose kernel never writes to ttyS0 (no console=ttyS0, no initrd)."""
    name = f"tvirt-test-silent-{uuidlib.uuid4().hex[:8]}"
    xml = f"""<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory>
      <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{testbed.guest_kernel}</kernel>
      <cmdline>quiet</cmdline></os>
      <devices><serial type='pty'><target port='0'/></serial>
      <console type='pty'><target type='serial' port='0'/></console></devices></domain>"""
    conn = libvirt.open(testbed.qemu_uri)
    dom = conn.createXML(xml, 0)  # transient: gone when destroyed
    try:
        yield name
    finally:
        try:
            dom.destroy()
        except libvirt.libvirtError:
            pass
        conn.close()


@pytest.mark.real
async def test_a_silent_console_says_what_to_try(testbed: Testbed, silent_guest: str) -> None:
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=(140, 40)) as pilot:
        await until(
            pilot,
            lambda: any(vm.name == silent_guest for vm in app.dashboard.table.vms.values()),
            "the guest listed",
            60,
        )
        vm = next(vm for vm in app.dashboard.table.vms.values() if vm.name == silent_guest)
        pane = await open_console(app, vm)
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the console screen")
        await until(pilot, lambda: pane.state == "attached", "attached", 30)
        await until(pilot, lambda: pane.domain_type == "qemu", "the display line", 30)
        display = pane.query_one(f"#{pane.id}-display", Static)
        pane.check_stalled()  # what the STALL_AFTER timer calls; no test waits for it
        text = str(display.render())
        assert text.startswith(f"Nothing has come from {silent_guest} on its serial console")
        assert stall_hint("qemu") in text
        pane.received = 1  # a guest that has spoken gets no hint
        display.update("")
        pane.check_stalled()
        assert str(display.render()) == ""


def test_the_kvm_hint_names_nested_virtualization() -> None:
    assert "nested virtualization" in stall_hint("kvm") and "qemu" in stall_hint("kvm")


@pytest.mark.real
def test_tvirt_create_says_which_type_it_chose(
    testbed: Testbed, capsys: pytest.CaptureFixture[str]
) -> None:
    from tvirt import cli

    name = f"tvirt-test-type-{uuidlib.uuid4().hex[:8]}"
    try:
        code = cli.main(["-c", testbed.qemu_uri, "create", name, "--pxe", "--no-network"])
        out = capsys.readouterr().out
        assert code == 0, out
        conn = libvirt.open(testbed.qemu_uri)
        try:
            kind, why = choose_domain_type(host_limits(conn))
            xml = conn.lookupByName(name).XMLDesc(0)
        finally:
            conn.close()
        assert f"Virtualization type {why}" in out
        assert f"<domain type='{kind}'" in xml
    finally:
        subprocess.run(["virsh", "-q", "-c", testbed.qemu_uri, "undefine", name],
                       capture_output=True, check=False)
