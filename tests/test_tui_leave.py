"""Every screen can be left with Escape, and q quits from anywhere with exit status 0.

The screens are found, not listed: starting on the dashboard, every key that the screen
binds from tvirt/keys.py is pressed; each screen that opens is left with Escape at once
(which must return to the screen below), and the screens opened that way are explored in
turn. A screen class of tvirt.screens that is never reached fails the test unless
ELSEWHERE names the test that covers it, so a new screen is covered the day it exists.
"""

from __future__ import annotations

import asyncio
import inspect
import pkgutil
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.pilot import Pilot
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, TextArea

import tvirt.screens
from conftest import Testbed
from tui_helpers import host_loaded, until
from tvirt.keys import all_keys
from tvirt.screens.app import TvirtApp

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'vmlab.xml'}"
SIZE = (120, 40)
TABLE_KEYS = {k.key for k in all_keys()}
# Not pressed while exploring: Escape and the quit keys are what is checked; the others
# only change the dashboard's view (they open nothing, and a filter would hide the VM the
# rest act on).
NOT_EXPLORED = {"escape", "q", "ctrl+q", "slash", "f", "o", "O", "space", "M"}
# On one screen only: the graphical display's i sends every key to the guest, Escape and q
# included, until ctrl+] (by design, as an attached serial console does);
# tests/test_tui_display.py checks that capture, its release and Escape afterwards.
NOT_EXPLORED_ON = {"DisplayScreen": {"i"}}
# Words in an action that changes libvirt's state: pressed last on each screen, so that,
# say, stopping the pool does not come before the key that opens the new-volume wizard.
CHANGES = ("vm(", "pool(", "start", "stop", "toggle", "revert", "delete", "remove", "take")
# Screens these tests cannot reach on a test-driver host, and the test that leaves them.
ELSEWHERE = {
    "GlusterScreen": "test_gluster_screens_can_be_left (a qemu host with glusterd)",
    "WipeWizard": "test_gluster_screens_can_be_left",
    "BrickWizard": "test_gluster_screens_can_be_left",
    "DiskWizard": "the base class of WipeWizard and BrickWizard",
    "FieldWizard": "the base class of VolumeWizard and PoolWizard",
    "TvirtScreen": "the base class of every full screen (screens/base.py)",
    "TvirtModal": "the base class of every dialog (screens/base.py)",
    "TabsScreen": "the base class of ConsoleScreen and DisplayScreen (screens/tabbed.py)",
    "RefreshedScreen": "the base class of GlusterScreen and ClusterScreen (screens/refreshed.py)",
    # The migrate key refuses on a single host: two hosts are needed to reach these.
    "MigrateDialog": "test_tui_migrate: test_the_dialog_lists_the_other_host_and_escape_leaves",
    "MigrationScreen": "test_lab_migrate: test_app_escape_cancels_the_migration_and_the_vm_stays",
    "QuitDialog": "test_quitting_while_a_change_runs_asks_and_escape_stays",
}


def names(app: TvirtApp) -> list[str]:
    return [type(screen).__name__ for screen in app.screen_stack]


def every_screen_class() -> set[str]:
    """Every Screen subclass defined in tvirt.screens."""
    found = set()
    for module in pkgutil.iter_modules(tvirt.screens.__path__):
        mod = import_module(f"tvirt.screens.{module.name}")
        for name, obj in inspect.getmembers(mod, inspect.isclass):
            if issubclass(obj, Screen) and obj.__module__ == mod.__name__:
                found.add(name)
    return found


def keys_of(app: TvirtApp) -> list[str]:
    """The keys of tvirt/keys.py that the current screen answers to, state-changing last."""
    bindings = app.screen.active_bindings
    skipped = NOT_EXPLORED | NOT_EXPLORED_ON.get(type(app.screen).__name__, set())
    keys = [key for key in bindings if key in TABLE_KEYS and key not in skipped]
    return sorted(keys, key=lambda key: any(w in bindings[key].binding.action for w in CHANGES))


async def settle(pilot: Pilot[int]) -> None:
    await pilot.pause()
    await pilot.pause()


async def start(pilot: Pilot[int], path: list[str]) -> TvirtApp:
    app = await host_loaded(pilot, LAB, 1)
    for key in path:
        await pilot.press(key)
        await settle(pilot)
    return app


@dataclass
class Found:
    paths: dict[str, list[str]] = field(default_factory=dict)  # screen -> keys to it
    problems: list[str] = field(default_factory=list)


def text_focused(app: TvirtApp) -> bool:
    return isinstance(app.focused, Input | TextArea)


def quits(app: TvirtApp) -> bool:
    """q here quits: its binding is the app's quit; or a text field takes q as a letter,
    and then the key table's other quit key (ctrl+q) quits (the field does not take it)."""
    bindings = app.screen.active_bindings
    if text_focused(app):
        other = bindings.get("ctrl+q")
        if other is not None:
            return other.binding.action.endswith("quit")
        # A dialog's bindings stop at the dialog (the command palette's), but the app's
        # priority bindings are checked first on every screen.
        return any(isinstance(b, Binding) and b.key == "ctrl+q" and b.priority
                   and b.action == "quit" for b in TvirtApp.BINDINGS)
    binding = bindings.get("q")
    return binding is not None and binding.binding.action.endswith("quit")


async def explore(path: list[str], found: Found) -> list[list[str]]:
    """Press every key of the screen at the end of `path`: each screen that opens must be
    left with one Escape and quit with q. Then q on this screen itself must end the app
    with status 0. Returns the paths to the full screens opened, to explore next."""
    app = TvirtApp(uris=[LAB], stats=False)
    deeper = []
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, path)
        below = names(app)
        for key in keys_of(app):
            if names(app) != below:
                break  # a previous key left this screen: the rest is explored elsewhere
            await pilot.press(key)
            await settle(pilot)
            now = names(app)
            if len(now) <= len(below):
                continue
            opened, via = now[len(below)], " ".join([*path, key])
            if opened not in found.paths:
                found.paths[opened] = [*path, key]
                if not isinstance(app.screen_stack[len(below)], ModalScreen):
                    deeper.append([*path, key])
            if not quits(app):
                found.problems.append(f"q does not quit from {now[-1]} (opened with {via})")
            await pilot.press("escape")
            await settle(pilot)
            if len(names(app)) >= len(now):
                found.problems.append(f"Escape did not leave {now[-1]} (opened with {via})")
                return deeper
        if path and names(app) == below[:-1]:
            await pilot.press(path[-1])  # a key closed it (x, the last console tab): reopen
            await settle(pilot)
        pressed_q = names(app) == below and not text_focused(app)
        if pressed_q:
            await pilot.press("q")
            await until(pilot, lambda: not app.is_running, f"the app to quit from {below[-1]}")
    if pressed_q and app.return_code != 0:
        found.problems.append(f"q from {below[-1]}: exit status {app.return_code}")
    return deeper


async def test_every_screen_can_be_left_and_q_quits_from_anywhere() -> None:
    found = Found(paths={"DashboardScreen": []})
    frontier: list[list[str]] = [[]]
    while frontier:
        frontier += await explore(frontier.pop(0), found)
    assert not found.problems, found.problems
    missing = every_screen_class() - set(found.paths) - set(ELSEWHERE)
    assert not missing, f"never reached from the key table, and not covered elsewhere: {missing}"


async def leave_gluster(uri: str, wizard: str) -> None:
    """The Gluster view (and one of its wizards) left with Escape, then q quits."""
    app = TvirtApp(uris=[uri], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(app.hosts) and all(
            h.state.word == "connected" for h in app.hosts.values()), "the host")
        app.dashboard.host_list.focus()
        await pilot.press("G")
        await until(pilot, lambda: names(app)[-1] == "GlusterScreen", "the Gluster view")
        if wizard:
            expected = {"w": "WipeWizard", "b": "BrickWizard"}[wizard]
            await pilot.press(wizard)
            await until(pilot, lambda: names(app)[-1] == expected, expected)
            await pilot.press("escape")  # on the first step Escape closes the wizard
            await until(pilot, lambda: names(app)[-1] == "GlusterScreen", "back")
            await pilot.press(wizard)
            await until(pilot, lambda: names(app)[-1] == expected, expected)
        else:
            await pilot.press("escape")
            await until(pilot, lambda: names(app)[-1] == "DashboardScreen", "the dashboard")
            await pilot.press("G")
            await until(pilot, lambda: names(app)[-1] == "GlusterScreen", "the view again")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit")
    assert app.return_code == 0


@pytest.mark.real
@pytest.mark.parametrize("wizard", ["", "w", "b"])
async def test_gluster_screens_can_be_left(testbed: Testbed, wizard: str) -> None:
    await leave_gluster(testbed.qemu_uri, wizard)


@pytest.mark.parametrize("opener", ["question_mark", "L", "e"])
async def test_a_screen_closed_twice_at_once_closes_once(opener: str) -> None:
    """A second close of a screen no longer on top (an Escape queued behind another, a
    button press after a key) is ignored; it popped the screen below, and from a dialog
    over the dashboard that ended the app with "Can't pop screen"."""
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, [opener])
        opened = app.screen
        assert names(app)[-2:] == ["DashboardScreen", type(opened).__name__]
        opened.dismiss()
        opened.dismiss()
        await settle(pilot)
        assert app.is_running and names(app)[-1] == "DashboardScreen", names(app)


async def test_a_dialog_under_the_palette_is_not_closed_from_below() -> None:
    """A dialog that shows through the command palette above it counts as current in
    Textual; its dismiss set its result and popped the palette instead, and the next one
    raised InvalidStateError (tests/monkey.py seed 1). It is ignored until the palette
    goes, and then the dialog closes once."""
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, ["question_mark"])
        help_screen = app.screen
        app.action_command_palette()  # as a palette command's key would, over a dialog
        await until(pilot, lambda: names(app)[-1] == "Palette", "the palette")
        assert help_screen.is_current  # shows through: the case the guard is for
        help_screen.dismiss()
        await settle(pilot)
        assert names(app)[-3:] == ["DashboardScreen", "HelpScreen", "Palette"], names(app)
        await pilot.press("escape")
        await until(pilot, lambda: names(app)[-1] == "HelpScreen", "the help again")
        help_screen.dismiss()
        await settle(pilot)
        assert app.is_running and names(app)[-1] == "DashboardScreen", names(app)


@pytest.mark.parametrize(("path", "screen"), [
    (["n"], "CreateWizard"),  # a full screen: the new VM's name has the focus
    (["e", "m"], "FormDialog"),  # a dialog: the memory field has the focus
    (["a"], "AddConnectionDialog"),
    (["ctrl+p"], "Palette"),  # the command palette: its own dialog, its search field
])
async def test_the_documented_quit_key_works_where_q_is_a_letter(
    path: list[str], screen: str
) -> None:
    """Where a text field has the focus, q is a letter; the key table's other quit key
    (ctrl+q) still quits, with exit status 0."""
    quit_keys = [k.key for k in all_keys() if k.action == "quit"]
    assert "q" in quit_keys and len(quit_keys) == 2, quit_keys
    other = next(key for key in quit_keys if key != "q")
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, path)
        assert names(app)[-1] == screen and isinstance(app.focused, Input)
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running and app.focused.value.endswith("q")
        await pilot.press(other)
        await until(pilot, lambda: not app.is_running, f"{other} to quit")
    assert app.return_code == 0


async def test_quitting_while_a_change_runs_asks_and_escape_stays() -> None:
    """The question's Escape keeps the app; q in it quits. A stand-in worker of the
    migrate group: the guard reads only the group, and a real migration needs the lab
    (the upload in test_tui_storage_real asks the same with a real transfer)."""
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot, [])
        hold = asyncio.Event()
        app.run_worker(hold.wait(), group="migrate")
        await pilot.press("q")
        await until(pilot, lambda: names(app)[-1] == "QuitDialog", "the question")
        await pilot.press("escape")
        await until(pilot, lambda: names(app)[-1] == "DashboardScreen", "the dashboard")
        assert app.is_running
        await pilot.press("q")
        await until(pilot, lambda: names(app)[-1] == "QuitDialog", "the question again")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "q to quit")
    assert app.return_code == 0
