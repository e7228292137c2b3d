"""Keys and worker results that land on screens being torn down, on the private lab host
of the test driver (tests/fixtures/vmlab.xml).

Keys are posted straight to the app without waiting in between, as a terminal delivers
them when typed fast: Pilot's press() waits for the app to go idle after each key, which
hides these races.
"""

from __future__ import annotations

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


async def test_a_screen_closed_while_it_mounts_leaves_no_traceback() -> None:
    # e then escape in one read: escape reached the hardware screen's bindings while its
    # widgets still mounted, and Textual's header then found its title gone (NoMatches).
    # The race is narrow, so it is run many times; each round must end on the dashboard.
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        shown: list[str] = []
        app.screen_change_signal.subscribe(app, lambda s: shown.append(type(s).__name__))
        for round_ in range(25):
            burst(app, "e", "escape")
            await until(pilot, lambda: shown[-2:] == ["VMHardwareScreen", "DashboardScreen"],
                        f"round {round_}: the hardware screen opened and closed")
            shown.clear()


async def test_a_result_for_a_closed_screen_is_dropped() -> None:
    app = lab_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await hardware(pilot)
        shown: list[str] = []
        deliver(screen, shown.append, "while open")
        await until(pilot, lambda: shown == ["while open"], "the delivery to an open screen")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "the dashboard")
        deliver(screen, screen.status, "after it closed")  # would query a removed widget
        deliver(app.dashboard, shown.append, "to the dashboard")
        await until(pilot, lambda: len(shown) == 2, "the dashboard's delivery")
        assert shown == ["while open", "to the dashboard"]
