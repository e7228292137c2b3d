"""Random keys on the app, as a script: `python tests/monkey.py SEED KEYS WIDTH HEIGHT`.

Runs the app on test:///default and presses KEYS keys drawn with random.Random(SEED) from
every key of tvirt/keys.py plus the keys people press anyway (arrows, Enter, Tab,
letters). q ends the app; a new one takes the rest of the keys. At the end the app must
still answer (Escape back to the dashboard, ? opens the help), and every VM of the test
driver must still start. Prints one JSON object: the seed, counts and every problem.

A separate process, because the test driver's test:///default is one shared instance per
process: whatever the keys did to it stays out of the other tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
import traceback
from typing import Any

import libvirt
from textual import events
from textual.pilot import Pilot

from tvirt.keys import all_keys
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.dashboard import DashboardScreen
from tvirt.screens.help import HelpScreen

URI = "test:///default"
# Every key of the table, once each, plus what a person's fingers add. Escape and Enter
# are frequent, as they are in use; the quit keys (q, ctrl+q) are rare, so each app lives
# a while.
QUIT = sorted(k.key for k in all_keys() if k.action == "quit")
TABLE = sorted({k.key for k in all_keys()} - set(QUIT))
EXTRA = ["up", "down", "left", "right", "home", "end", "backspace", "shift+tab",
         "a", "x", "1", "0", "G", "full_stop", "minus", "ctrl+s", "ctrl+b", "ctrl+n"]
WEIGHTED = TABLE + EXTRA + ["escape"] * 12 + ["enter"] * 8 + ["tab"] * 3 + ["down"] * 4


# What a terminal sends along with a named key.
CHARACTERS = {"question_mark": "?", "slash": "/", "full_stop": ".", "space": " ",
              "plus": "+", "minus": "-", "enter": "\r", "tab": "\t"}


async def press(app: TvirtApp, pilot: Pilot[int], keys: list[str]) -> None:
    """A burst of keys as a terminal delivers them, then wait for the screen to take them.

    Not Pilot.press: that waits for the process to look idle after each key (CPU time
    against wall time), which costs 100 ms a key on a shared machine; and keys from a
    fast typist or a paste do not wait for the screen either.
    """
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))
    await taken(app)


async def taken(app: TvirtApp) -> None:
    """Wait until the app and the current screen have handled what was queued so far.

    What Pilot.pause does, without forcing a full redraw after every key: the app draws
    at its own pace, as it does in a terminal.
    """
    pending = 0
    done = asyncio.Event()

    def one_less() -> None:
        nonlocal pending
        pending -= 1
        if pending == 0:
            done.set()

    for node in [app, *app.screen.walk_children(with_self=True)]:
        if node.call_later(one_less):
            pending += 1
    if pending:
        await asyncio.wait_for(done.wait(), timeout=30)


# Keys posted at once before waiting for the screen (TVIRT_MONKEY_BURST). One by default:
# in bursts, keys also reach a screen that is still mounting (e then Escape closes the
# details screen before its on_mount runs), which is safe only where the app holds such
# keys back until the screen is ready.
BURST = int(os.environ.get("TVIRT_MONKEY_BURST", "1"))


def draw(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(QUIT) if rng.random() < 1 / 250 else rng.choice(WEIGHTED)
            for _ in range(count)]


async def connected(app: TvirtApp, limit: float = 30.0) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        host = app.hosts.get(URI)
        if host is not None and host.state is HostState.CONNECTED:
            return True
        await asyncio.sleep(0.02)
    return False


async def answers(app: TvirtApp, pilot: Pilot[int]) -> str:
    """Escape back to the dashboard, then ? must open the help; '' or what went wrong."""
    for _ in range(8):
        if isinstance(app.screen, DashboardScreen):
            break
        await pilot.press("escape")
    if not isinstance(app.screen, DashboardScreen):
        return f"Escape did not lead back to the dashboard: {type(app.screen).__name__}"
    await pilot.press("escape")  # the filter may have the focus: Escape hands it back
    await pilot.press("question_mark")
    deadline = time.monotonic() + 10
    while not isinstance(app.screen, HelpScreen):
        if time.monotonic() > deadline:
            return "the help did not open: the app no longer answers"
        await pilot.pause(0.05)
    await pilot.press("escape")
    return ""


async def run(seed: int, count: int, size: tuple[int, int]) -> dict[str, Any]:
    keys = draw(seed, count)
    done, apps, problems = 0, 0, []
    while done < len(keys):
        app = TvirtApp(uris=[URI])
        apps += 1
        first = done
        try:
            async with app.run_test(size=size) as pilot:
                if not await connected(app):
                    problems.append("test:///default did not connect")
                    break
                while done < len(keys) and app.is_running:
                    # A burst ends at a quit key, so the keys after it go to the next app.
                    burst = keys[done:done + BURST]
                    ends = [i for i, key in enumerate(burst) if key in QUIT]
                    if ends:
                        burst = burst[:ends[0] + 1]
                    await press(app, pilot, burst)
                    done += len(burst)
                if app.is_running:
                    answer = await answers(app, pilot)
                    if answer:
                        problems.append(answer)
        except Exception:
            problems.append(
                f"keys {first}..{done}, the last ones {keys[max(first, done - 20):done]}: "
                + traceback.format_exc()
            )
            break
        if not app.is_running and app.return_code not in (0, None):
            problems.append(f"exit status {app.return_code} after key {done}")
    problems += vms_start()
    return {"seed": seed, "keys": done, "apps": apps, "problems": problems}


def vms_start() -> list[str]:
    """Every VM of the test driver (this process's instance) starts, or already runs."""
    conn = libvirt.open(URI)
    problems = []
    try:
        for dom in conn.listAllDomains(0):
            try:
                state = dom.state()[0]
                if state == libvirt.VIR_DOMAIN_PAUSED:
                    dom.resume()
                elif state != libvirt.VIR_DOMAIN_RUNNING:
                    dom.create()
                if dom.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
                    problems.append(f"{dom.name()} is not running after a start")
            except libvirt.libvirtError as exc:
                problems.append(f"{dom.name()} does not start: {exc}")
    finally:
        conn.close()
    return problems


def main() -> int:
    seed, count, width, height = (int(arg) for arg in sys.argv[1:5])
    print(json.dumps(asyncio.run(run(seed, count, (width, height)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
