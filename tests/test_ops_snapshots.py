"""The snapshot operations (tvirt.ops.snapshots): take, list as a tree, revert, delete;
read-only mode refuses each change before the host is asked; a refusal is one sentence.
On libvirt's test driver, and a snapshot of the real libvirtd's guest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import libvirt
import pytest
from ops_hosts import opened

from conftest import Testbed
from tvirt.ops import snapshots
from tvirt.ops.run import Failed, Refused
from tvirt.snapshots import SnapshotError

AFTER = "; restart tvirt without --readonly to make changes."


def test_take_list_revert_and_delete(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm, w = host.vm("vm0001"), host.worker
        assert snapshots.tree(w, vm).result(10) == []
        assert snapshots.create(w, vm, "first", "clean").result(10) == (
            "Created the full snapshot first of vm0001.")
        snapshots.create(w, vm, "second").result(10)
        tree = snapshots.tree(w, vm).result(10)
        assert [(s.name, s.depth, s.current, s.description) for s in tree] == [
            ("first", 0, False, "clean"), ("second", 1, True, "")]
        assert snapshots.revert(w, vm, "first").result(10) == (
            "Reverted vm0001 to snapshot first; it is now shut off.")
        assert [s.current for s in snapshots.tree(w, vm).result(10)] == [True, False]
        assert snapshots.delete(w, vm, "first", children=True).result(10) == (
            "Deleted snapshot first and its children of vm0001.")
        assert snapshots.tree(w, vm).result(10) == []


def test_read_only_refuses_before_the_host_is_asked(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2), readonly=True) as host:
        vm, w = host.vm("vm0001"), host.worker
        for what, future in (
            ("snapshot vm0001", snapshots.create(w, vm, "s1")),
            ("revert vm0001", snapshots.revert(w, vm, "s1")),
            ("delete a snapshot of vm0001", snapshots.delete(w, vm, "s1")),
        ):
            assert future.done()
            with pytest.raises(Refused) as caught:
                future.result()
            assert str(caught.value) == f"Read-only mode refused to {what} on {w.label}{AFTER}"
        assert snapshots.tree(w, vm).result(10) == []


def test_refusals_are_one_sentence(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm, w = host.vm("vm0001"), host.worker
        with pytest.raises(SnapshotError) as missing:
            snapshots.revert(w, vm, "nope").result(10)
        assert str(missing.value) == "vm0001 has no snapshot called 'nope'."
        snapshots.create(w, vm, "s1").result(10)
        with pytest.raises(SnapshotError) as twice:
            snapshots.create(w, vm, "s1").result(10)
        assert str(twice.value) == "vm0001 already has a snapshot called 's1'."
        with pytest.raises(Failed) as gone:
            snapshots.tree(w, replace(vm, uuid="00000000-0000-0000-0000-00000000dead")).result(10)
        assert "\n" not in str(gone.value) and str(gone.value).endswith(".")


@pytest.mark.real
def test_the_real_host_refuses_in_its_own_words(testbed: Testbed, guest: str) -> None:
    # The shared guest has no disk, and a shut-off VM's snapshot is of its disks: QEMU's
    # libvirt refuses it. (A snapshot with a disk: test_real_vm_lifecycle.py.)
    with opened(testbed.qemu_uri) as host:
        vm, w = host.vm(guest), host.worker
        try:
            with pytest.raises(Failed) as refused:
                snapshots.create(w, vm, "ops-test").result(60)
            assert str(refused.value) == (
                "unsupported configuration: nothing selected for snapshot.")
            assert refused.value.host == w.label
            with pytest.raises(SnapshotError) as missing:
                snapshots.delete(w, vm, "ops-test").result(60)
            assert str(missing.value) == f"{guest} has no snapshot called 'ops-test'."
            assert snapshots.tree(w, vm).result(60) == []
        finally:
            conn = libvirt.open(testbed.qemu_uri)
            try:
                dom = conn.lookupByName(guest)
                for name in dom.snapshotListNames(0):
                    dom.snapshotLookupByName(name, 0).delete(0)
            finally:
                conn.close()
