"""The console's read (tvirt.ops.console): the domain XML, in read-only mode too; every
failure is one sentence. On libvirt's test driver, and the real libvirtd's shut-off guest.
Screenshots are tvirt.ops.display's (tests/test_ops_display.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ops_hosts import opened

from conftest import Testbed
from tvirt.console import has_serial_console
from tvirt.ops import console
from tvirt.ops.run import Failed


def test_read_only_reads_the_xml(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2), readonly=True) as host:
        vm = host.vm("vm0000")
        assert "<name>vm0000</name>" in console.domain_xml(host.worker, vm.uuid).result(10)


def test_a_vm_gone_meanwhile_is_a_sentence(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        gone = "00000000-0000-0000-0000-00000000dead"
        with pytest.raises(Failed) as xml:
            console.domain_xml(host.worker, gone).result(10)
        assert "\n" not in str(xml.value) and str(xml.value).endswith(".")


@pytest.mark.real
def test_the_real_guest(testbed: Testbed, guest: str) -> None:
    with opened(testbed.qemu_uri) as host:
        vm = host.vm(guest)  # shut off
        assert has_serial_console(console.domain_xml(host.worker, vm.uuid).result(60))
