"""The full app against the real libvirtd and the real TCG guest, locally and over ssh."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui_dashboard import SIZE, cell, select, table

from conftest import Testbed, start_libvirtd, stop_libvirtd
from tui_helpers import until
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.help import HelpScreen

pytestmark = pytest.mark.real


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_start_and_force_off_the_real_guest(
    where: str, testbed: Testbed, guest: str
) -> None:
    uri = testbed.qemu_uri if where == "local" else testbed.ssh_uri
    app = TvirtApp(uris=[uri])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: any(vm.name == guest for vm in table(app).vms.values()),
                    "the guest listed", timeout=60)
        assert cell(app, guest, "state") == "shut off"
        select(app, guest)
        await pilot.press("s")
        await until(pilot, lambda: cell(app, guest, "state") == "running", "running", 60)
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: cell(app, guest, "state") == "shut off", "shut off", 60)
        # The worker re-reads the VM (the row above) before it reports the result.
        await until(pilot, lambda: any(f"Forced off {guest}" in sentence
                                       for sentence in app.messages), "the result", 30)


async def test_libvirtd_stops_under_the_app_and_comes_back(testbed: Testbed) -> None:
    app = TvirtApp(uris=[testbed.qemu_uri])
    pid: int | None = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            host = testbed.qemu_uri

            def host_state() -> HostState | None:
                info = app.hosts.get(host)
                return info.state if info else None

            await until(pilot, lambda: host_state() is HostState.CONNECTED, "connected", 60)
            pid = stop_libvirtd()
            await until(pilot, lambda: host_state() in (HostState.DISCONNECTED,
                                                        HostState.CONNECTING),
                        "disconnected", 30)
            prompt = str(app.dashboard.host_list.get_option(host).prompt)
            assert "disconnected" in prompt or "connecting" in prompt
            # Still responsive: the help screen opens and closes while the host is down.
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help to open")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help to close")
            start_libvirtd(pid)
            await until(pilot, lambda: host_state() is HostState.CONNECTED, "reconnected", 60)
            prompt = str(app.dashboard.host_list.get_option(host).prompt)
            assert "connected" in prompt and "disconnected" not in prompt
    finally:
        start_libvirtd(pid)  # leave one running for the tests after us


async def test_an_added_host_that_cannot_log_in_is_not_saved(
    testbed: Testbed, tmp_path: Path
) -> None:
    """ssh refuses the user: the host keeps retrying (keys may be fixed meanwhile) but the
    config is not touched until it connects once; removing it leaves the config alone."""
    from test_tui_dashboard import add_host, said

    from tvirt import config

    path = tmp_path / "config.toml"
    config.save(config.Config(uris=[testbed.qemu_uri]), path)
    before = path.read_bytes()
    app = TvirtApp(uris=[testbed.qemu_uri], settings=config.load(path))
    nobody = f"qemu+ssh://nobody@127.0.0.1:{testbed.ssh_port}/system?no_tty=1"
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.hosts.get(testbed.qemu_uri) is not None
                    and app.hosts[testbed.qemu_uri].state is HostState.CONNECTED,
                    "the local host", 60)
        await add_host(app, pilot, nobody)
        await until(pilot, lambda: said(app, "saved to the connection list only once it "
                                             "connects"), "the not-saved note", 60)
        assert said(app, "Permission denied by 127.0.0.1")
        assert app.hosts[nobody].state is not HostState.CONNECTED
        assert path.read_bytes() == before
        app.remove_connection(nobody)
        assert path.read_bytes() == before
