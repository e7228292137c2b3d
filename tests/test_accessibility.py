"""Screen-reader mode, NO_COLOR and labels, on the real app in a pseudo-terminal.

The pty tests run the installed `tvirt` (the console script next to the interpreter
running pytest) and read the screen with pyte, the way a terminal would:
where the cursor is, what the line under it says, and how many bytes arrive at idle.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pty_term import Terminal
from test_tui_dashboard import LAB, SIZE, running, select, state_becomes, table, until
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, OptionList

from conftest import Testbed, tvirt_bin
from tvirt import config
from tvirt.screens.app import TvirtApp, screen_reader_source
from tvirt.screens.dialogs import AddConnectionDialog, ConfirmDialog
from tvirt.screens.event_log import EventLogScreen
from tvirt.screens.help import HelpScreen

FIXTURE = Path(__file__).parent / "fixtures" / "lab.xml"
# (name, state) in the table's default order: by name.
LAB_ROWS = [
    ("build01", "shut off"),
    ("cache01", "paused"),
    ("db01", "shut off"),
    ("mail01", "crashed"),
    ("web01", "running"),
    ("web02", "running"),
]
FIRST_LINE = b"Screen-reader mode is on (from --screen-reader).\r\n"


def start(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Terminal:
    term = Terminal(
        [tvirt_bin(), "-c", f"test://{FIXTURE}", *args],
        env={"TVIRT_CONFIG": str(tmp_path / "config.toml"), **(env or {})},
    )
    try:
        term.wait_for(lambda: "web02" in term.text(), what="the VM list")
    except BaseException:
        term.close()  # never leave the app running in a pty nobody reads
        raise
    return term


@pytest.fixture
def reader(tmp_path: Path):
    term = start(tmp_path, "--screen-reader")
    try:
        yield term
    finally:
        term.close()


def test_first_line_says_screen_reader_mode_is_on_and_why(reader: Terminal) -> None:
    assert bytes(reader.raw).startswith(FIRST_LINE)


def test_terminal_cursor_follows_the_highlighted_vm(reader: Terminal) -> None:
    reader.wait_quiet(1.0)
    assert not reader.cursor_hidden()

    def cursor_on(name: str, state: str) -> None:
        # The cursor sits at the start of the VM's name; its line holds the state word.
        reader.wait_for(lambda: reader.text_from_cursor().startswith(name + " "),
                        what=f"the cursor on {name}")
        assert f" {state} " in reader.line_at_cursor()

    for index, (name, state) in enumerate(LAB_ROWS):
        if index:
            reader.press("down")
        cursor_on(name, state)
    for name, state in reversed(LAB_ROWS[:-1]):
        reader.press("up")
        cursor_on(name, state)


def test_cursor_follows_focus_to_the_host_list_and_the_filter(reader: Terminal) -> None:
    reader.wait_quiet(1.0)
    reader.press("/")
    # The filter input: the cursor is at its insertion point, on the filter's line.
    reader.wait_for(lambda: "Filter by name or host" in reader.line_at_cursor(), what="filter")
    reader.press("escape")
    reader.wait_for(lambda: reader.text_from_cursor().startswith("build01 "), what="table")
    for _ in range(3):
        reader.press("tab")
        reader.wait_quiet(0.5)
        if reader.text_from_cursor().startswith("demo lab.xml"):
            break
    assert reader.text_from_cursor().startswith("demo lab.xml"), reader.text()


def test_cursor_follows_dialogs_and_the_event_log(reader: Terminal) -> None:
    reader.wait_quiet(1.0)
    reader.press("down", "down", "down", "down")
    reader.wait_for(lambda: reader.text_from_cursor().startswith("web01 "), what="web01")
    reader.press("F")
    reader.wait_for(lambda: reader.text_from_cursor().startswith("Yes, force off"),
                    what="the dialog's focused button")
    reader.press("tab")
    reader.wait_for(lambda: reader.text_from_cursor().startswith("Cancel"), what="Cancel")
    reader.press("y")
    # The dialog closes and the cursor is back on the VM, now shut off.
    reader.wait_for(lambda: reader.text_from_cursor().startswith("web01 ")
                    and " shut off " in reader.line_at_cursor(), what="back on web01")
    reader.press("L")
    reader.wait_for(lambda: reader.text_from_cursor().startswith("Forced off web01"),
                    what="the newest event")
    reader.press("up")
    reader.wait_for(lambda: reader.text_from_cursor().startswith(
        "web01 on demo lab.xml: running -> shut off"), what="the state change")
    reader.press("escape")
    reader.wait_for(lambda: reader.text_from_cursor().startswith("web01 "), what="the table")


async def test_rows_drawn_before_the_widths_settle_are_drawn_again() -> None:
    """DataTable measures a new row on its next idle; a line drawn before that must not be
    reused at the old widths, or a long name stays cut short: in screen-reader mode
    nothing else ever redraws it (seen on a busy first start as "buil" for "build01")."""
    long_name = "a-much-longer-name-than-the-rest"
    async with running(LAB) as (app, pilot):
        vms = table(app)
        first = next(iter(vms.vms.values()))
        vms.upsert(dataclasses.replace(first, uuid="00000000-0000-0000-0000-0000000000aa",
                                       name=long_name))
        whole = Region(0, 0, vms.size.width, vms.size.height)
        # Drawn now, before the idle: the name column still has its old width.
        assert not any(long_name in line.text for line in vms.render_lines(whole))
        await pilot.pause()
        name = next(c for c in vms.ordered_columns if c.label.plain == "Name")
        assert name.content_width >= len(long_name)
        assert any(long_name in line.text for line in vms.render_lines(whole))


def test_idle_writes_nothing_for_five_seconds(reader: Terminal) -> None:
    reader.press("down")
    reader.wait_quiet(1.0)
    begin = time.monotonic()
    time.sleep(5.0)
    assert reader.bytes_between(begin, time.monotonic() + 1) == b""


@pytest.mark.real
def test_idle_writes_nothing_against_the_real_host(tmp_path: Path, testbed: Testbed) -> None:
    """With libvirtd's keepalives, event loop and stats ticker all running underneath."""
    term = Terminal([tvirt_bin(), "-c", testbed.qemu_uri, "--screen-reader"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")})
    try:
        term.wait_for(lambda: "connected," in term.text(), what="the host", timeout=60)
        # Other tests may start and stop VMs on this shared host meanwhile, and each real
        # state change is rightly drawn; so one quiet 5 s window out of four is enough.
        # Anything periodic (a clock, a ticker, a blink) would spoil every window.
        written: list[int] = []
        for _attempt in range(4):
            term.wait_quiet(2.0, timeout=60)
            begin = time.monotonic()
            time.sleep(5.0)
            written.append(len(term.bytes_between(begin, time.monotonic() + 1)))
            if written[-1] == 0:
                break
        assert written[-1] == 0, f"bytes written in each 5 s window: {written}"
    finally:
        term.close()


def test_screen_reader_mode_from_the_environment(tmp_path: Path) -> None:
    term = start(tmp_path, env={"TVIRT_SCREEN_READER": "1"})
    try:
        assert bytes(term.raw).startswith(
            b"Screen-reader mode is on (from TVIRT_SCREEN_READER=1).\r\n"
        )
        assert not term.cursor_hidden()
    finally:
        term.close()


def test_screen_reader_source_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config.Config(screen_reader=True, path=tmp_path / "config.toml")
    monkeypatch.delenv("TVIRT_SCREEN_READER", raising=False)
    assert screen_reader_source(True, cfg) == "--screen-reader"
    assert screen_reader_source(False, cfg) == f"the config file {cfg.path}"
    assert screen_reader_source(False, config.Config()) == ""
    monkeypatch.setenv("TVIRT_SCREEN_READER", "1")
    assert screen_reader_source(False, config.Config()) == "TVIRT_SCREEN_READER=1"
    monkeypatch.setenv("TVIRT_SCREEN_READER", "0")
    assert screen_reader_source(False, cfg) == ""


# SGR parameters that set a colour: 30-38, 40-48, 90-97, 100-107 (39/49 reset to default).
def colour_codes(raw: bytes) -> set[int]:
    found: set[int] = set()
    for params in re.findall(rb"\x1b\[([0-9;:]*)m", raw):
        for part in params.replace(b":", b";").split(b";"):
            if part.isdigit():
                code = int(part)
                if 30 <= code <= 38 or 40 <= code <= 48 or 90 <= code <= 97 or 100 <= code <= 107:
                    found.add(code)
                if code in (38, 48):
                    break  # the rest are the colour's own numbers
    return found


def test_colour_codes_parser() -> None:
    assert colour_codes(b"\x1b[0;1m\x1b[39;49m\x1b[7m") == set()
    assert colour_codes(b"\x1b[38;5;236m") == {38}
    assert colour_codes(b"\x1b[1;31m") == {31}


def test_no_color_output_has_no_colour_codes(tmp_path: Path) -> None:
    term = start(tmp_path, env={"NO_COLOR": "1"})
    try:
        term.wait_quiet(1.0)
        term.press("down", "down", "tab")
        term.wait_quiet(1.0)

        def sgr_params() -> set[bytes]:
            return {part for match in re.findall(rb"\x1b\[([0-9;]*)m", bytes(term.raw))
                    for part in match.split(b";")}

        # The highlight is still visible: reverse video.
        term.wait_for(lambda: b"7" in sgr_params(), what="reverse video")
        assert colour_codes(bytes(term.raw)) == set()
    finally:
        term.close()


# -- state changes in the event log, and labels -------------------------------------
async def test_state_changes_reach_the_event_log() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "build01")
        await pilot.press("s")
        await state_becomes(pilot, app, "build01", "running")
        await until(pilot, lambda: "build01 on demo lab.xml: shut off -> running"
                    in app.messages, "the state change sentence")
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, EventLogScreen), "the event log")
        entries = app.screen.query_one("#event-list")
        prompts = [str(entries.get_option_at_index(i).prompt)  # type: ignore[attr-defined]
                   for i in range(entries.option_count)]  # type: ignore[attr-defined]
        assert "build01 on demo lab.xml: shut off -> running" in prompts
        # The newest entry is highlighted, so a screen reader starts there.
        assert entries.highlighted == entries.option_count - 1  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, EventLogScreen), "closed")


def label_of(widget: Widget) -> str:
    for text in (
        widget.tooltip,
        widget.border_title,
        getattr(widget, "placeholder", None),
        getattr(widget, "label", None),
    ):
        if text is not None and str(text).strip():
            return str(text)
    return ""


def unlabelled(app: TvirtApp) -> list[str]:
    return [
        repr(w) for w in app.screen.query("*")
        if w.focusable and not label_of(w)
    ]


async def test_every_focusable_widget_has_a_text_label() -> None:
    async with running(LAB) as (app, pilot):
        # Each screen with the widgets that take focus on it, in order: the label check
        # below must cover every one of them, the controls of a dialog above all.
        screens: list[tuple[Callable[[], Screen[Any]], list[tuple[type[Widget], str | None]]]] = [
            (lambda: HelpScreen(), [(VerticalScroll, "help-keys")]),
            (lambda: EventLogScreen(["one sentence"]), [(OptionList, "event-list")]),
            (lambda: ConfirmDialog("Delete web01?", ["web01"], "Gone.", "Yes, delete",
                                   offer_storage=True),
             [(VerticalScroll, None), (Checkbox, "remove-storage"), (Button, "confirm"),
              (Button, "cancel")]),
            (lambda: AddConnectionDialog(lambda _uri: False),
             [(Input, "uri"), (Button, "connect"), (Button, "cancel")]),
        ]
        assert unlabelled(app) == []
        focusables = [w for w in app.screen.query("*") if w.focusable]
        assert len(focusables) >= 3
        for make, expected in screens:
            screen = make()
            await app.push_screen(screen)
            await pilot.pause()
            assert unlabelled(app) == [], type(screen).__name__
            found = [w for w in app.screen.query("*") if w.focusable]
            assert [(type(w), w.id) for w in found] == expected, type(screen).__name__
            app.pop_screen()
            await pilot.pause()


async def test_screen_reader_mode_has_no_toasts_or_blinking() -> None:
    app = TvirtApp([LAB], screen_reader=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.dashboard.table.row_count == 6, "rows")
        assert app.animation_level == "none"
        app.say("Something happened.")
        await pilot.pause()
        assert not app._notifications
        await pilot.press("slash")
        await pilot.pause()
        assert app.focused is not None and app.focused.cursor_blink is False  # type: ignore[attr-defined]
