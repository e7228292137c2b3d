"""A console that floods, on the real TCG guest: the scrollback keeps every line in order,
and the keys that leave the console act while the guest is still printing.

Nothing here is timed: the order of events and the guest's own counter are the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from test_console_real import Guest, ask, lines, open_console, select_row, type_line
from test_tui_dashboard import SIZE, until
from textual import events

from conftest import Testbed
from tvirt.screens.app import TvirtApp
from tvirt.screens.console import ConsolePane
from tvirt.screens.dashboard import DashboardScreen

pytestmark = pytest.mark.real

COUNT = 3000  # under HISTORY_LINES, so the scrollback must hold every one
NUMBERED = re.compile(r"^flood (\d+)$")


@pytest.fixture(scope="module")
def running(testbed: Testbed, guest: str) -> Iterator[Guest]:
    g = Guest(testbed.qemu_uri, guest)
    g.ensure_running()
    yield g
    g.destroy()  # the session's guest is left shut off, as the fixture expects
    g.conn.close()


def numbers(pane: ConsolePane) -> list[int]:
    """The flood's counters in the scrollback and on screen, top to bottom."""
    found = (NUMBERED.match(line.strip()) for line in pane.terminal.transcript().splitlines())
    return [int(m.group(1)) for m in found if m]


async def test_flood_scrollback_keeps_every_line_in_order(
    testbed: Testbed, running: Guest
) -> None:
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        await ask(pilot, pane, "6*7", "42")
        # The end marker is computed, so the typed command's echo never matches it.
        await type_line(
            pilot,
            f"i=1; while [ $i -le {COUNT} ]; do echo flood $i; i=$((i+1)); done; "
            "echo done-$((6*7))",
        )
        await until(pilot, lambda: "done-42" in lines(pane), "the flood's end", 180)
        assert numbers(pane) == list(range(1, COUNT + 1))
        pane.detach()


async def test_keys_leave_a_flooding_console_while_it_floods(
    testbed: Testbed, running: Guest
) -> None:
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        await ask(pilot, pane, "6*6", "36")
        await type_line(pilot, "i=0; while true; do echo flood $i; i=$((i+1)); done")
        await until(pilot, lambda: len(numbers(pane)) > 200, "the flood under way", 60)
        # Ctrl+] and Escape typed back to back, as a terminal delivers them: Escape must
        # not reach the guest while the detach waits behind the output.
        for key in (pane.terminal.escape_key, "escape"):
            app.post_message(events.Key(key, None))
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen),
                    "the dashboard back", 60)
        assert pane.state == "detached"
        last = max(numbers(pane))
        # Back in: the guest's counter has gone on, so the flood never stopped meanwhile.
        select_row(app, running.name)  # the guest's row, whatever the table did meanwhile
        await pilot.press("c")
        await until(pilot, lambda: pane.state == "attached", "attached again", 60)
        await until(pilot, lambda: max(numbers(pane)) > last, "the counter going on", 60)
        await pilot.press("ctrl+c")
        term = pane.terminal.term
        await until(pilot, lambda: "tvirt-guest#" in term.display[term.cursor.y],
                    "the prompt after Ctrl+C", 60)
        pane.detach()
