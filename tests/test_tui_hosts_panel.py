"""The Hosts panel at many hosts (issue 20): a filter (/ in the panel) and folding (z),
keyboard only. Twelve test-driver node files and one URI whose file does not exist, so
one host is never connected."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from tui_helpers import settled
from tvirt.keys import HOSTS_KEYS, all_keys
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.help import help_lines
from tvirt.screens.host_list import COMPACT_ABOVE, FOLDED_ID, HostFilter, HostList
from tvirt.screens.vm_table import VMTable

FIXTURES = Path(__file__).parent / "fixtures"
HOSTS = COMPACT_ABOVE + 4
LAB_VMS = 6


def _uris(tmp_path: Path) -> list[str]:
    uris = []
    for i in range(HOSTS):
        node = tmp_path / f"rack{i:02d}" / "lab.xml"
        node.parent.mkdir()
        shutil.copy(FIXTURES / "lab.xml", node)
        uris.append(f"test://{node}")
    return uris


async def tab_to(pilot: Pilot[None], panel: HostList) -> None:
    """Tab round the dashboard's panes until the Hosts panel has the focus."""
    for _ in range(5):
        if panel.has_focus:
            return
        await pilot.press("tab")
    assert panel.has_focus


def shown(panel: HostList) -> list[str]:
    return [panel.get_option_at_index(i).id or "" for i in range(panel.option_count)]


async def test_hosts_panel_filters_and_folds_by_keys(tmp_path: Path) -> None:
    uris = _uris(tmp_path)
    missing = f"test://{tmp_path / 'gone' / 'lab.xml'}"  # never connects
    app = TvirtApp(uris=[*uris, missing], stats=False)
    async with app.run_test(size=(120, 40)) as pilot:
        panel = app.dashboard.host_list

        def all_in() -> bool:
            hosts = app.hosts
            return (all(hosts.get(u) and hosts[u].state is HostState.CONNECTED for u in uris)
                    and missing in hosts and hosts[missing].state is not HostState.CONNECTED
                    and app.dashboard.table.row_count == HOSTS * LAB_VMS)

        await settled(pilot, all_in, "every host listed, the missing one not connected")
        await tab_to(pilot, panel)
        assert shown(panel) == [*uris, missing]

        # z: the host that is not connected first, the twelve connected ones folded.
        await pilot.press("z")
        assert shown(panel) == [missing, FOLDED_ID]
        summary = str(panel.get_option(FOLDED_ID).prompt)
        assert summary.startswith(f"{HOSTS} connected hosts, {HOSTS * LAB_VMS} VMs")
        assert panel.selected_host_id() == missing
        title = str(app.dashboard.query_one("#hosts-pane").border_title)
        assert title == f"Hosts, 1 of {HOSTS + 1} (connected folded)"
        # Enter on the summary line unfolds.
        await pilot.press("down", "enter")
        assert shown(panel) == [*uris, missing]
        await pilot.press("z")
        assert shown(panel) == [missing, FOLDED_ID]
        await pilot.press("z")
        assert shown(panel) == [*uris, missing]

        # /: the filter appears and narrows as it is typed; Enter keeps it.
        box = app.dashboard.query_one(HostFilter)
        assert not box.display
        await pilot.press("slash")
        assert box.display and box.has_focus
        await pilot.press(*"rack03")
        await settled(pilot, lambda: shown(panel) == [uris[3]], "one host left")
        await pilot.press("enter")
        assert panel.has_focus and box.display
        assert panel.selected_host_id() == uris[3]
        # The state word is searched too.
        box.value = "connecting" if app.hosts[missing].state is HostState.CONNECTING else (
            app.hosts[missing].state.word)
        await settled(pilot, lambda: shown(panel) == [missing], "the missing host by state")

        # Escape clears the filter and the folding; a second Escape leaves the panel.
        await pilot.press("z")
        await pilot.press("escape")
        await settled(pilot, lambda: shown(panel) == [*uris, missing], "every host again")
        assert not box.display and box.value == ""
        assert app.dashboard.query_one("#hosts-pane").border_title == "Hosts"
        await pilot.press("escape")
        assert app.dashboard.query_one(VMTable).has_focus

        # Escape in the filter box clears it too.
        await tab_to(pilot, panel)
        await pilot.press("slash", *"rack1")
        await settled(pilot, lambda: shown(panel) == uris[10:], "two hosts left")
        await pilot.press("escape")
        await settled(pilot, lambda: shown(panel) == [*uris, missing], "every host back")
        assert panel.has_focus and not box.display
        assert isinstance(box, Input)


def test_help_lists_the_hosts_panel_keys() -> None:
    assert set(HOSTS_KEYS) <= set(all_keys())
    lines = "\n".join(help_lines(all_keys()))
    assert "In the Hosts panel" in lines
    for key in HOSTS_KEYS:
        assert key.description in lines
