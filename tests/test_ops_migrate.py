"""The migration operations (tvirt.ops.migrate): read-only mode refuses before the host
is asked; libvirt's refusal is one sentence and the VM stays; progress reads None when no
job runs. The test bed has one libvirtd (the ssh URI reaches the same daemon), so moves
that succeed are tests/test_lab_migrate.py's, on the lab's two nodes."""

from __future__ import annotations

import os
from collections.abc import Callable

import libvirt
import pytest
from ops_hosts import opened

from conftest import Testbed, guest_xml
from tvirt.migrate import MigrateError, flags_for
from tvirt.ops import migrate
from tvirt.ops.run import Failed, Refused

AFTER = "; restart tvirt without --readonly to make changes."


def test_flags_follow_the_vms_state_and_the_choices() -> None:
    p2p = libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_PERSIST_DEST \
        | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
    assert flags_for(True, live=True, copy_storage=False) == p2p | libvirt.VIR_MIGRATE_LIVE
    assert flags_for(True, live=False, copy_storage=True) == (
        p2p | libvirt.VIR_MIGRATE_NON_SHARED_DISK)
    # Shut off: the definition only, live or not.
    assert flags_for(False, live=True, copy_storage=False) == p2p | libvirt.VIR_MIGRATE_OFFLINE
    with pytest.raises(MigrateError) as caught:
        flags_for(False, live=True, copy_storage=True)
    assert str(caught.value) == (
        "Copying storage needs the VM running; a shut-off VM moves its definition only.")


def test_read_only_refuses_before_the_host_is_asked(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2), readonly=True) as host:
        vm = host.vm("vm0000")
        future = migrate.migrate(host.worker, vm, "test:///default")
        assert future.done()  # nothing was queued on the host's worker
        with pytest.raises(Refused) as caught:
            future.result()
        assert str(caught.value) == (
            f"Read-only mode refused to migrate vm0000 on {host.worker.label}{AFTER}")


def test_the_test_driver_cannot_migrate_and_says_so(node_xml: Callable[[int], str]) -> None:
    with opened(node_xml(2)) as host:
        vm = host.vm("vm0000")
        with pytest.raises(Failed) as caught:
            migrate.migrate(host.worker, vm, "test:///default").result(10)
        text = str(caught.value)
        assert "not supported" in text and text.endswith(".") and "\n" not in text
        assert caught.value.host == host.worker.label
        # Reading progress is best effort: no job (or no support) reads as None.
        assert migrate.progress(host.worker, vm.uuid).result(10) is None


@pytest.mark.real
def test_a_refused_migration_leaves_the_vm_where_it_was(testbed: Testbed) -> None:
    # A VM of this test's own: were the migration to succeed, the source would be undefined.
    name = f"tvirt-ops-migrate-{os.getpid()}"
    conn = libvirt.open(testbed.qemu_uri)
    conn.defineXML(guest_xml(name, testbed.guest_kernel, testbed.guest_initrd))
    try:
        with opened(testbed.qemu_uri) as host:
            vm = host.vm(name)
            assert migrate.progress(host.worker, vm.uuid).result(60) is None
            with pytest.raises(Failed) as caught:
                migrate.migrate(host.worker, vm, testbed.ssh_uri).result(120)
            text = str(caught.value)
            assert text.endswith(".") and "\n" not in text and "Traceback" not in text
            assert caught.value.host == host.worker.label
        assert conn.lookupByName(name).isPersistent()  # still defined here
    finally:
        try:
            conn.lookupByName(name).undefine()
        except libvirt.libvirtError:
            pass  # already gone
        conn.close()
