"""Screen-reader mode on the screens tests/test_screen_reader_walk.py does not reach.

The same walk (its `Walk`: after every key the line under the terminal cursor is the
whole of the focused item, with no frame character, and the cursor on its text), by
keyboard only, in the installed `tvirt --screen-reader` in a pty read by pyte:

- the XML editor: open it, move through lines, edit a value, save, a refused save (read
  out at once as a sentence), Escape with its confirmation when edits are unsaved;
- an upload into a volume and a download of it on the test bed's host (the test driver
  cannot stream volumes): the progress is one line of words that changes at most every
  few seconds, the percentage in words, never a bar; the quit guard asked during the
  transfer, left with Escape while the transfer goes on.

Each screen is idle for the issue's full 5 s (0 bytes written), as in the first walk.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pyte
import pytest
from pty_term import Terminal
from test_screen_reader_walk import FRAME, ROW, Walk

from conftest import Testbed, dir_pool, tvirt_bin

EDGE = 1  # the XML editor's first column (its padding)
PID = os.getpid()


class FullWalk(Walk):
    """The walk's checks (and its 5 s idle windows), plus the editor's own cursor rule."""

    def edit(self, key: str, pattern: str) -> None:
        """A key in a text editor: the cursor line is the whole of the line being edited
        (no frame, no line number), and the cursor is its insertion point, which may be
        in the line's indentation (Down keeps the column), not before the editor's left
        edge (EDGE) or past the line's end."""
        self.term.press(key)
        wanted = re.compile(pattern)

        def matches() -> bool:
            line = self.term.line_at_cursor()
            x, _y = self.term.cursor()
            return (wanted.fullmatch(line.strip()) is not None
                    and EDGE <= x <= len(line.rstrip()) + 1)

        self.term.wait_for(matches, 30, what=f"the cursor on {pattern!r} "
                           f"(at {self.term.cursor()} on {self.term.line_at_cursor()!r})")
        line = self.line()
        assert not FRAME.search(line), line
        self.transcript.append(f"{key:>10}  {line}")


def start(tmp_path: Path, uri: str) -> FullWalk:
    term = Terminal([tvirt_bin(), "-c", uri, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    return FullWalk(term)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[FullWalk]:
    w = start(tmp_path, "test:///default")
    try:
        yield w
    finally:
        w.term.close()


def test_xml_editor_edit_save_refusal_and_escape(demo: FullWalk) -> None:
    w = demo
    w.read(ROW)
    w.key("e", r"vda\s+disk\s+/guest/diskimage1, bus virtio, format \?")
    w.note("XML editor: the cursor line is the line being edited")
    w.key("x", r"<domain type='test'>")
    w.idle("XML editor")
    for key, pattern in [
        ("down", r"<name>test</name>"),
        ("down", r"<uuid>[0-9a-f-]+</uuid>"),
        ("down", r"<memory unit='KiB'>8388608</memory>"),
        ("down", r"<currentMemory unit='KiB'>2097152</currentMemory>"),
        ("down", r"<vcpu placement='static'>2</vcpu>"),
        ("end", r"<vcpu placement='static'>2</vcpu>"),
    ]:
        w.edit(key, pattern)
    for _ in "</vcpu>":
        w.edit("left", r"<vcpu placement='static'>2</vcpu>")
    w.edit("backspace", r"<vcpu placement='static'></vcpu>")
    w.typed("1", r"<vcpu placement='static'>1</vcpu>")
    w.key("ctrl+s", r"<vcpu placement='static'>1</vcpu>")
    w.term.wait_for(lambda: "Saved the XML of test to the config" in w.term.text(), 30,
                    "the save's sentence on the status line")
    w.note("A refused save is read out at once; any key goes back to the line")
    w.key("end", r"<vcpu placement='static'>1</vcpu>")
    w.key("backspace", r"<vcpu placement='static'>1</vcpu")
    w.key("ctrl+s", r"Not saved: The XML is not well-formed: .+\.")
    assert "Traceback" not in w.term.text()
    w.idle("XML refusal")
    w.key("x", r"<vcpu placement='static'>1</vcpu")
    w.note("Escape with unsaved edits asks first")
    w.key("escape", r"Yes, discard")
    w.idle("discard confirmation")
    w.keys([
        ("tab", r"Cancel"),
        ("escape", r"<vcpu placement='static'>1</vcpu"),
        ("escape", r"Yes, discard"),
        ("y", r"vda\s+disk\s+/guest/diskimage1, bus virtio, format \?"),
        ("escape", ROW),
    ])


# -- upload and download on the test bed's host --------------------------------------
GIB = 1024**3
SIZE = 3 * GIB  # about 20 s each way here: several progress lines, and time for q
HEAD = 4 * 1024**2  # random bytes at the start; the rest of the file is a hole
PROGRESS = re.compile(r"big\.img: (uploaded|downloaded) .*\((\d+) percent\).*")


def progress_changes(
    term: Terminal, since: float, progress: re.Pattern[str] = PROGRESS
) -> list[tuple[float, str]]:
    """Each change of the progress line after `since`, at the pty's own time of the write
    that made it: the recorded writes replayed into a fresh pyte screen one by one. On
    every screen drawn after `since` the progress is one line at most and nothing on the
    screen is a bar or a frame."""
    screen = pyte.Screen(term.columns, term.lines)
    stream = pyte.ByteStream(screen)
    with term._lock:  # the reader thread appends to it
        chunks = list(term.chunks)
    changes: list[tuple[float, str]] = []
    for when, data in chunks:
        stream.feed(data)
        if when < since:
            continue
        found = [line.strip() for line in screen.display if progress.search(line)]
        assert len(found) <= 1, found
        bars = [line for line in screen.display if FRAME.search(line)]
        assert not bars, bars
        if found and (not changes or changes[-1][1] != found[0]):
            changes.append((when, found[0]))
    return changes


def assert_throttled(changes: list[tuple[float, str]], verb: str) -> None:
    """At least two progress lines, the percentage in words, and (by the pty's clock) a
    few seconds between changes: the app's throttle changes the line at most every
    SPOKEN_EVERY seconds of the transfer's own clock; half of that leaves room for a
    late repaint, and without the throttle the line changes many times a second."""
    from tvirt.screens.progress import SPOKEN_EVERY

    lines = [line for _when, line in changes if f"big.img: {verb} " in line]
    assert len(lines) >= 2, changes
    assert all("%" not in line and " percent)" in line for line in lines), lines
    times = [when for when, line in changes if f"big.img: {verb} " in line]
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert min(gaps) >= SPOKEN_EVERY / 2, list(zip(gaps, lines[1:], strict=False))


@pytest.fixture
def pool(testbed: Testbed, tmp_path: Path) -> Iterator[str]:
    import libvirt

    from tvirt import storage

    name = f"tvirt-sr-{PID}"
    conn = libvirt.open(testbed.qemu_uri)
    try:
        with dir_pool(conn, name, tmp_path / "pool"):
            storage.volume_create(conn, name, storage.VolumeSpec("big.img", SIZE, "raw"))
            yield name
    finally:
        conn.close()


@pytest.mark.real
def test_upload_download_progress_and_the_quit_guard(
    tmp_path: Path, testbed: Testbed, pool: str
) -> None:
    source = tmp_path / "source.img"
    with source.open("wb") as f:
        f.write(os.urandom(HEAD))
        f.truncate(SIZE)
    copy = tmp_path / "copy.img"
    w = start(tmp_path, testbed.qemu_uri)
    term = w.term
    try:
        term.wait_for(lambda: "connected," in term.text(), 60, "the host")
        w.note("Storage on the test bed's host: find the pool")
        row = r"[\w.-]+\s+\w+\s+(running|inactive|building|degraded|inaccessible)\s+.*"
        w.key("S", row)
        for _ in range(30):
            if w.line().startswith(f"{pool} "):
                break
            w.key("down", row)
        w.read(rf"{pool}\s+dir\s+running\s+.*")
        volume = r"big\.img\s+raw\s+3 GiB\s+.*"
        w.key("tab", volume)
        w.idle("storage on a real host", settle=2.0)  # the footer follows the focus late

        w.note("Upload a local file into the volume")
        w.key("U", r"Answer:\s+\(empty\) \S+image")  # the placeholder: a made-up path
        w.typed(str(source), rf"Answer:\s+{re.escape(str(source))}")
        began = time.monotonic()
        w.key("enter", volume)
        term.wait_for(lambda: "big.img: uploaded " in term.text(), 60, "the upload's line")

        w.note("Quit while the upload runs: the guard asks; Escape stays")
        w.key("q", r"Quit")
        assert "an upload or download" in term.text()
        w.key("tab", r"Cancel")
        w.idle("quit guard")
        w.key("shift+tab", r"Quit")
        w.key("escape", volume)
        left = time.monotonic()
        # Escape left the upload going: its line changes again, or (on a fast machine,
        # the last change before the guard closed) its end is read out.
        term.wait_for(lambda: "Uploaded 3 GiB" in term.text()
                      or any(when > left for when, _ in progress_changes(term, began)),
                      60, "the upload going on after the guard")
        term.wait_for(lambda: "big.img: uploaded " not in term.text(), 120, "the upload's end")
        # The end is read out at once, on a page of its own; any key goes back.
        term.wait_for(lambda: "Uploaded 3 GiB" in term.text(), 30, "the end read out")
        w.read(rf"Uploaded 3 GiB from {re.escape(str(source))}.*")
        w.key("x", volume)
        # A sentence wider than the screen goes on over the next line.
        w.key("f3", rf"Newest event: Uploaded 3 GiB from {re.escape(str(source))}.*")
        assert "into big.img." in " ".join(term.text().split())
        w.key("x", volume)
        assert_throttled(progress_changes(term, began), "uploaded")

        w.note("Download the volume into a file")
        w.key("d", r"Answer:\s+\(empty\) \./big\.img")
        w.typed(str(copy), rf"Answer:\s+{re.escape(str(copy))}")
        began = time.monotonic()
        w.key("enter", volume)
        term.wait_for(lambda: "big.img: downloaded " in term.text(), 60, "the download's line")
        term.wait_for(lambda: "big.img: downloaded " not in term.text(), 120,
                      "the download's end")
        term.wait_for(lambda: "Downloaded 3 GiB" in term.text(), 30, "the end read out")
        w.read(r"Downloaded 3 GiB of big\.img into.*")
        w.key("x", volume)
        w.key("f3", r"Newest event: Downloaded 3 GiB of big\.img into.*")
        assert f"into {copy}." in " ".join(term.text().split())
        w.key("x", volume)
        assert_throttled(progress_changes(term, began), "downloaded")
        w.idle("storage after the transfers", settle=2.0)
        with source.open("rb") as a, copy.open("rb") as b:
            assert a.read(HEAD) == b.read(HEAD)
        assert copy.stat().st_size == SIZE
        term.press("escape")  # the dashboard's rows are other tests' VMs: not checked
        term.wait_for(lambda: "Storage on" not in term.text(), 30, "the dashboard")
    finally:
        term.close()
