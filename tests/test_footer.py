"""The footer (screens/footer.py): rebuilt only when the keys it shows change.

Escape from the consoles used to rebuild the dashboard's whole footer, most of the time
the dashboard took to come back; the keys must still follow every real change.
"""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from tui_helpers import until
from tvirt.screens.app import TvirtApp
from tvirt.screens.console import ConsolePane, ConsoleScreen
from tvirt.screens.dashboard import DashboardScreen
from tvirt.screens.footer import SteadyFooter

SIZE = (120, 40)


def keys(app: TvirtApp) -> list[FooterKey]:
    return list(app.screen.query_one(SteadyFooter).query(FooterKey))


def words(app: TvirtApp) -> set[str]:
    return {key.description for key in keys(app)}


async def test_dashboard_keeps_its_footer_when_the_consoles_close() -> None:
    app = TvirtApp(uris=["test:///default"], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "Console" in words(app), "the dashboard's footer")
        await until(pilot, lambda: app.dashboard.table.row_count == 1, "the demo VM")
        await pilot.pause(0.2)
        before = keys(app)
        await pilot.press("c")  # the test driver has no console: the tab says why
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the consoles")
        await until(pilot, lambda: "Reattach to the console" in words(app),
                    "the detached console's keys in the footer")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        await pilot.pause()
        after = keys(app)
        # The very same key widgets: nothing was rebuilt, and nothing needed to be.
        assert [k.description for k in after] == [k.description for k in before]
        assert [id(k) for k in after] == [id(k) for k in before]


async def test_footer_follows_the_keys_that_change() -> None:
    app = TvirtApp(uris=["test:///default"], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "Console" in words(app), "the dashboard's footer")
        # c acts on the row under the cursor: pressed before the demo VM is listed, it
        # has nothing to open (this raced on a loaded machine).
        await until(pilot, lambda: app.dashboard.table.row_count == 1, "the demo VM")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the consoles")
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        # The detached pane's keys join the footer once it has the focus...
        await until(pilot, lambda: "Reattach to the console" in words(app), "the pane's keys")
        pane = screen.query_one(ConsolePane)
        # ...and leave it when the focus leaves the pane (the tab bar's strip has none).
        screen.set_focus(None)
        await until(pilot, lambda: "Reattach to the console" not in words(app),
                    "the pane's keys gone")
        pane.terminal.focus()
        await until(pilot, lambda: "Reattach to the console" in words(app), "them back")
        # The palette's key keeps its own compact look; the others take the footer's.
        footer = app.screen.query_one(SteadyFooter)
        for key in keys(app):
            expected = True if key.has_class("-command-palette") else footer.compact
            assert key.compact == expected


async def test_read_only_footer_shows_no_change_keys() -> None:
    app = TvirtApp(uris=["test:///default"], readonly=True, stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "Mark" in words(app), "the dashboard's footer")
        await pilot.pause()
        assert {"Start", "Shut down", "Force off", "Delete", "Console"}.isdisjoint(words(app))
