"""The message log shows every line, including those that came before it was on screen."""

from __future__ import annotations

from test_tui_dashboard import LAB, SIZE
from textual.widgets import Log

from tvirt.screens.app import TvirtApp


async def test_lines_from_before_the_dashboard_mounted_are_shown() -> None:
    # A fast host connects before the first screen has mounted; its "connecting ->
    # connected" line used to reach app.messages but never the log on screen.
    app = TvirtApp(uris=[LAB], stats=False)
    app.note("a line from before the dashboard mounted")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.note("a line from after")
        await pilot.pause()
        lines = list(app.dashboard.query_one(Log).lines)
        assert lines[0] == "a line from before the dashboard mounted"
        assert "a line from after" in lines
