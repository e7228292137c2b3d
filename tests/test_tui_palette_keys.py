"""The command palette survives its page keys whatever state its list is in.

Textual's OptionList looks up the highlighted option's line when asked to move a page;
while the list is hidden (the palette hides it when the query is empty) or has not been
laid out yet, there is no line yet and it raised KeyError (seen by tests/monkey.py, seed
12 in bursts of 3). tvirt's palette ignores the page keys until the list has a size.
"""

from __future__ import annotations

from test_accessibility import FIXTURE
from textual.command import CommandList
from textual.widgets.option_list import Option

from tui_helpers import until
from tvirt.screens.app import TvirtApp

LAB = f"test://{FIXTURE}"


async def test_page_keys_while_the_list_has_no_size_do_not_crash() -> None:
    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await until(pilot, lambda: bool(app.screen.query(CommandList)), "the palette")
        commands = app.screen.query_one(CommandList)
        palette = app.screen
        palette._list_visible = False  # as after a query with no matches, or cleared
        await until(pilot, lambda: commands.scrollable_content_region.height == 0, "hidden")
        commands.clear_options()
        # What a fast typist meets: options and a highlight arrive while the list is
        # still hidden (no size, so no lines yet), and a page key comes before layout.
        commands.add_options([Option(f"command {i}") for i in range(30)])
        commands.highlighted = 3
        assert commands.scrollable_content_region.height == 0
        await pilot.press("pagedown", "pageup", "pagedown")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        await pilot.press("escape")
