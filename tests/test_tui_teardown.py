"""Keys and worker results that land on screens being torn down, on the private lab host
of the test driver (tests/fixtures/vmlab.xml).

Keys are posted straight to the app without waiting in between, as a terminal delivers
them when typed fast: Pilot's press() waits for the app to go idle after each key, which
hides these races.
"""

from __future__ import annotations

from monkey import press
from test_tui_vm_screens import SIZE, hardware, lab_app, loaded
from textual import events

from tui_helpers import until
from tvirt.screens.app import TvirtApp
from tvirt.screens.threads import deliver


def burst(app: TvirtApp, *keys: str) -> None:
    """Keys as one read from the terminal: all queued before the first is handled."""
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_keys_typed_after_quit_open_nothing() -> None:
    # q then e used to open the hardware screen while the app exited: Textual no longer
    # composed it and its on_mount failed with NoMatches '#devices' (exit status 1).
    for keys in (("q", "e"), ("q", "e", "m", "u"), ("q", "N"), ("q", "n")):
        assert await quit_with(*keys) == 0, keys


async def quit_with(*keys: str) -> int | None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        burst(app, *keys)
        await until(pilot, lambda: app.return_code is not None, f"{keys} to quit")
    # Leaving run_test re-raised anything that went wrong while the app shut down.
    return app.return_code


async def test_a_result_delivered_while_the_app_quits_is_dropped() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await hardware(pilot)
        shown: list[str] = []
        deliver(screen, shown.append, "while open")
        await until(pilot, lambda: shown == ["while open"], "the delivery to an open screen")
        app.exit()
        # The screen's widgets are about to go: a result from a late worker is dropped.
        deliver(screen, shown.append, "while quitting")
    assert shown == ["while open"]


async def test_a_palette_command_run_after_quit_opens_nothing() -> None:
    # Commands chosen in the palette (d, Enter twice: Delete, which asks first) ran only
    # once ctrl+q had begun the exit: their confirmations were pushed, never composed, and
    # on_mount failed with NoMatches '#confirm' (found by tests/monkey.py, seed 3).
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        for key in ("ctrl+p", "d", "enter", "enter", "v", "ctrl+q"):
            await press(app, pilot, [key])  # each key taken before the next, as typed
        await until(pilot, lambda: app.return_code is not None, "ctrl+q to quit")
    assert app.return_code == 0
