"""Screen-reader mode: the Hosts panel's filter with three hosts, by keyboard only (issue
19), in the installed `tvirt --screen-reader` in a pty read by pyte, with the `Walk` of
tests/test_screen_reader_walk.py: after every key the line under the terminal cursor is
the whole of the focused item (the filter's text as typed, or the highlighted host's
first line), no frame character on it, and each screen writes nothing for 5 s of idle.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pty_term import Terminal
from test_screen_reader_walk import Walk
from test_tui_dashboard import ANNEX, LAB

from conftest import tvirt_bin

HOST = r"demo (default|lab\.xml|annex\.xml) \(demo connection\)"
ANNEX_HOST = r"demo annex\.xml \(demo connection\)"
ROW = r"[\w-]+\s+(running|shut off|paused|crashed)\s+demo [\w.]+\s+.*"


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    term = Terminal([tvirt_bin(), "-c", "test:///default", "-c", LAB, "-c", ANNEX,
                     "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")},
                    columns=120, lines=36)
    w = Walk(term)
    try:
        yield w
    finally:
        target = os.environ.get("TVIRT_SR_TRANSCRIPT_HOSTS")
        if target:
            Path(target).write_text("\n".join(w.transcript) + "\n", encoding="utf-8")
        term.close()


def shown(w: Walk) -> set[str]:
    """The hosts whose entries are on screen."""
    return set(re.findall(r"demo (default|lab\.xml|annex\.xml) \(demo connection\)",
                          w.term.text()))


def test_hosts_filter_by_keyboard_with_the_typed_text_alone_on_the_cursor_line(
    walk: Walk,
) -> None:
    w, term = walk, walk.term
    term.wait_for(lambda: "3 hosts, 3 connected" in term.text(), 60, "the three hosts")
    term.wait_quiet(2.0)
    w.note("From the VM table back to the Hosts panel")
    w.keys([
        ("shift+tab", r"\(empty\) Filter by name or host \(press /\)"),
        ("shift+tab", HOST),
    ])
    w.idle("Hosts panel")
    w.note("Filter the hosts: the line is what is typed, nothing else")
    w.key("/", r"\(empty\) Filter hosts")
    w.idle("hosts filter, empty")
    w.keys([("a", "a"), ("n", "an"), ("n", "ann")])
    term.wait_for(lambda: shown(w) == {"annex.xml"}, 30, "the annex host alone")
    w.key("backspace", "an")
    w.key("n", "ann")
    w.idle("hosts filter, typed")
    w.key("f2", r"Hosts, 1 of 3 \(filter 'ann'\)\.")
    w.key("x", "ann")
    w.note("Enter: the filtered list; Escape clears the filter; Escape again leaves")
    w.key("enter", ANNEX_HOST)
    w.idle("Hosts panel, filtered")
    w.key("escape", ANNEX_HOST)
    w.key("f2", r"Hosts: all 3 shown\.")  # the panel is short: the others are scrolled
    w.key("x", ANNEX_HOST)
    w.key("/", r"\(empty\) Filter hosts")
    w.keys([("x", "x"), ("y", "xy")])
    term.wait_for(lambda: not shown(w), 30, "no host left")
    w.key("escape", ANNEX_HOST)
    w.key("escape", ROW)
    w.idle("dashboard after the hosts filter")
