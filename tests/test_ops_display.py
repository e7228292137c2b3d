"""The display's operations (tvirt.ops.display) on libvirt's test driver: a frame with
its digest, key chords, read-only refusal before libvirt, and failures as sentences."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ops_hosts import opened

from conftest import Testbed
from tvirt.errors import TvirtError
from tvirt.ops import display
from tvirt.ops.run import Failed, Refused
from tvirt.screenshot import decode

GONE = "00000000-0000-0000-0000-00000000dead"


def test_a_frame_decodes_and_the_same_picture_has_the_same_digest(
    node_xml: Callable[[int], str],
) -> None:
    with opened(node_xml(2)) as host:
        vm = host.vm("vm0000")
        first = display.frame(host.worker, vm.uuid).result(10)
        again = display.frame(host.worker, vm.uuid).result(10)
        assert first.mime == "image/png" and first.size > 0
        assert again.digest == first.digest
        assert decode(first).size[0] > 0


def test_keys_are_sent_in_batches(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm = host.vm("vm0000")
        chords = [(30,)] * 40
        batches = display.batches(chords)
        assert [len(b) for b in batches] == [16, 16, 8]
        sent = [display.send_chords(host.worker, vm.uuid, vm.name, b) for b in batches]
        assert sum(f.result(10) for f in sent) == 40


def test_read_only_refuses_keys_and_libvirt_refuses_the_screenshot(
    node_xml: Callable[[int], str],
) -> None:
    with opened(node_xml(2), readonly=True) as host:
        vm = host.vm("vm0000")
        with pytest.raises(Refused) as refused:
            display.send_chords(host.worker, vm.uuid, vm.name, [(30,)]).result(10)
        assert "Read-only mode refused to send keys to vm0000" in str(refused.value)
        with pytest.raises(Failed) as shot:
            display.frame(host.worker, vm.uuid).result(10)
        assert str(shot.value) == "The connection is read-only, so the change was refused."


def test_a_vm_gone_meanwhile_is_a_sentence(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        with pytest.raises(Failed) as shot:
            display.frame(host.worker, GONE).result(10)
        assert str(shot.value) == "That virtual machine no longer exists."
        with pytest.raises(Failed) as keys:
            display.send_chords(host.worker, GONE, "gone", [(30,)]).result(10)
        assert str(keys.value) == "That virtual machine no longer exists."


@pytest.mark.real
def test_a_shut_off_vm_says_so_not_libvirts_words(testbed: Testbed, guest: str) -> None:
    """QEMU refuses a screenshot of a shut-off VM with "Requested operation is not
    valid"; the test driver draws one anyway, so this needs the test bed's guest (the
    session's shared one, left shut off by every test that boots it)."""
    with opened(testbed.qemu_uri) as host:
        vm = host.vm(guest)
        with pytest.raises(TvirtError) as shot:
            display.frame(host.worker, vm.uuid).result(30)
        assert str(shot.value) == f"{guest} is not running; start it to see its display."
