"""The console's reads (tvirt.ops.console): the domain XML and a screenshot. tvirt refuses
neither in read-only mode, but libvirt takes no screenshot on a read-only connection and
says so; every failure is one sentence. On libvirt's test driver, and the real
libvirtd's shut-off guest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ops_hosts import opened

from conftest import Testbed
from tvirt.console import ConsoleError, has_serial_console
from tvirt.ops import console
from tvirt.ops.run import Failed


def test_read_only_reads_the_xml_and_libvirt_refuses_the_screenshot(
    node_xml: Callable[[int], str],
) -> None:
    with opened(node_xml(2), readonly=True) as host:
        vm = host.vm("vm0000")
        assert "<name>vm0000</name>" in console.domain_xml(host.worker, vm.uuid).result(10)
        with pytest.raises(Failed) as refused:
            console.screenshot(host.worker, vm.uuid).result(10)
        assert str(refused.value) == "The connection is read-only, so the change was refused."


def test_a_screenshot_tvirt_cannot_show(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm = host.vm("vm0000")
        # The test driver's screenshot is a PNG of a kind QEMU never writes.
        with pytest.raises(ConsoleError) as caught:
            console.screenshot(host.worker, vm.uuid).result(10)
        assert str(caught.value) == "The screenshot's PNG format is not one tvirt can show."


def test_a_vm_gone_meanwhile_is_a_sentence(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        gone = "00000000-0000-0000-0000-00000000dead"
        with pytest.raises(Failed) as shot:
            console.screenshot(host.worker, gone).result(10)
        # Explained, not quoted: tvirt's sentence for a missing VM.
        assert str(shot.value) == "That virtual machine no longer exists."
        with pytest.raises(Failed) as xml:
            console.domain_xml(host.worker, gone).result(10)
        assert "\n" not in str(xml.value) and str(xml.value).endswith(".")


@pytest.mark.real
def test_the_real_guest(testbed: Testbed, guest: str) -> None:
    with opened(testbed.qemu_uri) as host:
        vm = host.vm(guest)  # shut off
        assert has_serial_console(console.domain_xml(host.worker, vm.uuid).result(60))
        with pytest.raises(Failed) as caught:
            console.screenshot(host.worker, vm.uuid).result(60)
        assert str(caught.value) == "Requested operation is not valid: domain is not running."
        assert caught.value.host == host.worker.label
