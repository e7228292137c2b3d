"""The new-VM operations (tvirt.ops.create): what the host offers, the path checks, the
XML, and creating (the virtualization type chosen when none is given); read-only mode
refuses creating before the host is asked; every refusal is one sentence. On libvirt's
test driver (tests/fixtures/vmlab.xml), and a kernel-boot VM on the real libvirtd."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ops_hosts import opened, undefine_if_present

from conftest import Testbed
from tvirt.ops import create
from tvirt.ops.run import Refused
from tvirt.vmcreate import CreateError
from tvirt.vmspec import DiskKind, NetKind, Source, VMSpec

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'vmlab.xml'}"
AFTER = "; restart tvirt without --readonly to make changes."
NEW = VMSpec("web9", 256, 1, Source.PXE, disk=DiskKind.NEW, disk_pool="labpool",
             disk_size_mib=64, net=NetKind.NETWORK, net_source="labnet", domain_type="")


def test_limits_xml_and_create() -> None:
    with opened(LAB) as host:
        w = host.worker
        limits = create.limits(w).result(10)
        assert limits.domain_types == ("test",) and "db01" in limits.existing_names
        assert limits.pools == ("labpool",) and limits.networks == ("labnet",)
        # The wizard's XML: unchecked, the new volume at its planned path.
        built = ET.fromstring(create.build(w, NEW).result(10))
        assert built.find("devices/disk/source").get("file") == (  # type: ignore[union-attr]
            "/lab/pool/web9.qcow2")
        # The command's: the type chosen for the spec that has none.
        assert ET.fromstring(create.preview(w, NEW).result(10)).get("type") == "test"
        done = create.create(w, NEW).result(10)
        assert (done.name, done.state, done.disk_path) == ("web9", "shut off",
                                                           "/lab/pool/web9.qcow2")
        assert done.message.startswith("Created web9. Virtualization type ")
        assert "web9" in create.limits(w).result(10).existing_names


def test_read_only_refuses_creating_and_still_reads() -> None:
    with opened(LAB, readonly=True) as host:
        w = host.worker
        future = create.create(w, NEW, start=True)
        assert future.done()  # nothing was queued on the host's worker
        with pytest.raises(Refused) as caught:
            future.result()
        assert str(caught.value) == f"Read-only mode refused to create web9 on {w.label}{AFTER}"
        assert create.preview(w, NEW).result(10)  # reading is not a change
        assert "web9" not in create.limits(w).result(10).existing_names


def test_problems_are_sentences() -> None:
    with opened(LAB) as host:
        w = host.worker
        kernel = VMSpec("k1", 128, 1, Source.KERNEL, kernel="/nonexistent/vmlinuz",
                        net=NetKind.NONE, domain_type="")
        found = create.path_problems(w, kernel).result(10)
        assert len(found) == 1 and "/nonexistent/vmlinuz" in found[0]
        with pytest.raises(CreateError) as taken:
            create.preview(w, VMSpec("db01", net=NetKind.NONE, domain_type="")).result(10)
        assert str(taken.value) == "A VM named db01 already exists."
        with pytest.raises(CreateError) as nowhere:
            create.create(w, VMSpec("x1", net=NetKind.NETWORK, net_source="nonet",
                                    domain_type="")).result(10)
        assert "no libvirt network" in str(nowhere.value)
        assert "x1" not in create.limits(w).result(10).existing_names


@pytest.mark.real
def test_kernel_boot_vm_on_the_real_host(testbed: Testbed) -> None:
    name = f"tvirt-ops-create-{os.getpid()}"
    spec = VMSpec(name, 128, 1, Source.KERNEL, kernel=testbed.guest_kernel,
                  initrd=testbed.guest_initrd, net=NetKind.NONE, domain_type="qemu")
    with opened(testbed.qemu_uri) as host:
        w = host.worker
        try:
            assert create.path_problems(w, spec).result(60) == []
            done = create.create(w, spec).result(60)
            assert (done.name, done.state, done.message) == (name, "shut off",
                                                             f"Created {name}.")
            assert name in create.limits(w).result(60).existing_names
            with pytest.raises(CreateError) as twice:
                create.create(w, spec).result(60)
            assert str(twice.value) == f"A VM named {name} already exists."
        finally:
            undefine_if_present(testbed.qemu_uri, name)
