"""Screen-reader mode in the wizards the other walks do not reach, on the real test bed.

The same walk as tests/test_screen_reader_walk.py (its `Walk`: after every key the line
under the terminal cursor is the whole of the focused item, with no frame character, and
the cursor on its text), by keyboard only, in the installed `tvirt --screen-reader` in a
pty read by pyte, on the test bed's QEMU host:

- the new-pool wizard (storage, `N`): every step of a dir pool, its summary read line by
  line, back a step and forward, then a real pool defined, built and started;
- the hardware screen's add-disk form (VM details, `e`, then `a`) on a shut-off VM of the
  test's own: a refused path read out at once, then a real disk added, then the form
  opened again and left with Escape.

Each step is idle for the issue's full 5 s (0 bytes written). What the tests make (the
pool, the VM) has a name of their own and is removed afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from pty_term import Terminal
from test_screen_reader_walk import Walk

from conftest import Testbed, _remove_domain, dir_pool, guest_xml, tvirt_bin

PID = os.getpid()
POOL_ROW = r"[\w.:@+-]+\s+\w+\s+(running|inactive|building|degraded|inaccessible)\s+.*"


def start(tmp_path: Path, uri: str) -> Walk:
    term = Terminal([tvirt_bin(), "-c", uri, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    w = Walk(term)
    term.wait_for(lambda: "connected," in term.text(), 60, "the host")
    return w


def go_to_row(w: Walk, name: str, pattern: str) -> None:
    """Arrow keys to the table row that starts with `name`, found on the screen (rows of
    other tests' come and go, so their order is not known ahead)."""
    rows = [y for y, line in enumerate(w.term.display()) if line.strip().startswith(f"{name} ")]
    assert rows, w.term.text()
    _x, y = w.term.cursor()
    for _ in range(abs(rows[0] - y)):
        w.key("down" if rows[0] > y else "up", pattern)


def _remove_pool(uri: str, name: str) -> None:
    import libvirt

    conn = libvirt.open(uri)
    try:
        pool = conn.storagePoolLookupByName(name)
        if pool.isActive():
            pool.destroy()
        pool.undefine()
    except libvirt.libvirtError:
        pass  # never defined: the walk failed before creating it
    finally:
        conn.close()


@pytest.mark.real
def test_new_pool_wizard_every_step_then_a_real_pool(tmp_path: Path, testbed: Testbed) -> None:
    import libvirt

    name = f"tvirt-srp-{PID}"
    target = tmp_path / "pool"
    # A pool of the test's own, so the pool table has a row to sit on: other tests'
    # pools come and go, and the host may have none.
    conn = libvirt.open(testbed.qemu_uri)
    with dir_pool(conn, f"tvirt-srq-{PID}", tmp_path / "other"):
        walk_the_pool_wizard(tmp_path, testbed, name, target)
    conn.close()


def walk_the_pool_wizard(tmp_path: Path, testbed: Testbed, name: str, target: Path) -> None:
    import libvirt

    w = start(tmp_path, testbed.qemu_uri)
    try:
        w.note("Storage on the test bed's host")
        w.key("S", POOL_ROW)
        w.idle("storage", settle=2.0)  # its pools are listed, then the footer's keys change
        kind = r"Type\s+\(\*\) dir: a directory on the host holding image files"
        w.note("The new-pool wizard: Escape leaves it, making nothing")
        w.key("N", kind)
        w.key("escape", POOL_ROW)
        w.note("Every step of a dir pool")
        w.keys([
            ("N", kind),
            ("down", r"Type\s+\(\*\) logical: an LVM volume group; volumes are logical volumes"),
            ("up", kind),
        ])
        w.idle("new-pool wizard, type")
        w.key("enter", r"Name\s+\(empty\) images")
        w.typed(name, rf"Name\s+{name}")
        w.idle("new-pool wizard, name")
        w.key("enter", r"Directory\s+\(empty\) /var/lib/libvirt/images/pool")
        w.typed(str(target), rf"Directory\s+{re.escape(str(target))}")
        w.idle("new-pool wizard, directory")
        w.keys([
            ("enter", r"Build\s+\(\*\) No: use what is already there"),
            ("down", r"Build\s+\(\*\) Yes: Create the directory if it is missing"),
        ])
        w.idle("new-pool wizard, build")
        w.note("The summary, line by line")
        sentence = rf"Define dir pool {name} and build its storage, then start it\."
        w.keys([
            ("enter", sentence),
            ("down", r"The XML that goes to libvirt:"),
            ("down", r"<pool type=\"dir\">"),
            ("down", rf"<name>{name}</name>"),
            ("down", r"<target>"),
            ("down", rf"<path>{re.escape(str(target))}</path>"),
            ("down", r"</target>"),
            ("down", r"</pool>"),
        ])
        w.idle("new-pool wizard, summary")
        w.note("Back a step keeps the answer; Tab reaches the buttons")
        w.keys([
            ("ctrl+b", r"Build\s+\(\*\) Yes: Create the directory if it is missing"),
            ("enter", sentence),
            ("tab", r"Back"),
            ("tab", r"Create"),
            ("tab", r"Cancel"),
            ("shift+tab", r"Create"),
        ])
        w.note("Create: defined, built and started")
        w.key("enter", POOL_ROW)
        conn = libvirt.open(testbed.qemu_uri)
        try:
            pool = conn.storagePoolLookupByName(name)
            assert pool.isActive()
            assert f"<path>{target}</path>" in pool.XMLDesc(0)
        finally:
            conn.close()
        assert target.is_dir()
        w.term.wait_for(lambda: f"{name} " in w.term.text(), 30, "the new pool listed")
        w.term.wait_quiet(0.7)
        go_to_row(w, name, POOL_ROW)
        w.read(rf"{name}\s+dir\s+running\s+off\s+.*")
        w.idle("storage with the new pool")
        w.term.press("escape")  # the dashboard's rows are other tests' VMs: not checked
        w.term.wait_for(lambda: "Storage on" not in w.term.text(), 30, "the dashboard")
        assert "Traceback" not in w.term.text()
    finally:
        w.term.close()
        _remove_pool(testbed.qemu_uri, name)


@pytest.mark.real
def test_add_disk_form_on_a_vm_of_its_own(tmp_path: Path, testbed: Testbed) -> None:
    import libvirt

    vm = f"tvirt-srd-{PID}"
    # A short directory: the field's long label leaves some 60 columns for the path,
    # and a longer one would scroll its start out of the line.
    short = Path(tempfile.mkdtemp(prefix="sr"))
    disk = short / "disk.img"
    with disk.open("wb") as f:
        f.truncate(16 * 1024**2)
    _remove_domain(testbed.qemu_uri, vm)
    conn = libvirt.open(testbed.qemu_uri)
    try:
        conn.defineXML(guest_xml(vm, testbed.guest_kernel, testbed.guest_initrd))
    finally:
        conn.close()
    try:
        walk_the_add_disk_form(tmp_path, testbed, vm, disk)
    finally:
        _remove_domain(testbed.qemu_uri, vm)
        shutil.rmtree(short)


def walk_the_add_disk_form(tmp_path: Path, testbed: Testbed, vm: str, disk: Path) -> None:
    import libvirt

    row = rf"{vm}\s+shut off\s+localhost qemu/system\s+1\s+128 MiB\s+n/a\s+off"
    path = r"Path of a volume or file \(empty: an empty CD drive\)"
    w = start(tmp_path, testbed.qemu_uri)
    try:
        w.note("Find the VM")
        w.key("/", r"\(empty\) Filter by name or host \(press /\)")
        w.typed(vm, vm)
        w.key("enter", row)
        w.note("Its hardware: no disk yet")
        w.key("e", r"usb0\s+controller\s+usb .*")
        w.idle("hardware", settle=2.0)  # the footer follows the focus late
        w.note("The add-disk form: a path that is not there is refused at once")
        w.key("a", rf"{path}\s+\(empty\)")
        w.idle("add-disk form")
        missing = disk.parent / "missing.img"
        w.typed(str(missing), rf"{path}\s+{re.escape(str(missing))}")
        w.keys([
            ("enter", r"Bus\s+\(\*\) virtio"),
            ("down", r"Bus\s+\(\*\) sata"),
            ("up", r"Bus\s+\(\*\) virtio"),
        ])
        w.key("enter", rf"There is no disk image at {re.escape(str(missing))} on \S+\.")
        assert "Traceback" not in w.term.text()
        w.idle("add-disk refusal")
        w.note("Any key goes back to the form (not to a stale Working... page), "
               "what was typed kept")
        w.key("x", r"Bus\s+\(\*\) virtio")
        w.key("shift+tab", rf"{path}\s+{re.escape(str(missing))}")
        for _ in str(missing):
            w.term.press("backspace")
        w.read(rf"{path}\s+\(empty\)")
        w.typed(str(disk), rf"{path}\s+{re.escape(str(disk))}")
        w.keys([
            ("enter", r"Bus\s+\(\*\) virtio"),
            ("shift+tab", rf"{path}\s+{re.escape(str(disk))}"),
            ("tab", r"Bus\s+\(\*\) virtio"),
        ])
        w.note("Enter adds the disk; the form closes once it is added")
        w.key("enter", rf"vda\s+disk\s+{re.escape(str(disk))}, bus virtio, format raw")
        conn = libvirt.open(testbed.qemu_uri)
        try:
            xml = conn.lookupByName(vm).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        finally:
            conn.close()
        assert f"<source file='{disk}'/>" in xml and xml.count("<disk ") == 1, xml
        w.idle("hardware with the new disk")
        w.note("The form again, left with Escape: nothing added")
        w.key("a", rf"{path}\s+\(empty\)")
        w.key("escape", rf"vda\s+disk\s+{re.escape(str(disk))}, bus virtio, format raw")
        w.key("escape", row)
        assert "Traceback" not in w.term.text()
    finally:
        w.term.close()
