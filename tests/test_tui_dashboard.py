"""Pilot tests of the dashboard against private test-driver hosts (tests/fixtures/*.xml)."""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static
from textual.widgets._footer import FooterKey

from conftest import Testbed
from tui_helpers import settled, until
from tvirt.keys import all_keys, display
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import AddConnectionDialog, ConfirmDialog
from tvirt.screens.help import HelpScreen
from tvirt.screens.vm_table import VMTable

FIXTURES = Path(__file__).parent / "fixtures"
LAB = f"test://{FIXTURES / 'lab.xml'}"
ANNEX = f"test://{FIXTURES / 'annex.xml'}"
LAB_NAMES = ["build01", "cache01", "db01", "mail01", "web01", "web02"]
SIZE = (120, 40)


@asynccontextmanager
async def running(*uris: str, readonly: bool = False,
                  vms: int = 6) -> AsyncIterator[tuple[TvirtApp, Pilot[int]]]:
    app = TvirtApp(uris=list(uris), readonly=readonly)
    async with app.run_test(size=SIZE) as pilot:
        await settled(
            pilot,
            lambda: len(table(app).vms) == vms and all(
                vm.vcpus is not None for vm in table(app).vms.values()
            ),
            f"{vms} VMs listed and read",
        )
        yield app, pilot


def table(app: TvirtApp) -> VMTable:
    return app.dashboard.table


def key_of(app: TvirtApp, name: str) -> str:
    return next(vm.key for vm in table(app).vms.values() if vm.name == name)


def cell(app: TvirtApp, name: str, column: str) -> str:
    return str(table(app).get_cell(key_of(app, name), column))


def names(app: TvirtApp) -> list[str]:
    """VM names in display order."""
    return [str(table(app).get_cell(key, "name")) for key in table(app).visible_keys()]


def select(app: TvirtApp, name: str) -> None:
    table(app).move_cursor(row=table(app).get_row_index(key_of(app, name)))


def said(app: TvirtApp, fragment: str) -> bool:
    return any(fragment in sentence for sentence in app.messages)


def status(app: TvirtApp) -> str:
    return str(app.dashboard.query_one("#status", Static).render())


async def state_becomes(pilot: Pilot[int], app: TvirtApp, name: str, word: str) -> None:
    await until(pilot, lambda: cell(app, name, "state") == word, f"{name} {word}")


# -- lifecycle actions ------------------------------------------------------


async def test_dashboard_lists_hosts_and_vms_in_words() -> None:
    async with running(LAB) as (app, pilot):
        await until(pilot, lambda: app.hosts[LAB].state is HostState.CONNECTED, "connected")
        assert names(app) == LAB_NAMES
        assert cell(app, "db01", "state") == "shut off"
        assert cell(app, "cache01", "state") == "paused"
        assert cell(app, "mail01", "state") == "crashed"
        assert cell(app, "db01", "memory") == "8 GiB"
        assert cell(app, "cache01", "memory") == "512 MiB"
        assert cell(app, "web01", "autostart") == "off"
        assert cell(app, "web01", "host") == "demo lab.xml"
        host = str(app.dashboard.host_list.get_option(LAB).prompt)
        assert "demo lab.xml (demo connection)" in host
        assert "connected, TEST 0.0.2" in host
        assert "8 CPUs, 16 GiB, 6 VMs" in host
        assert status(app) == (
            "6 VMs, 2 running, 2 shut off, 1 paused, 1 other; 1 host, 1 connected; "
            "stats live, every 2 s."
        )
        assert "read-write" in app.sub_title


async def test_start_updates_the_row_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_clear(*_args: object, **_kw: object) -> None:
        raise AssertionError("the table must never be cleared")

    monkeypatch.setattr(VMTable, "clear", no_clear)
    async with running(LAB) as (app, pilot):
        select(app, "db01")
        index = table(app).get_row_index(key_of(app, "db01"))
        await pilot.press("s")
        await state_becomes(pilot, app, "db01", "running")
        assert table(app).get_row_index(key_of(app, "db01")) == index
        assert table(app).vm_at_cursor() is not None
        assert table(app).vm_at_cursor().name == "db01"  # type: ignore[union-attr]
        await until(pilot, lambda: said(app, "Started db01 on demo lab.xml."), "result")
        assert "Started db01" in "\n".join(app.dashboard.query_one("#log").lines)  # type: ignore[attr-defined]
        assert app.screen is app.dashboard  # no confirmation for a start


async def test_shutdown_asks_then_shuts_off() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        listed = str(app.screen.query_one(".dialog-targets Static").render())
        assert "web01 on demo lab.xml" in listed
        await pilot.press("y")
        await state_becomes(pilot, app, "web01", "shut off")
        await until(pilot, lambda: said(app, "Asked to shut down web01"), "result")


async def test_reboot_asks_and_reports() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web02")
        await pilot.press("R")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.press("enter")
        await until(pilot, lambda: said(app, "Asked to reboot web02 on demo lab.xml."), "result")
        assert cell(app, "web02", "state") == "running"


async def test_force_off_confirmed() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.press("y")
        await state_becomes(pilot, app, "web01", "shut off")
        await until(pilot, lambda: said(app, "Forced off web01 on demo lab.xml."), "result")


@pytest.mark.parametrize("key", ["n", "escape"])
async def test_force_off_cancelled(key: str) -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.press(key)
        await until(pilot, lambda: app.screen is app.dashboard, "dialog closed")
        await until(pilot, lambda: said(app, "Cancelled: did not force off web01"), "cancel")
        await pilot.pause(0.2)
        assert cell(app, "web01", "state") == "running"
        assert not said(app, "Forced off")


async def test_enter_on_the_cancel_button_cancels() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        app.screen.query_one("#cancel").focus()
        await pilot.press("enter")
        await until(pilot, lambda: said(app, "Cancelled"), "cancel")
        assert cell(app, "web01", "state") == "running"


async def test_pause_and_resume() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("p")
        await state_becomes(pilot, app, "web01", "paused")
        await until(pilot, lambda: said(app, "Paused web01"), "pause result")
        select(app, "cache01")
        await pilot.press("u")
        await state_becomes(pilot, app, "cache01", "running")
        await until(pilot, lambda: said(app, "Resumed cache01"), "resume result")


async def test_autostart_toggles() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("t")
        await until(pilot, lambda: cell(app, "web01", "autostart") == "on", "autostart on")
        await pilot.press("t")
        await until(pilot, lambda: cell(app, "web01", "autostart") == "off", "autostart off")
        assert said(app, "Turned autostart on for web01")
        # The row changes first: the worker re-reads the VM before it reports the result.
        await until(pilot, lambda: said(app, "Turned autostart off for web01"), "the result")


async def test_delete_keeps_storage_by_default() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "build01")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        assert app.screen.query_one("#remove-storage", Checkbox).value is False
        await pilot.press("y")
        await until(pilot, lambda: len(table(app).vms) == 5, "row removed")
        assert "build01" not in names(app)
        await until(pilot, lambda: said(app, "Deleted build01 on demo lab.xml."), "result")
        assert not said(app, "Removed storage")


async def test_delete_with_storage() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "db01")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        box = app.screen.query_one("#remove-storage", Checkbox)
        assert "no, keep its disk images" in str(box.label)
        await pilot.click("#remove-storage")
        assert box.value is True
        assert "yes, delete its disk images" in str(box.label)  # in words, not colour only
        await pilot.press("enter")
        await until(pilot, lambda: said(app, "Removed storage: /lab-pool/db01.qcow2."), "result")
        assert "db01" not in names(app)


async def test_delete_cancelled() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "build01")
        await pilot.press("D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.press("escape")
        await until(pilot, lambda: said(app, "Cancelled: did not delete build01"), "cancel")
        await pilot.pause(0.2)
        assert "build01" in names(app)


async def test_marks_and_a_batch_action() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("space")
        select(app, "web02")
        await pilot.press("space")
        assert cell(app, "web01", "mark") == "marked"
        assert cell(app, "web02", "mark") == "marked"
        assert cell(app, "db01", "mark") == ""
        assert "2 marked" in status(app)
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        listed = str(app.screen.query_one(".dialog-targets Static").render())
        assert "web01 on demo lab.xml" in listed
        assert "web02 on demo lab.xml" in listed
        assert "Force off 2 VMs?" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("y")
        await state_becomes(pilot, app, "web01", "shut off")
        await state_becomes(pilot, app, "web02", "shut off")
        await pilot.press("M")
        assert cell(app, "web01", "mark") == ""
        assert not table(app).marks


async def test_unmarking_with_space_again() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("space")
        assert cell(app, "web01", "mark") == "marked" and "1 marked" in status(app)
        await pilot.press("space")
        assert cell(app, "web01", "mark") == ""
        assert not table(app).marks and "marked" not in status(app)


async def test_read_only_refuses_without_calling_the_worker() -> None:
    async with running(LAB, readonly=True) as (app, pilot):
        assert "read-only" in app.sub_title
        worker = app.manager.get(LAB)

        def forbidden(*_args: object, **_kw: object) -> None:
            raise AssertionError("read-only mode must not reach the worker")

        worker.act = forbidden  # type: ignore[method-assign]
        select(app, "db01")
        await pilot.press("s")
        await pilot.press("F")
        await pilot.press("D")
        await pilot.pause(0.1)
        assert app.screen is app.dashboard  # refused before any confirmation
        assert said(app, "Read-only mode refused to start db01 on demo lab.xml; restart tvirt")
        assert said(app, "Read-only mode refused to delete db01 on demo lab.xml")
        assert cell(app, "db01", "state") == "shut off"


async def test_read_only_footer_offers_only_what_can_be_done() -> None:
    async with running(LAB, readonly=True) as (app, pilot):
        footer = {
            b.binding.description
            for b in app.screen.active_bindings.values()
            if b.binding.show and b.enabled
        }
        assert {"Start", "Shut down", "Force off", "Delete", "Console"}.isdisjoint(footer)
        assert {"Mark", "Filter", "Add host"} <= footer
        # libvirt refuses consoles to read-only connections: no tab, no take-over offer
        select(app, "web01")
        await pilot.press("c")
        await pilot.pause(0.1)
        assert app.screen is app.dashboard
        assert said(app, "The console of web01 cannot open read-only: libvirt lets only")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text", Static).render())
        assert "Start the selected or marked VMs (not available read-only)" in text
        assert "Open the selected VM's serial console in a tab (not available read-only)" in text
        assert "Filter VMs by text (not" not in text


async def test_footer_keeps_help_and_quit_on_screen_at_80_columns() -> None:
    async with running(LAB) as (app, pilot):
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.2)
        shown = {
            str(key.description): key.region
            for key in app.screen.query(FooterKey)
        }
        # Both within the 80 columns, not pushed off the right edge by the screen's keys.
        assert {"Help", "Quit"} <= set(shown)
        assert shown["Help"].right <= 80 and shown["Quit"].right <= 80
        assert shown["Help"].width > 0 and shown["Quit"].width > 0


async def test_read_write_footer_offers_changes() -> None:
    async with running(LAB) as (app, _pilot):
        footer = {b.binding.description for b in app.screen.active_bindings.values()}
        assert {"Start", "Delete", "Console"} <= footer


# -- filtering and sorting --------------------------------------------------


async def test_text_filter_hides_and_restores_rows() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web02")
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"web")
        assert names(app) == ["web01", "web02"]
        assert "Showing 2 of 6 VMs" in status(app)
        assert table(app).vm_at_cursor().name == "web02"  # type: ignore[union-attr]
        await pilot.press("escape")
        assert isinstance(app.focused, VMTable)
        app.dashboard.query_one("#filter", Input).value = ""
        await until(pilot, lambda: len(names(app)) == 6, "all rows back")
        assert table(app).vm_at_cursor().name == "web02"  # type: ignore[union-attr]


async def test_slash_and_letters_in_the_filter_are_text_and_keys_outside_it() -> None:
    async with running(LAB) as (app, pilot):
        field = app.dashboard.query_one("#filter", Input)
        # From the table, / moves to the filter and types nothing.
        await pilot.press("slash")
        assert app.focused is field and field.value == ""
        # In the filter, / and the letters of keys (s starts, q quits) are text.
        await pilot.press("slash", "s", "q")
        assert field.value == "/sq" and app.is_running
        # Escape hands the keys back: / is the filter key again, q quits.
        await pilot.press("escape")
        assert isinstance(app.focused, VMTable)
        await pilot.press("slash")
        assert app.focused is field and field.value == "/sq"
        await pilot.press("escape", "q")
        await until(pilot, lambda: not app.is_running, "q to quit from the table")
    assert app.return_code == 0


async def test_text_filter_matches_the_host_label() -> None:
    async with running(LAB, ANNEX, vms=8) as (app, pilot):
        await pilot.press("slash", *"annex")
        assert names(app) == ["annex-app", "annex-backup"]
        app.dashboard.query_one("#filter", Input).value = "lab.xml"
        await until(pilot, lambda: names(app) == LAB_NAMES, "lab VMs only")


async def test_state_filter_cycles() -> None:
    async with running(LAB) as (app, pilot):
        seen = {}
        for _ in range(5):
            await pilot.press("f")
            seen[table(app).state_filter] = names(app)
        assert seen == {
            "running": ["web01", "web02"],
            "shut off": ["build01", "db01"],
            "paused": ["cache01"],
            "other": ["mail01"],
            "all": LAB_NAMES,
        }
        assert "state: all" in str(app.dashboard.query_one("#view", Static).render())


async def test_state_filter_follows_updates() -> None:
    async with running(LAB) as (app, pilot):
        await pilot.press("f")  # running only
        select(app, "web01")
        await pilot.press("p")
        await until(pilot, lambda: names(app) == ["web02"], "paused VM hidden")
        assert table(app).vms[key_of(app, "web01")].state.word == "paused"


async def test_sort_cycles_and_reverses() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "db01")
        order = []
        while table(app).sort_column != "memory":
            await pilot.press("o")
            order.append(table(app).sort_column)
        assert order == ["host", "state", "vcpus", "memory"]
        assert names(app) == ["cache01", "mail01", "web02", "web01", "build01", "db01"]
        await pilot.press("O")
        assert names(app) == ["db01", "build01", "web01", "mail01", "web02", "cache01"]
        assert "sorted by memory, descending" in str(
            app.dashboard.query_one("#view", Static).render()
        )
        assert table(app).vm_at_cursor().name == "db01"  # type: ignore[union-attr]


async def test_clicking_a_header_sorts() -> None:
    async with running(LAB) as (app, pilot):
        t = table(app)
        # running() waited for the columns' final widths: the header is where x says.
        columns = list(t.columns.values())
        before = [c.key.value for c in columns].index("vcpus")
        x = sum(c.get_render_width(t) for c in columns[:before]) + 1  # the vCPUs header
        await pilot.click(VMTable, offset=(x, 0))
        await until(pilot, lambda: t.sort_column == "vcpus", "sorted by vCPUs")
        assert names(app)[-1] == "db01"
        await pilot.click(VMTable, offset=(x, 0))
        await until(pilot, lambda: t.sort_reverse, "reversed")
        assert names(app)[0] == "db01"


# -- connections ------------------------------------------------------------


async def test_add_a_connection() -> None:
    async with running(LAB) as (app, pilot):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddConnectionDialog), "dialog")
        app.screen.query_one("#uri", Input).value = ANNEX
        await pilot.press("enter")
        await until(pilot, lambda: len(table(app).vms) == 8, "annex VMs")
        assert app.hosts[ANNEX].label == "demo annex.xml"
        assert cell(app, "annex-app", "host") == "demo annex.xml"
        assert "2 hosts, 2 connected" in status(app)


async def test_added_and_removed_connections_are_remembered(tmp_path: Path) -> None:
    import stat

    from tvirt import config

    path = tmp_path / "tvirt" / "config.toml"
    app = TvirtApp(uris=[LAB], settings=config.Config(uris=[LAB], path=path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table(app).vms) == 6, "lab listed")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddConnectionDialog), "dialog")
        app.screen.query_one("#uri", Input).value = ANNEX
        await pilot.press("enter")
        await until(pilot, lambda: len(table(app).vms) == 8, "annex VMs")
        assert config.load(path).uris == [LAB, ANNEX]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert said(app, f"Saved the connection list to {path}.")
        select(app, "web01")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.press("y")
        await until(pilot, lambda: len(table(app).vms) == 2, "lab rows removed")
        assert config.load(path).uris == [ANNEX]


async def add_host(app: TvirtApp, pilot: Pilot[int], uri: str) -> None:
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, AddConnectionDialog), "dialog")
    app.screen.query_one("#uri", Input).value = uri
    await pilot.press("enter")
    await until(pilot, lambda: app.screen is app.dashboard, "dialog closed")


async def test_only_a_host_that_connected_is_saved_and_the_list_keeps_what_it_had(
    tmp_path: Path,
) -> None:
    """A session started with -c LAB and a config without URIs (which stands for the
    local libvirtd): a host that can never connect is refused and not saved; one that
    connects is saved after the local default, and the session's -c URI is not."""
    from tvirt import config

    path = tmp_path / "tvirt" / "config.toml"
    local = "qemu:///system"
    app = TvirtApp(uris=[LAB], settings=config.Config(path=path), default_uris=[local])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table(app).vms) == 6, "lab listed")
        await add_host(app, pilot, "xen:///system")
        await until(pilot, lambda: said(app, "Not added: localhost xen/system: "), "refusal")
        assert said(app, "No connection driver available for xen:///system")
        assert "xen:///system" not in app.hosts and "xen:///system" not in app.manager.workers
        assert not path.exists()
        await add_host(app, pilot, ANNEX)
        await until(pilot, lambda: path.exists(), "the config written")
        assert config.load(path).uris == [local, ANNEX]
        assert said(app, f"Saved the connection list to {path}.")


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("bogus", "'bogus' is not a libvirt URI"),
        ("qemu:///nowhere", "A qemu URI must end in /system or /session"),
        ("qemu+ssh://root:secret@example.com/system", "Passwords in URIs are refused"),
        ("", "The connection URI is empty."),
        (LAB, "is already connected"),
    ],
)
async def test_add_connection_refuses_bad_uris(text: str, sentence: str) -> None:
    async with running(LAB) as (app, pilot):
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddConnectionDialog), "dialog")
        app.screen.query_one("#uri", Input).value = text
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AddConnectionDialog)  # still open
        error = str(app.screen.query_one("#uri-error", Static).render())
        assert sentence in error
        assert error.startswith("Not added: ")
        assert list(app.manager.workers) == [LAB]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "dialog closed")
        assert list(app.hosts) == [LAB]


async def test_remove_a_connection() -> None:
    async with running(LAB, ANNEX, vms=8) as (app, pilot):
        select(app, "annex-app")
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        assert "demo annex.xml" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("y")
        await until(pilot, lambda: len(table(app).vms) == 6, "annex rows removed")
        assert names(app) == LAB_NAMES
        assert list(app.hosts) == [LAB]
        assert said(app, "Removed the connection to demo annex.xml.")
        await until(pilot, lambda: ANNEX not in app.manager.workers, "worker stopped")


async def test_remove_connection_cancelled() -> None:
    async with running(LAB) as (app, pilot):
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        await pilot.press("n")
        await until(pilot, lambda: said(app, "Cancelled: kept the connection"), "cancel")
        assert list(app.hosts) == [LAB]
        assert len(names(app)) == 6


# -- help and the command palette ---------------------------------------------


async def test_help_lists_every_key() -> None:
    async with running(LAB) as (app, pilot):
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        text = str(app.screen.query_one("#help-text", Static).render())
        for key in all_keys():
            assert f"{display(key.key)}  " in text, key
            assert key.description in text, key
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "help closed")


async def test_command_palette_runs_an_action() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("ctrl+p")
        await pilot.press(*"Pause")
        await until(
            pilot,
            lambda: any("Pause" in str(o.prompt) for o in app.screen.query_one(
                "CommandList").options),  # type: ignore[attr-defined]
            "a Pause hit",
        )
        await pilot.press("enter")
        await state_becomes(pilot, app, "web01", "paused")


async def test_command_palette_offers_every_dashboard_action() -> None:
    from tvirt.screens.commands import offered_keys

    offered = {k.action for k in offered_keys()}
    dashboard = {k.action for k in all_keys() if k.where in ("dashboard", "everywhere")}
    assert dashboard - offered == {"command_palette"}
    assert offered <= dashboard


# -- bad input never shows a traceback -----------------------------------------


async def test_bad_uris_become_sentences_and_the_app_stays_responsive() -> None:
    ssh = "qemu+ssh://root@nonexistent.invalid/system"
    async with running("not a uri", ssh, LAB) as (app, pilot):
        bad = app.hosts["not a uri"]
        assert bad.state is HostState.FAILED
        assert "spaces or control characters" in bad.error
        ssh_id = f"{ssh}?no_tty=1"
        await until(pilot, lambda: app.hosts[ssh_id].error != "", "ssh failure", timeout=30)
        remote = app.hosts[ssh_id]
        assert remote.state in (HostState.DISCONNECTED, HostState.FAILED)
        assert "Traceback" not in remote.error
        prompt = str(app.dashboard.host_list.get_option(ssh_id).prompt)
        assert remote.state.word in prompt
        assert remote.error in prompt
        assert "1 failed" in status(app)
        # Still answering keys.
        await pilot.press("f")
        assert table(app).state_filter == "running"
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")


async def test_no_color_still_says_everything_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    async with running(LAB) as (app, pilot):
        assert app.no_color
        select(app, "web01")
        await pilot.press("space")
        screen = html.unescape(app.export_screenshot()).replace("\xa0", " ")
        for word in ("marked", "running", "shut off", "paused", "crashed", "connected"):
            assert word in screen


# -- updates in place ---------------------------------------------------------


async def test_cursor_follows_the_vm_when_an_update_moves_it() -> None:
    async with running(LAB) as (app, pilot):
        table(app).sort_by("state")
        select(app, "db01")
        before = table(app).get_row_index(key_of(app, "db01"))
        await pilot.press("s")
        await state_becomes(pilot, app, "db01", "running")
        assert table(app).get_row_index(key_of(app, "db01")) != before  # moved group
        assert table(app).vm_at_cursor().name == "db01"  # type: ignore[union-attr]


@pytest.mark.real
async def test_a_relisting_adds_updates_and_drops_rows_of_that_host_only(
    testbed: Testbed, tmp_path: Path
) -> None:
    from test_faults import _ssh_children

    # A relisting is what a reconnect does. The lab is served over ssh by the test bed's
    # libvirtd, which reads the node file again on each connection: the test edits the
    # file, then kills the ssh client libvirt spawned (a real drop of this connection
    # only), and the worker reconnects and lists the edited host.
    node = tmp_path / "lab.xml"
    text = (FIXTURES / "lab.xml").read_text()
    node.write_text(text)
    async with running(f"test+ssh://root@127.0.0.1:{testbed.ssh_port}{node}", ANNEX,
                       vms=8) as (app, pilot):
        assert "build01" in names(app) and cell(app, "web01", "state") == "running"
        test_ns = "xmlns:test='http://libvirt.org/schemas/domain/test/1.0'"
        text = re.sub(r"\s*<domain[^>]*>\s*<name>build01</name>.*?</domain>", "", text,
                      count=1, flags=re.S)
        text = re.sub(r"<domain type='test'>(\s*<name>web01</name>.*?)</domain>",
                      rf"<domain type='test' {test_ns}>\1<test:runstate>3</test:runstate>"
                      "</domain>", text, count=1, flags=re.S)
        text = text.replace("</node>", (
            "<domain type='test'><name>new01</name>"
            "<uuid>00000000-0000-4000-8000-000000000099</uuid><memory>65536</memory>"
            "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain></node>"))
        node.write_text(text)
        (ssh,) = _ssh_children()
        ssh.kill()
        await until(pilot, lambda: "new01" in names(app), "the new row", timeout=60)
        assert "build01" not in names(app)
        assert cell(app, "web01", "state") == "paused"
        assert "annex-app" in names(app)
        assert len(names(app)) == 8


async def test_unread_details_say_reading_until_filled_and_removed_rows_stay_gone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tvirt import domains

    # The app lists a host first and reads vCPUs and memory after, one domain per fill
    # job here. A local host fills in milliseconds, too fast to look at "reading": the
    # gate holds the first (real) fill until the test has looked, and lets mail01 be
    # undefined for real between the listing and the fill.
    monkeypatch.setattr("tvirt.host.FILL_SLICE", 0.0)
    gate = threading.Event()
    real_fill = domains.fill_details

    def gated_fill(pending: Any, budget: float, at_once: int = 1) -> Any:
        gate.wait(30)
        return real_fill(pending, budget, at_once)

    monkeypatch.setattr(domains, "fill_details", gated_fill)

    def undefine(conn: Any) -> None:
        dom = conn.lookupByName("mail01")
        if dom.isActive():
            dom.destroy()
        dom.undefine()

    app = TvirtApp(uris=[LAB])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(table(app).vms) == 6, "the listing")
        assert cell(app, "db01", "memory") == "reading"
        assert cell(app, "db01", "vcpus") == "reading"
        await pilot.pause()  # the status line follows once the queued updates are handled
        assert "reading vCPUs and memory, 0 of 6" in status(app)
        undefined = app.manager.get(LAB).call(undefine)  # queued behind the held fill
        gate.set()
        await until(pilot, undefined.done, "mail01 undefined")
        assert undefined.exception() is None
        await until(pilot, lambda: "reading" not in status(app), "every detail read")
        assert cell(app, "db01", "memory") == "8 GiB"
        assert cell(app, "cache01", "memory") == "512 MiB"
        assert "mail01" not in names(app) and len(names(app)) == 5


async def test_narrower_cell_updates_never_remeasure_the_whole_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DataTable re-measures every cell of a column when an update makes a cell narrower
    (update_width=True); on a 1000-VM table that made filling details cost ~50 s of UI
    time. Columns here only grow, so that path must never run."""
    from dataclasses import replace

    from tvirt.screens.messages import DomainChanged, DomainsDetailed

    async with running(LAB) as (app, pilot):
        t = table(app)
        columns_read: list[object] = []
        original = t.get_column
        monkeypatch.setattr(
            t, "get_column", lambda key: columns_read.append(key) or original(key)
        )
        db01 = next(vm for vm in t.vms.values() if vm.name == "db01")
        app.post_message(DomainsDetailed(LAB, (replace(db01, memory_kib=1024),)))
        await until(pilot, lambda: cell(app, "db01", "memory") == "1 MiB", "narrower memory")
        app.post_message(DomainChanged(replace(db01, name="d", memory_kib=1024)))
        await until(pilot, lambda: "d" in names(app), "a narrower name")
        assert columns_read == []


async def test_a_failed_action_is_a_sentence() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "mail01")  # crashed counts as active in the test driver
        await pilot.press("s")
        await until(pilot, lambda: said(app, "Could not start mail01 on demo lab.xml"), "error")
        log = "\n".join(app.dashboard.query_one("#log").lines)  # type: ignore[attr-defined]
        assert "Error: Could not start mail01" in log
        assert "Traceback" not in log


def test_run_app_reports_a_bad_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tvirt.screens.app import run_app

    bad = tmp_path / "config.toml"
    bad.write_text("this is [not toml")
    monkeypatch.setenv("TVIRT_CONFIG", str(bad))
    assert run_app(connect=[], readonly=False) == 2
    err = capsys.readouterr().err
    assert err.startswith("tvirt: The config file")
    assert "Traceback" not in err


async def test_x_in_the_host_list_removes_the_highlighted_host() -> None:
    async with running(LAB, ANNEX, vms=8) as (app, pilot):
        assert isinstance(app.focused, VMTable)
        await pilot.press("tab")
        assert not isinstance(app.focused, VMTable)  # tab moves between panes
        hosts = app.dashboard.host_list
        hosts.focus()
        hosts.select_host(ANNEX)
        await pilot.press("X")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "dialog")
        assert "demo annex.xml" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("y")
        await until(pilot, lambda: list(app.hosts) == [LAB], "annex removed")
        assert hosts.option_count == 1


async def test_many_vms_load_and_filter_without_stalling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table's own work is counted, not timed: each row is added once (the listing's
    rows in one batch, Table.add_rows_at_once) and never rebuilt, each VM's two detail
    cells are written once, and the rows are sorted once per listing, label or key
    press, never per update."""
    calls: Counter[str] = Counter()
    # A cell is written by update_cell, or by set_cell_line when its column keeps its
    # width (only the row's line is drawn): both count as one cell write.
    for method, name in (("add_row", "add_row"), ("update_cell", "update_cell"),
                         ("set_cell_line", "update_cell"), ("sort", "sort"),
                         ("clear", "clear")):
        real = getattr(VMTable, method)

        def counted(self: VMTable, *args: Any, _real: Any = real, _name: str = name,
                    **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(VMTable, method, counted)
    real_bulk = VMTable.add_rows_at_once

    def bulk(self: VMTable, rows: Any) -> int:
        rows = list(rows)
        if rows:  # a row added at once counts as an add_row; the batch is counted too
            calls["add_row"] += len(rows)
            calls["batch"] += 1
        return real_bulk(self, rows)

    monkeypatch.setattr(VMTable, "add_rows_at_once", bulk)
    domains = "".join(
        "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        f"<name>vm{i:04d}</name><uuid>00000000-0000-4000-8000-{i:012d}</uuid>"
        "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
        f"<test:runstate>{1 if i % 2 else 5}</test:runstate></domain>"
        for i in range(400)
    )
    node = tmp_path / "big.xml"
    node.write_text(
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
        f"<mhz>2000</mhz></cpu><memory>8388608</memory>{domains}</node>"
    )
    async with running(f"test://{node}", vms=400) as (app, pilot):
        # The listing sorts once and the host's label once, or both together when they
        # arrive in one turn of the queue (VMTable.sort_soon); details never move a row.
        sorts = calls.pop("sort", 0)
        assert calls == Counter(add_row=400, batch=1, update_cell=2 * 400), calls
        assert 1 <= sorts <= 2, sorts
        calls.clear()
        await pilot.press("f")  # running only
        assert len(names(app)) == 200
        await pilot.press("o", "O")
        assert table(app).row_count == 200
        assert calls == Counter(sort=3), calls  # rows were only removed, never re-added


async def test_a_row_chosen_while_a_sort_waits_keeps_the_cursor() -> None:
    """The table sorts once per burst of updates (VMTable.sort_soon). A row the user picks
    between the burst and its sort is the row the cursor stays on afterwards."""
    async with running(LAB) as (app, pilot):
        vms = table(app)
        first = names(app)[0]
        select(app, first)
        vms.sort_soon()  # a burst arrives with the cursor on the first row
        chosen = names(app)[-1]
        select(app, chosen)  # the user moves before the sort runs
        await pilot.pause()
        current = vms.vm_at_cursor()
        assert current is not None and current.name == chosen


async def test_detail_batches_from_several_hosts_sort_the_table_once() -> None:
    """At fifty hosts, details come in one batch per host; sorted by memory, each batch
    sorted all rows again. They now share one sort, and the order is still right."""
    from dataclasses import replace

    from tvirt.screens.messages import DomainsDetailed

    async with running(LAB) as (app, pilot):
        t = table(app)
        t.sort_by("memory")
        await pilot.pause()
        sorts: list[int] = []
        original = t._sort

        def counted() -> None:
            sorts.append(1)
            original()

        t._sort = counted  # type: ignore[method-assign]
        db01 = next(vm for vm in t.vms.values() if vm.name == "db01")
        web01 = next(vm for vm in t.vms.values() if vm.name == "web01")
        app.post_message(DomainsDetailed(LAB, (replace(db01, memory_kib=1),)))
        app.post_message(DomainsDetailed(LAB, (replace(web01, memory_kib=2),)))
        await until(pilot, lambda: names(app)[:2] == ["db01", "web01"], "both sorted first")
        assert len(sorts) == 1
