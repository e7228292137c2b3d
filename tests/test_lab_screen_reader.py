"""Screen-reader mode on the lab (issue 19): a live migration's progress, walked by
keyboard in the installed `tvirt --screen-reader` in a pty read by pyte (the `Walk` of
tests/test_screen_reader_walk.py: after every key the line under the terminal cursor is
the whole of the focused item, with no frame character).

A running guest moves from node1 to node2 and back over qemu+ssh. Its migration speed is
capped so the move takes long enough for several progress lines. The progress is one
line of words, the percentage in words, changed at most every few seconds; the end shows
on the VM's own line (its new host) and F3 reads it.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import libvirt
import pytest
from pty_term import Terminal
from test_screen_reader_walk import Walk
from test_screen_reader_walk_more import progress_changes

from conftest import Lab, LabNode, _remove_domain, guest_xml, tvirt_bin
from tvirt.screens.progress import SPOKEN_EVERY

pytestmark = pytest.mark.real

SPEED = 5  # MiB/s: the tiny guest's 128 MiB take about 25 s, five or so progress lines


@pytest.fixture
def moving(lab: Lab) -> Iterator[tuple[LabNode, LabNode, str]]:
    """A running guest on node1 (started, not waited for: a booting guest migrates too),
    removed from both nodes at the end."""
    source, target = lab.nodes[0], lab.nodes[1]
    name = f"tvirt-lab-srmove-{os.getpid()}"
    for node in (source, target):
        _remove_domain(node.uri, name)
    conn = libvirt.open(source.uri)
    try:
        dom = conn.defineXML(guest_xml(name, lab.guest_kernel, lab.guest_initrd))
        dom.create()
        dom.migrateSetMaxSpeed(SPEED)
    finally:
        conn.close()
    try:
        yield source, target, name
    finally:
        for node in (source, target):
            _remove_domain(node.uri, name)


def test_live_migration_progress_is_one_spoken_line_and_the_end_is_read(
    tmp_path: Path, moving: tuple[LabNode, LabNode, str]
) -> None:
    source, target, name = moving
    term = Terminal([tvirt_bin(), "-c", source.uri, "-c", target.uri, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    w = Walk(term)
    vm = re.escape(name)

    def row(node: LabNode) -> str:
        return rf"{vm}\s+running\s+{node.name} qemu/system\s+.*"

    progress = re.compile(rf"{vm}: migrated .*")
    try:
        term.wait_for(lambda: "2 hosts, 2 connected" in term.text(), 90, "both hosts")
        w.key("/", r"\(empty\) Filter by name or host \(press /\)")
        w.typed(name, vm)
        w.key("enter", row(source))
        w.note("Migrate it live to node2")
        w.keys([
            ("m", rf"Destination host\s+\(\*\) {target.name} qemu/system"),
            ("enter", r"How\s+\(\*\) live: it keeps running while its memory is copied"),
            ("enter", r"Disks\s+\(\*\) shared: they are on storage both hosts see"),
            ("enter", r"Yes, migrate"),
        ])
        began = time.monotonic()
        # The cursor sits on the progress line: the one line that changes.
        w.key("y", rf"{vm}: migrated .*", timeout=60)
        term.wait_for(lambda: " percent)" in w.line(), 90, "a progress line with a figure")
        w.read(row(target), timeout=180)
        changes = progress_changes(term, began, progress)
        lines = [line for _when, line in changes]
        w.transcript += [f"{'':>10}  {line}" for line in lines[1:]]
        w.transcript.append(f"{'(the end)':>10}  {w.line()}")
        assert len([line for line in lines if " percent)" in line]) >= 2, changes
        assert all("%" not in line for line in lines), lines
        gaps = [later - earlier for (earlier, _a), (later, _b) in pairwise(changes)]
        assert min(gaps) >= SPOKEN_EVERY / 2, list(zip(gaps, lines[1:], strict=False))
        w.key("f3", rf"Newest event: Migrated {vm} to {target.name}.*")
        w.key("x", row(target))
        w.idle("dashboard after the migration", settle=2.0)
        w.note("And back to node1, at full speed")
        w.keys([
            ("m", rf"Destination host\s+\(\*\) {source.name} qemu/system"),
            ("enter", r"How\s+\(\*\) live: it keeps running while its memory is copied"),
            ("enter", r"Disks\s+\(\*\) shared: they are on storage both hosts see"),
            ("enter", r"Yes, migrate"),
        ])
        w.key("y", rf"{vm}: migrated .*|{row(source)}", timeout=60)
        w.read(row(source), timeout=180)
        w.key("f3", rf"Newest event: Migrated {vm} to {source.name}.*")
        w.key("x", row(source))
    finally:
        target_file = os.environ.get("TVIRT_SR_TRANSCRIPT_LAB")
        if target_file:
            Path(target_file).write_text("\n".join(w.transcript) + "\n", encoding="utf-8")
        term.close()
