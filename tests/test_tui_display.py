"""The graphical display tab in the app, on libvirt's test driver (its screenshots are a
fixed picture and it takes sendKey): tabs for several VMs, polling only the tab shown,
key capture and Escape, the special-keys menu, typed text, read-only and screen-reader
mode; and snapshots of the tab with a recorded frame of the real guest's VGA console for
the renderers that draw deterministically (half blocks, unicode)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from tui_helpers import host_loaded, until
from tvirt.screens.app import TvirtApp
from tvirt.screens.display import (
    DisplayPane,
    DisplayScreen,
    SpecialKeysDialog,
    TypeTextDialog,
)
from tvirt.screenshot import frame_of

FIXTURES = Path(__file__).parent / "fixtures"
LAB = f"test://{FIXTURES / 'lab.xml'}"
SIZE = (120, 36)


def select(app: TvirtApp, name: str) -> None:
    table = app.dashboard.table
    key = next(vm.key for vm in table.vms.values() if vm.name == name)
    table.move_cursor(row=table.get_row_index(key))


async def open_display(pilot: Pilot[int], name: str) -> DisplayPane:
    app = pilot.app
    assert isinstance(app, TvirtApp)
    select(app, name)
    await pilot.press("g")
    await until(pilot, lambda: isinstance(app.screen, DisplayScreen), "the display screen")
    # The tab is added once the screen's tab list is composed (later on a loaded machine).
    await until(pilot, lambda: cast(DisplayScreen, app.screen).active_pane() is not None,
                "the display tab")
    screen = app.screen
    assert isinstance(screen, DisplayScreen)
    pane = screen.active_pane()
    assert pane is not None and pane.vm.name == name
    return pane


def words(pane: DisplayPane, part: str) -> str:
    return str(pane.query_one(f"#{pane.id}-{part}", Static).render())


async def test_tabs_poll_only_the_one_shown_and_escape_leaves() -> None:
    app = TvirtApp(uris=[LAB], stats=False)
    app.display_renderer = "halfblocks"
    async with app.run_test(size=SIZE) as pilot:
        await host_loaded(pilot, LAB, 6)
        web01 = await open_display(pilot, "web01")
        await until(pilot, lambda: web01.picture is not None, "web01's picture")
        assert "Display of web01 on" in words(web01, "status")
        await pilot.press("escape")  # back to the dashboard: web01 stops
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard")
        web02 = await open_display(pilot, "web02")
        await until(pilot, lambda: web02.picture is not None, "web02's picture")
        screen = app.screen
        assert isinstance(screen, DisplayScreen) and len(screen.panes) == 2
        # web01's tab is hidden: while web02 takes frames, web01 takes none.
        hidden = web01.pacer.frames
        shown = web02.pacer.frames
        await until(pilot, lambda: web02.pacer.frames >= shown + 3, "three more frames")
        assert web01.pacer.frames == hidden
        # Ctrl+PgUp shows web01 again, and it polls again.
        await pilot.press("ctrl+pageup")
        assert screen.active_pane() is web01
        await until(pilot, lambda: web01.pacer.frames > hidden, "web01 polled again")
        # The same picture again and again is drawn once.
        assert web01.pacer.drawn == 1 and web01.pacer.frames > 1
        # x closes a tab; Escape leaves.
        await pilot.press("x")
        await until(pilot, lambda: len(screen.panes) == 1, "one tab left")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard")


async def test_keys_go_to_the_guest_only_while_captured() -> None:
    app = TvirtApp(uris=[LAB], stats=False)
    app.display_renderer = "halfblocks"
    async with app.run_test(size=SIZE) as pilot:
        await host_loaded(pilot, LAB, 6)
        pane = await open_display(pilot, "web01")
        assert "i send keys to the guest" in words(pane, "keys")
        await pilot.press("i")
        assert "Keys go to web01, Escape included. Ctrl+] gives them back." in words(pane, "keys")
        # x, q and Escape would close, quit or leave: captured, they go to the guest.
        await pilot.press("x", "q", "escape", "A", "f5", "ctrl+c")
        await until(pilot, lambda: pane.keys_sent == 6, "six keys sent")
        assert isinstance(app.screen, DisplayScreen)
        await pilot.press("ctrl+right_square_bracket")
        assert not pane.capturing and pane.keys_sent == 6
        # The special keys: Ctrl+Alt+Del from the menu.
        await pilot.press("k")
        await until(pilot, lambda: isinstance(app.screen, SpecialKeysDialog), "the menu")
        app.screen.query_one(OptionList).highlighted = 0
        await pilot.press("enter")
        await until(pilot, lambda: pane.keys_sent == 7, "Ctrl+Alt+Del sent")
        assert any("Sent Ctrl+Alt+Del to web01." in m for m in app.messages)
        # A typed text: one key per character, and Enter.
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TypeTextDialog), "the text dialog")
        app.screen.query_one(Input).value = "ls /"
        await pilot.press("enter")
        await until(pilot, lambda: pane.keys_sent == 7 + 5, "the text typed")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard")


async def test_read_only_refuses_and_screen_readers_get_words() -> None:
    app = TvirtApp(uris=[LAB], readonly=True, stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await host_loaded(pilot, LAB, 6)
        select(app, "web01")
        await pilot.press("g")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert any("The display of web01 cannot open read-only" in m for m in app.messages)
    reader = TvirtApp(uris=[LAB], screen_reader=True, stats=False)
    async with reader.run_test(size=SIZE) as pilot:
        await host_loaded(pilot, LAB, 6)
        pane = await open_display(pilot, "web01")
        spoken = words(pane, "words")
        assert "Graphical display of web01" in spoken and "Press c for the serial" in spoken
        assert "Not polled in screen-reader mode." in words(pane, "status")
        await pilot.pause()
        assert pane.image is None and pane.pacer.frames == 0  # nothing polled, nothing drawn


async def test_frames_are_scaled_before_drawing_and_only_the_newest_waits() -> None:
    from PIL import Image

    app = app_for("halfblocks")
    async with app.run_test(size=SIZE) as pilot:
        await host_loaded(pilot, LAB, 6)
        pane = await open_display(pilot, "web01")
        data = (FIXTURES / "display-vga.png").read_bytes()
        await pane.take(frame_of("image/png", data), 100.0)
        await until(pilot, lambda: pane.painted == 1, "the first picture drawn")
        assert pane.picture is not None and pane.picture.size == (720, 400)  # as sent
        image = pane.image
        assert image is not None
        shown = image.image  # type: ignore[attr-defined]
        # The renderer gets the picture at the pixels the tab shows: two a cell, upright.
        columns, rows = image.size
        assert isinstance(shown, Image.Image) and shown.size == (columns, rows * 2)
        assert shown.size == pane._box().pixels(720, 400)
        # Three pictures before the screen draws: the first is drawn, the second is
        # dropped, the third (the newest) waits for the first and is drawn next.
        first, second, third = (Image.new("RGB", (720, 400), (n, n, n)) for n in (1, 2, 3))
        pane.draw(first)
        pane.draw(second)
        pane.draw(third)
        assert pane.picture is first
        await until(pilot, lambda: pane.painted == 3, "the newest picture drawn")
        assert pane.picture is third
        await pilot.pause()
        assert pane.painted == 3  # the second never was


def recorded_display(renderer: str) -> Callable[[Pilot[int]], object]:
    async def show(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, TvirtApp)
        await host_loaded(pilot, LAB, 6)
        pane = await open_display(pilot, "web01")
        data = (FIXTURES / "display-vga.png").read_bytes()
        # Two frames a tenth of a second apart, by a clock the test gives.
        await pane.take(frame_of("image/png", data), 100.0)
        await pane.take(frame_of("image/png", data), 100.1)
        await pilot.pause()

    return show


def app_for(renderer: str) -> TvirtApp:
    app = TvirtApp(uris=[LAB], stats=False)
    app.display_renderer = renderer
    app.display_poll = False  # only the recorded frame (see DisplayPane's poll)
    return app


@pytest.mark.parametrize("renderer", ["halfblocks", "unicode"])
def test_display_snapshot(renderer: str, snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(app_for(renderer), terminal_size=SIZE,
                        run_before=recorded_display(renderer))


async def test_tab_never_leaves_the_picture_for_the_tab_bar() -> None:
    """On the tab bar the tab's own keys (x, c, i...) did nothing; it takes no focus now."""
    app = TvirtApp(uris=[LAB], stats=False)
    app.display_renderer = "halfblocks"
    async with app.run_test(size=SIZE) as pilot:
        await host_loaded(pilot, LAB, 6)
        pane = await open_display(pilot, "web01")
        screen = app.screen
        assert isinstance(screen, DisplayScreen)
        for _ in range(3):
            await pilot.press("tab")
            await until(pilot, lambda: app.focused is pane.area, "the picture focused")
        await pilot.press("x")
        await until(pilot, lambda: not screen.panes, "the tab closed")
