"""The XML editor of the hardware screen (x), on the private lab host of the test driver:
escape leaves it (asking first about unsaved edits), saving keeps the cursor and scroll.
"""

from __future__ import annotations

import re

from test_tui_teardown import burst
from test_tui_vm_screens import SIZE, hardware, lab_app, loaded
from textual.pilot import Pilot
from textual.widgets import Static, TextArea

from tui_helpers import until
from tvirt.keys import XML_KEYS, all_keys
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.vm_hardware import VMHardwareScreen, XMLScreen


def xml_status(screen: XMLScreen) -> str:
    return str(screen.query_one("#xml-status", Static).render())


async def open_xml(pilot: Pilot[int]) -> tuple[TvirtApp, XMLScreen, TextArea]:
    app = pilot.app
    assert isinstance(app, TvirtApp)
    await hardware(pilot)
    await pilot.press("x")
    await until(pilot, lambda: isinstance(app.screen, XMLScreen), "the XML screen")
    screen = app.screen
    assert isinstance(screen, XMLScreen)
    editor = screen.query_one("#xml-editor", TextArea)
    await until(pilot, lambda: screen.saved is not None, "the XML")
    assert editor.has_focus
    return app, screen, editor


async def test_escape_leaves_the_xml_editor() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, _screen, _editor = await open_xml(pilot)
        await pilot.press("down", "down", "escape")
        await until(pilot, lambda: isinstance(app.screen, VMHardwareScreen), "the hardware")


async def test_escape_asks_before_discarding_edits() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        app, screen, editor = await open_xml(pilot)
        await pilot.press("down", "end", "space", "x")
        edited = editor.text
        assert screen.unsaved
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question")
        question = app.screen.query_one(".dialog-title", Static).render()
        assert "Discard your edits to the XML of db01?" in str(question)
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen, "back in the editor")
        assert editor.text == edited and "Kept the edits" in xml_status(screen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the question again")
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, VMHardwareScreen), "the hardware")
        assert any("Discarded the XML edits of db01" in m for m in app.messages)


async def test_saving_keeps_the_cursor_and_scroll_and_counts_as_saved() -> None:
    app = lab_app()
    async with app.run_test(size=(110, 24)) as pilot:
        app, screen, editor = await open_xml(pilot)
        lines = editor.text.count("\n")
        await pilot.press(*["down"] * (lines - 3))
        editor.text = re.sub(r"<vcpu([^>]*)>2<", r"<vcpu\1>3<", editor.text)
        editor.cursor_location = (lines - 3, 2)
        editor.scroll_to(0, 4, animate=False, immediate=True)
        await pilot.pause()
        before = (editor.cursor_location, editor.scroll_offset)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Saved the XML of db01" in xml_status(screen), "the save")
        await pilot.pause()
        assert (editor.cursor_location, editor.scroll_offset) == before
        assert not screen.unsaved
        await pilot.press("escape")  # saved: no question
        await until(pilot, lambda: isinstance(app.screen, VMHardwareScreen), "the hardware")
        hw = app.screen
        assert isinstance(hw, VMHardwareScreen)
        await until(pilot, lambda: hw.overview is not None and hw.overview.next_vcpus == 3,
                    "the saved vCPUs")


async def test_xml_keys_come_from_the_key_table() -> None:
    assert set(XML_KEYS) <= set(all_keys())
    assert {(b.key, b.action) for b in XMLScreen.BINDINGS  # type: ignore[union-attr]
            } == {(k.key, k.action) for k in XML_KEYS}


async def test_escapes_typed_ahead_leave_the_editor_and_the_hardware_screen() -> None:
    # e x escape escape in one read: each key acts on the screen current when it is
    # handled, so both escapes count (the first used to be lost on the editor).
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        shown: list[str] = []
        app.screen_change_signal.subscribe(app, lambda s: shown.append(type(s).__name__))
        burst(app, "e", "x", "escape", "escape")
        await until(pilot, lambda: shown == ["VMHardwareScreen", "XMLScreen",
                                             "VMHardwareScreen", "DashboardScreen"],
                    "back on the dashboard")
