"""Screen-reader mode, screen by screen, by keyboard only (issue 19).

The installed `tvirt --screen-reader` runs on test:///default in a pseudo-terminal read
by pyte. After every key the line under the terminal cursor must be exactly the focused
item (its label and value), matched as a whole line, so no text of another widget, no
border and no other pane can share it. On each screen, once it is drawn, nothing may be
written for IDLE seconds: the issue's 5 s, on every screen.

With TVIRT_SR_TRANSCRIPT=PATH the walk also writes what a screen reader would read after
each key (docs/accessibility.md quotes it).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pty_term import Terminal
from test_tui_dashboard import ANNEX, LAB

from conftest import Testbed, tvirt_bin

IDLE = 5.0
# Box drawing, block and half-block characters: none may share the item's line.
FRAME = re.compile("[\u2500-\u259f\u2800-\u28ff]")


class Walk:
    def __init__(self, term: Terminal) -> None:
        self.term = term
        self.transcript: list[str] = []
        self.idle_checked: list[str] = []

    def line(self) -> str:
        return self.term.line_at_cursor().strip()

    def read(self, pattern: str, *, timeout: float = 30.0) -> str:
        """Wait until the cursor line is the whole of `pattern`; return it."""
        wanted = re.compile(pattern)
        seen: list[str] = []

        def matches() -> bool:
            line = self.term.line_at_cursor()
            seen.append(line.strip())
            if wanted.fullmatch(seen[-1]) is None:
                return False
            # The cursor is on the item's text: from its first character to just after
            # its end (a field's insertion point, a prompt's last space).
            x, _y = self.term.cursor()
            return len(line) - len(line.lstrip()) <= x <= len(line.rstrip()) + 1

        try:
            self.term.wait_for(matches, timeout,
                               what=f"the cursor on a line reading {pattern!r}")
        except AssertionError as exc:  # where the cursor was instead, for the reader
            raise AssertionError(f"cursor at {self.term.cursor()} on {seen[-1:]!r}; "
                                 f"{exc}") from None
        assert not FRAME.search(seen[-1]), seen[-1]
        return seen[-1]

    def key(self, key: str, pattern: str, *, timeout: float = 30.0) -> None:
        began = time.monotonic()
        self.term.press(key)
        line = self.read(pattern, timeout=timeout)
        if os.environ.get("TVIRT_SR_TIMES"):
            print(f"{time.monotonic() - began:5.2f} s  {key}: {line}")
        self.transcript.append(f"{key:>10}  {line}")

    def keys(self, steps: list[tuple[str, str]]) -> None:
        for key, pattern in steps:
            self.key(key, pattern)

    def typed(self, text: str, pattern: str) -> None:
        """Characters typed into a field; the line is checked once they are all in."""
        for char in text:
            self.term.press(char)
        line = self.read(pattern)
        self.transcript.append(f"{'type ' + text:>10}  {line}")

    def idle(self, screen: str, settle: float = 0.7) -> None:
        """Nothing written for IDLE seconds once the screen is drawn."""
        self.term.wait_quiet(settle)
        begin = time.monotonic()
        time.sleep(IDLE)
        written = self.term.bytes_between(begin, time.monotonic() + 1)
        assert written == b"", f"{screen}: {len(written)} bytes at idle: {written[:200]!r}"
        self.idle_checked.append(screen)

    def note(self, words: str) -> None:
        self.transcript.append(f"# {words}")


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    term = Terminal([tvirt_bin(), "-c", "test:///default", "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    try:
        yield Walk(term)
    finally:
        term.close()


ROW = r"test\s+running\s+demo default\s+2\s+8 GiB\s+n/a\s+off"
ROW_OFF = r"test\s+shut off\s+demo default\s+2\s+8 GiB\s+n/a\s+off"


def test_every_screen_by_keyboard_with_the_focused_item_alone_on_the_cursor_line(
    walk: Walk,
) -> None:
    w = walk
    # -- dashboard: one column, the row read as name, state, host, then the rest ----
    w.note("Dashboard")
    w.read(ROW)
    w.transcript.append(f"{'(start)':>10}  {w.line()}")
    w.idle("dashboard", settle=2.0)  # the first start draws the footer late
    w.keys([
        ("f2", r"Columns: Name, State, Host, vCPUs, Memory, CPU, Autostart, Mark\. "
               r"State: all; sorted by name, ascending\."),
        ("x", ROW),
        ("tab", r"demo default \(demo connection\)"),
        ("tab", r"\(empty\) Filter by name or host \(press /\)"),
        ("tab", ROW),
        ("f3", r"Newest event: Host demo default: connecting -> connected"),
        ("escape", ROW),
    ])
    # -- confirmation with a checkbox said in words --------------------------------
    w.note("Delete confirmation")
    w.keys([
        ("D", r"Yes, delete"),
        ("tab", r"Cancel"),
        ("tab", r"\[off\] Also remove storage: no, keep its disk images"),
        ("space", r"\[on\]\s+Also remove storage: yes, delete its disk images"),
    ])
    w.idle("delete confirmation")
    w.key("escape", ROW)
    # -- add-host dialog -----------------------------------------------------------
    w.note("Add a connection")
    w.key("a", r"URI\s+\(empty\) qemu\+ssh://user@host/system")
    w.typed("bad", r"URI\s+bad")
    w.key("enter", r"Not added: .+")
    w.key("x", r"URI\s+bad")
    w.idle("add-host dialog")
    w.keys([("tab", r"Connect"), ("tab", r"Cancel"), ("escape", ROW)])
    # -- help, event log, command palette --------------------------------------------
    w.note("Help")
    w.key("?", r"Everywhere")
    w.key("down", r"\?\s+Show this list of keys")
    w.idle("help")
    w.key("escape", ROW)
    w.note("Event log")
    w.key("L", r"Cancelled: did not delete test on demo default\.")
    w.key("up", r"Host demo default: connecting -> connected")
    w.idle("event log")
    w.key("escape", ROW)
    w.note("Command palette")
    # The palette lists its commands as their providers answer, so the first one
    # highlighted varies; a search makes it one.
    w.key("ctrl+p", r"(?!test\s+running)\S.*")
    w.typed("event log", r"Event log: every result and state change, to review")
    w.idle("command palette")
    w.key("escape", ROW)
    # -- new-VM wizard, every step ---------------------------------------------------
    w.note("New VM wizard")
    w.key("n", r"Name\s+\(empty\) letters, digits, \. _ \+ -")
    w.typed("sr1", r"Name\s+sr1")
    w.keys([
        ("enter", r"Install source\s+\(\*\) Network boot \(PXE\)"),
        ("down", r"Install source\s+\(\*\) ISO image"),
        ("up", r"Install source\s+\(\*\) Network boot \(PXE\)"),
    ])
    w.keys([
        ("enter", r"Memory \(e\.g\. 512M, 2G\)\s+512M"),
        ("enter", r"vCPUs\s+1"),
        ("enter", r"Disk\s+\(\*\) New volume in a pool"),
        ("enter", r"Pool\s+\(\*\) default-pool: 100 GiB free"),
        ("enter", r"Size \(e\.g\. 8G\)\s+8G"),
        ("enter", r"Format\s+\(\*\) qcow2"),
        ("enter", r"Network\s+\(\*\) Libvirt network"),
        ("enter", r"Libvirt network\s+\(\*\) default"),
        ("enter", r"Serial console \(for tvirt's console\)\s+\(\*\) yes"),
        ("enter", r"Graphics: VNC on 127\.0\.0\.1\s+\(\*\) no"),
        ("enter", r"OS hint \(linux: virtio devices\)\s+\(\*\) linux"),
        ("enter", r"Virtualization type\s+\(\*\) test"),
        ("enter", r"Start after creation \(opens its console\)\s+\(\*\) no"),
        ("tab", r"<domain type=\"test\">"),
    ])
    w.idle("new-VM wizard, summary")
    w.key("escape", ROW)
    # -- storage: pools, volumes, the new-volume wizard ------------------------------
    w.note("Storage")
    pool = r"default-pool\s+dir\s+running\s+off\s+0% used\s+100 GiB\s+0 B\s+100 GiB"
    w.key("S", pool)
    w.idle("storage", settle=2.0)  # its pools are listed, then the footer's keys change
    w.keys([
        ("n", r"Pool\s+\(\*\) default-pool: dir, 100 GiB available"),
        ("enter", r"Name\s+\(empty\) disk1\.qcow2"),
    ])
    w.typed("sr.qcow2", r"Name\s+sr\.qcow2")
    w.key("enter", r"Format\s+\(\*\) qcow2")
    w.key("enter", r"Capacity\s+\(empty\) 10G")
    w.typed("1G", r"Capacity\s+1G")
    w.idle("new-volume wizard")
    w.keys([
        ("enter", r"Allocation\s+\(\*\) sparse: take space as it is written"),
        ("enter", r"Backing volume\s+\(\*\) none"),
    ])
    # The summary is read line by line: its sentence, then the XML, nothing beside.
    w.keys([
        ("enter", r"Create sr\.qcow2 in pool default-pool: qcow2, 1(\.0)? GiB, sparse\."),
        ("down", r"The XML that goes to libvirt:"),
        ("down", r"<volume( type=\"file\")?>"),
        ("down", r"<name>sr\.qcow2</name>"),
        ("end", r"</volume>"),
    ])
    w.idle("new-volume wizard, summary")
    w.keys([
        ("tab", r"Back"),
        ("tab", r"Create"),
        ("shift+tab", r"Back"),
        ("shift+tab", r"</volume>"),
        ("home", r"Create sr\.qcow2 in pool default-pool: qcow2, 1(\.0)? GiB, sparse\."),
    ])
    w.key("enter", pool)
    w.key("tab", r"sr\.qcow2\s+qcow2\s+1(\.0)? GiB.*")
    w.key("escape", ROW)
    # -- networks and its define form --------------------------------------------------
    w.note("Networks")
    w.key("N", r"default\s+active\s+off\s+virbr0\s+nat\s+192\.168\.122\.1/.*")
    w.idle("networks")
    w.keys([
        ("n", r"Name\s+\(empty\)"),
        ("tab", r"Mode\s+\(\*\) nat: guests reach out through the host"),
        ("escape", r"default\s+active\s+.*"),
        ("escape", ROW),
    ])
    # -- start a VM, its details (numbers, not graphs), hardware and snapshots --------
    w.note("Force off, then start the VM")
    w.keys([("F", r"Yes, force off"), ("y", ROW_OFF), ("s", ROW)])
    w.note("VM details")
    w.key("i", r"CPU use: now n/a, min n/a, average n/a, max n/a")
    w.key("down", r"Memory used \(guest\): now n/a, min n/a, average n/a, max n/a")
    w.idle("VM details")
    w.key("escape", ROW)
    w.note("Hardware and snapshots")
    w.key("e", r"vda\s+disk\s+/guest/diskimage1, bus virtio, format \?")
    w.key("down", r"aa:bb:cc:dd:ee:ff\s+nic\s+network default, model default")
    w.idle("hardware")
    w.key("m", r"Memory \(e\.g\. 256M, 2G\)\s+2048M")
    w.key("escape", r"aa:bb:cc:dd:ee:ff\s+nic\s+.*")
    w.key("tab", r"\(no snapshots\)")
    w.key("S", r"Name\s+\(empty\)")
    w.idle("snapshot form")
    w.key("escape", r"\(no snapshots\)")
    w.key("escape", ROW)
    # -- the console tab: the guest's cursor, the status line read by F2 -------------
    w.note("Console")
    w.key("c", r"Cannot open the console of test: .*")
    w.key("f2", r"Cannot open the console of test: .*")
    w.idle("console")
    w.key("x", r"Cannot open the console of test: .*")
    w.key("escape", ROW)

    target = os.environ.get("TVIRT_SR_TRANSCRIPT")
    if target:
        Path(target).write_text("\n".join(w.transcript) + "\n", encoding="utf-8")


@pytest.mark.real
def test_start_read_cpu_and_attach_the_console_on_a_real_host(
    tmp_path: Path, testbed: Testbed, guest: str
) -> None:
    """The rest of the task on the test bed's qemu host, where serial consoles exist:
    start the tiny guest, read its CPU use, attach its console (the cursor follows the
    guest's prompt), read the status line with F2, detach, force it off again."""
    term = Terminal([tvirt_bin(), "-c", testbed.qemu_uri, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    w = Walk(term)
    try:
        term.wait_for(lambda: "connected," in term.text(), what="the host", timeout=60)
        w.note("Find the VM")
        w.key("/", r"\(empty\) Filter by name or host \(press /\)")
        w.typed(guest, re.escape(guest))
        off = rf"{re.escape(guest)}\s+shut off\s+.*"
        w.key("enter", off)
        w.note("Start it")
        w.key("s", rf"{re.escape(guest)}\s+running\s+.*", timeout=60)
        w.note("Its CPU use (stats start paused in this mode; P resumes them)")
        running = rf"{re.escape(guest)}\s+running\s+.*"
        w.key("P", rf"{running}\d+(\.\d+)?%.*", timeout=60)
        w.key("i", r"CPU use: now \d.*%, min .*%, average .*%, max .*%")
        w.key("P", r"CPU use: now \d.*%, min .*%, average .*%, max .*%")
        w.idle("VM details (real host)")
        w.key("escape", rf"{re.escape(guest)}\s+running\s+.*")
        w.note("Its console")
        # The guest's shell prompt ends with "# "; the cursor sits after it.
        w.key("c", r".*#", timeout=90)
        w.typed("echo sr-$((6*7))", r".*# echo sr-\$\(\(6\*7\)\)")
        w.key("enter", r".*#", timeout=30)
        assert "sr-42" in term.text()
        w.idle("attached console")
        w.key("f2", r"Attached to the console of .*")
        w.key("x", r".*#")
        w.key("ctrl+]", r"Detached from the console of .*")
        w.key("escape", rf"{re.escape(guest)}\s+running\s+.*")
        w.key("F", r"Yes, force off")
        w.key("y", off, timeout=60)
    finally:
        target = os.environ.get("TVIRT_SR_TRANSCRIPT_REAL")
        if target:
            Path(target).write_text("\n".join(w.transcript) + "\n", encoding="utf-8")
        term.close()
        _remove_domain_if_running(testbed.qemu_uri, guest)


@pytest.mark.real
def test_gluster_view_its_wizards_and_the_cluster_overview_on_a_real_host(
    tmp_path: Path, testbed: Testbed, guest: str
) -> None:
    """The Gluster view (G), the wipe (w) and brick (b) wizards up to, not through, their
    typed confirmation, and the cluster overview (C), on the test bed's host with its
    glusterd. Nothing is wiped or created: every wizard is left with Escape. The session's
    guest is asked for so that the host has a VM row to start from, run alone too."""
    term = Terminal([tvirt_bin(), "-c", testbed.qemu_uri, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    w = Walk(term)
    # Other tests make volumes and VMs on the same host, so rows are matched by shape.
    vm_row = r"\S+\s+(running|shut off|paused|crashed)\s+.*"
    volume = r"[\w.-]+\s+(started|stopped|created)\s+\w+\s+\d.*"
    brick = r"\S+:/\S+\s+(online|offline)\s+[\w.-]+\s+.*"
    device = r"(marked\s+)?/dev/\S+\s+(safe|unsafe|unknown)\s+.*"
    try:
        term.wait_for(lambda: "connected," in term.text(), what="the host", timeout=60)
        w.read(vm_row)
        term.wait_quiet(2.0)  # the first start draws the footer late (as on the dashboard)
        w.note("Gluster view")
        w.key("G", volume, timeout=60)
        w.idle("Gluster view", settle=2.0)  # its three tables fill one after another
        w.keys([
            ("f2", r"Columns: Volume, State, Type, Replica, Pools, Options of note\."),
            ("x", volume),
            ("tab", brick),
            ("down", brick),
            ("tab", r"\S+\s+connected, local\s+[0-9a-f-]+"),
        ])
        w.note("Disk wipe wizard (left before its typed confirmation)")
        w.key("w", device, timeout=60)
        w.idle("wipe wizard, devices")
        # Only a safe device goes on; the test bed's spare loop devices are safe.
        safe = r"/dev/\S+\s+safe\s+.*"
        while not re.fullmatch(safe, w.line()):
            w.key("down", device)
        path = w.line().split()[0]
        w.keys([
            ("enter", r"signatures only: wipefs --all \(fast; lists what it removes\)"),
            ("down", r"zero fill: write zeros over the whole device, then read samples back"),
            ("up", r"signatures only: .*"),
            ("enter", rf"\(empty\) type {re.escape(path)} to wipe it"),
        ])
        w.idle("wipe wizard, confirmation")
        w.keys([
            ("escape", r"signatures only: .*"),
            ("escape", safe),
            ("escape", r"\S+\s+connected, local\s+[0-9a-f-]+"),
        ])
        w.note("Bricks and volume wizard (left before its typed confirmation)")
        w.key("b", device, timeout=60)
        marked = 0
        while marked < 3:
            if re.fullmatch(safe, w.line()):
                w.key("space", r"marked\s+/dev/\S+\s+safe\s+.*")
                marked += 1
            w.key("down", device)
        w.keys([
            ("enter", r"Layout: \S+ \(Enter changes\)"),
            ("down", r"Third brick is an arbiter: no"),
            ("down", r"libvirt pool on the volume: none"),
            ("down", r"Continue to the plan \(the name is typed below\)"),
            ("tab", r"Volume name\s+vmstore"),
            ("shift+tab", r"Continue to the plan \(the name is typed below\)"),
            ("enter", r"Confirm\s+\(empty\) type vmstore to create it"),
        ])
        w.idle("brick wizard, plan")
        w.keys([
            ("escape", r"Continue to the plan \(the name is typed below\)"),
            ("escape", r"(marked\s+)?/dev/\S+\s+.*"),
            ("escape", volume + "|" + brick + r"|\S+\s+connected, local\s+[0-9a-f-]+"),
            ("escape", vm_row),
        ])
        w.note("Cluster overview")
        w.key("C", r"\S+ qemu/system\s+(up|lost)\s+.*", timeout=60)
        w.idle("cluster overview", settle=2.0)  # its two tables fill, then its footer
        w.keys([
            ("tab", volume.replace(r"\s+\w+\s+\d.*", r"\s+\d+ of \d+.*")),
            ("f2", r"Columns: Volume, State, Bricks up, Replica, Quorum, Heal pending\."),
            ("x", r"[\w.-]+\s+(started|stopped|created)\s+\d+ of \d+.*"),
            ("escape", vm_row),
        ])
    finally:
        target = os.environ.get("TVIRT_SR_TRANSCRIPT_GLUSTER")
        if target:
            Path(target).write_text("\n".join(w.transcript) + "\n", encoding="utf-8")
        term.close()


@pytest.mark.real
def test_the_vm_under_the_cursor_changing_by_itself_keeps_its_line_until_asked(
    tmp_path: Path, testbed: Testbed, guest: str
) -> None:
    """The tiny guest is started and forced off through a second libvirt connection of
    the test, as another client would: the line under the cursor is not drawn on, r
    shows the change, the event log has it, and coming back from the log shows it."""
    import libvirt

    term = Terminal([tvirt_bin(), "-c", testbed.qemu_uri, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    w = Walk(term)
    other = libvirt.open(testbed.qemu_uri)
    name = re.escape(guest)
    off, running = rf"{name}\s+shut off\s+.*", rf"{name}\s+running\s+.*"

    def counted() -> bool:
        """The status line counts as many running VMs as the host has now (other tests'
        VMs come and go too): the app has handled the events up to then."""
        found = re.search(r"VMs?, (\d+) running", term.text())
        return found is not None and int(found.group(1)) == other.numOfDomains()

    def changed_by_itself(change: Callable[[], object], held: str) -> None:
        y = term.cursor()[1]
        term.forget_drawn()
        change()
        term.wait_for(counted, timeout=60, what="the status line counting the guest")
        term.wait_quiet(1.0)
        assert re.fullmatch(held, w.line()) and term.cursor()[1] == y, w.line()
        assert y not in term.lines_drawn(), sorted(term.lines_drawn())

    try:
        term.wait_for(lambda: "connected," in term.text(), what="the host", timeout=60)
        w.key("/", r"\(empty\) Filter by name or host \(press /\)")
        w.typed(guest, name)
        w.key("enter", off)
        term.wait_quiet(2.0)
        changed_by_itself(lambda: other.lookupByName(guest).create(), off)
        w.key("r", running)
        changed_by_itself(lambda: other.lookupByName(guest).destroy(), running)
        term.press("L")
        term.wait_for(lambda: re.search(rf"{name} on .*: running -> shut off", term.text()),
                      what="the change in the event log", timeout=30)
        w.key("escape", off)
    finally:
        other.close()
        term.close()
        _remove_domain_if_running(testbed.qemu_uri, guest)


def _remove_domain_if_running(uri: str, name: str) -> None:
    """Leave the shared guest shut off, as the session fixture expects."""
    import libvirt

    conn = libvirt.open(uri)
    try:
        dom = conn.lookupByName(name)
        if dom.isActive():
            dom.destroy()
    finally:
        conn.close()


def test_migration_dialog_and_graphical_display_on_two_test_hosts(tmp_path: Path) -> None:
    """Two test-driver hosts make the migrate key reachable; the test driver cannot
    migrate, so the walk stops at the confirmation. The graphical display tab says what it
    is and offers the serial console instead of a picture, and nothing animates."""
    term = Terminal([tvirt_bin(), "-c", LAB, "-c", ANNEX, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    w = Walk(term)
    try:
        app_row = r"annex-app\s+running\s+demo annex\.xml\s+1\s+1 GiB\s+n/a\s+off"
        # Whichever host lists first has the cursor, and rows sorted in above it never
        # move it (unasked changes keep the cursor line): Up reaches the first row.
        term.wait_for(lambda: "2 hosts, 2 connected" in term.text(), 60, "both hosts")
        term.wait_quiet(2.0)  # the first start draws the footer late (as on the dashboard)
        any_row = r"[\w-]+\s+(running|shut off|paused|crashed)\s+demo \w+\.xml\s+.*"
        for _ in range(10):
            if re.fullmatch(app_row, w.line()):
                break
            w.key("up", any_row)
        w.read(app_row)
        w.note("Migration dialog")
        w.keys([
            ("m", r"Destination host\s+\(\*\) demo lab\.xml"),
            ("tab", r"How\s+\(\*\) live: it keeps running while its memory is copied"),
            ("down", r"How\s+\(\*\) offline: it pauses while it moves"),
            ("up", r"How\s+\(\*\) live: it keeps running while its memory is copied"),
            ("tab", r"Disks\s+\(\*\) shared: they are on storage both hosts see"),
        ])
        w.idle("migration dialog")
        w.keys([
            ("enter", r"Yes, migrate"),
            ("tab", r"Cancel"),
            ("tab", r"Yes, migrate"),
        ])
        w.idle("migration confirmation")
        w.key("escape", app_row)
        w.note("Graphical display")
        spoken = (r"Graphical display of annex-app on demo annex\.xml: a picture, not shown\. "
                  r"Press c for the serial console\.")
        w.key("g", spoken)
        w.idle("graphical display")
        w.key("f2", r"Display of annex-app on demo annex\.xml: Not polled in screen-reader "
                    r"mode\. Keys: .*")
        w.key("x", spoken)
        w.key("c", r"Cannot open the console of annex-app: .*")
        w.key("escape", spoken)
        w.key("escape", app_row)
    finally:
        term.close()
