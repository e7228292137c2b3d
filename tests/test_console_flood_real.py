"""A console that floods, on the real TCG guest: the scrollback keeps every line in order,
and the keys that leave the console act while the guest is still printing.

Nothing here is timed: the order of events and the guest's own counter are the evidence.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from test_console_real import Guest, ask, lines, open_console, select_row, type_line
from test_tui_dashboard import SIZE, until
from textual import events

from conftest import Testbed
from tvirt.screens.app import TvirtApp
from tvirt.screens.console import SLICE, ConsolePane, ConsoleScreen
from tvirt.screens.dashboard import DashboardScreen

pytestmark = pytest.mark.real

COUNT = 3000  # under HISTORY_LINES, so the scrollback must hold every one
NUMBERED = re.compile(r"^flood (\d+)$")
BACKLOG = 4 * SLICE  # bytes waiting: more than one feed turn takes


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


async def test_priority_keys_overtake_the_queued_output(
    testbed: Testbed, running: Guest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+] and Escape are the consoles screen's priority bindings: the app acts on
    them in its own queue while the guest's output still waits in the pane's inbox, not
    after another feed turn (a non-priority key goes through the terminal's queue and the
    pane's, behind the next turn). The log of feed turns and actions is the evidence."""
    log: list[tuple[str, int]] = []  # (what, bytes waiting in the pane's inbox)
    keys: list[str] = []  # typed back to back during a feed turn with a backlog
    feed_turn = ConsolePane.on_console_pane_output
    detach = ConsolePane.detach
    leave = ConsoleScreen.leave

    async def turn(pane: ConsolePane, message: ConsolePane.Output) -> None:
        log.append(("turn", len(pane._inbox)))
        if keys and len(pane._inbox) >= BACKLOG:
            for key in keys:  # as a terminal delivers them, during the turn
                log.append((f"key {key}", len(pane._inbox)))
                pane.app.post_message(events.Key(key, None))
            keys.clear()
        await feed_turn(pane, message)

    def detaching(pane: ConsolePane, sentence: str = "") -> None:
        log.append(("detach", len(pane._inbox)))
        detach(pane, sentence)

    def leaving(screen: ConsoleScreen) -> None:
        pane = screen.active_pane()
        log.append(("leave", len(pane._inbox) if pane is not None else -1))
        leave(screen)

    def whats() -> list[str]:
        return [what for what, _ in log]

    def settled() -> bool:
        """Both keys acted on, or the backlog fed without that (then the check fails)."""
        after = whats()[whats().index("key escape") + 1:] if "key escape" in whats() else []
        return {"detach", "leave"} <= set(after) or (bool(after) and not pane._inbox)

    monkeypatch.setattr(ConsolePane, "on_console_pane_output", turn)
    monkeypatch.setattr(ConsolePane, "detach", detaching)
    monkeypatch.setattr(ConsoleScreen, "leave", leaving)
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        await ask(pilot, pane, "6*5", "30")
        await type_line(pilot, "i=0; while true; do echo flood $i; i=$((i+1)); done")
        await until(pilot, lambda: len(numbers(pane)) > 200, "the flood under way", 60)
        # The event loop kept busy for a moment (as by a slow frame): the guest's output
        # piles up in the inbox, so feed turns are queued when the keys come.
        time.sleep(1.0)
        keys.extend([pane.terminal.escape_key, "escape"])
        await until(pilot, settled, "the keys handled", 60)
        at = whats().index("key escape")
        acted: dict[str, int] = {}
        for what, waiting in log[at + 1:]:
            if what in ("detach", "leave"):
                acted.setdefault(what, waiting)
        # Both actions came while the guest's output still waited in the inbox, to be fed
        # after them. (The pane's feed task may get a turn in between: the app awaits while
        # it runs a key's action, so their exact order is the scheduler's, not the point.)
        assert set(acted) == {"detach", "leave"}, log[at - 1:at + 8]
        assert acted["detach"] > 0 and acted["leave"] > 0, log[at - 1:at + 8]
        last = max(i for i, (what, _) in enumerate(log) if what in ("detach", "leave"))
        assert "turn" in whats()[last + 1:]
        assert isinstance(app.screen, DashboardScreen)
        assert pane.state == "detached"
        await until(pilot, lambda: not pane._inbox, "the backlog fed")
        # Fed after the keys, in order: the scrollback still counts up one by one.
        counted = numbers(pane)
        assert counted == list(range(counted[0], counted[0] + len(counted)))
        # Stop the flood, so the guest is left at its prompt.
        monkeypatch.undo()
        select_row(app, running.name)
        await pilot.press("c")
        await until(pilot, lambda: pane.state == "attached", "attached again", 60)
        await pilot.press("ctrl+c")
        term = pane.terminal.term
        await until(pilot, lambda: "tvirt-guest#" in term.display[term.cursor.y],
                    "the prompt after Ctrl+C", 60)
        pane.detach()
