"""What the dashboard draws when little changes (issue 20: fifty hosts in a real terminal).

A VM detail read late (a slow host reads vCPUs and memory for minutes) redraws only its
own row's line, and nothing when that row is out of view; the status and sort lines are
not drawn again for the same text, nor laid out again for a text of the same height; a
compact Hosts panel entry draws only its own line, and only when its shown part changes.
Counted on the widgets' refresh and update calls, never timed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tui_helpers import settled
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.host_list import COMPACT_ABOVE, HostList
from tvirt.screens.steady_static import SteadyStatic
from tvirt.screens.vm_table import VMTable

VMS = 120  # far more rows than the 40-line screen shows


def _node(tmp_path: Path) -> str:
    domains = "".join(
        "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
        f"<name>vm{i:04d}</name><uuid>00000000-0000-4000-8000-{i:012d}</uuid>"
        "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os>"
        "<test:runstate>5</test:runstate></domain>"
        for i in range(VMS)
    )
    node = tmp_path / "rows.xml"
    node.write_text(
        "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads>"
        f"<mhz>2000</mhz></cpu><memory>8388608</memory>{domains}</node>"
    )
    return f"test://{node}"


@asynccontextmanager
async def running(tmp_path: Path) -> AsyncIterator[tuple[TvirtApp, Pilot[int]]]:
    app = TvirtApp(uris=[_node(tmp_path)])
    async with app.run_test(size=(120, 40)) as pilot:
        vms = app.dashboard.table
        await settled(
            pilot,
            lambda: len(vms.vms) == VMS and all(vm.vcpus is not None for vm in vms.vms.values()),
            f"{VMS} VMs listed and read",
        )
        yield app, pilot


def _refreshes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every VMTable.refresh call from now on, by its region arguments."""
    calls: list[tuple[Any, ...]] = []
    real = VMTable.refresh

    def counted(self: VMTable, *regions: Any, **kwargs: Any) -> Any:
        calls.append(regions)
        return real(self, *regions, **kwargs)

    monkeypatch.setattr(VMTable, "refresh", counted)
    return calls


def _with_more_vcpus(table: VMTable, name: str) -> str:
    """A detail record for VM `name` with one vCPU more, given to the table."""
    vm = next(vm for vm in table.vms.values() if vm.name == name)
    assert vm.vcpus is not None
    table.update_known([replace(vm, vcpus=vm.vcpus + 1)])
    return vm.key


async def test_a_detail_out_of_view_draws_nothing_and_one_in_view_only_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(tmp_path) as (app, pilot):
        table = app.dashboard.table
        calls = _refreshes(monkeypatch)
        last = f"vm{VMS - 1:04d}"  # sorted by name: the last row, far below the view
        key = _with_more_vcpus(table, last)
        assert str(table.get_cell(key, "vcpus")).strip() == "2"
        assert calls == []  # before: update_cell refreshed the whole table

        first = "vm0000"  # the first row, in view under the header
        key = _with_more_vcpus(table, first)
        assert str(table.get_cell(key, "vcpus")).strip() == "2"
        assert len(calls) == 1 and len(calls[0]) == 1, calls
        region = calls[0][0]
        assert (region.y, region.height) == (table.header_lines(), 1)
        await pilot.pause()
        assert "2" in str(table.render_line(table.header_lines()).text).split("vm0000")[1]


async def test_the_status_line_is_not_updated_again_for_the_same_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(tmp_path) as (app, pilot):
        status = app.dashboard.query_one("#status", SteadyStatic)
        view = app.dashboard.query_one("#view", SteadyStatic)
        updates: list[tuple[str | None, bool]] = []
        real = SteadyStatic.update

        def counted(self: SteadyStatic, content: Any = "", *, layout: bool = True) -> None:
            updates.append((self.id, layout))
            real(self, content, layout=layout)

        monkeypatch.setattr(SteadyStatic, "update", counted)
        app.dashboard.refresh_status()
        await pilot.pause()
        assert updates == []  # nothing changed: neither line is drawn or laid out again

        shown = status.shown
        assert shown is not None and view.shown is not None
        assert status.show(shown[:-1] + "!")  # as long, so as many lines: no layout
        assert status.show(shown + " more" * 60)  # two lines longer: laid out
        assert not status.show(shown + " more" * 60)
        assert updates == [("status", False), ("status", True)]


async def test_a_compact_host_entry_draws_only_what_the_panel_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above COMPACT_ABOVE hosts each entry is one line cut by an ellipsis: a tick whose
    CPU figure falls in the cut part draws nothing, a visible change only its line."""
    uris = []
    for i in range(COMPACT_ABOVE + 1):
        node = tmp_path / f"host{i}-with-a-name-longer-than-the-hosts-panel.xml"
        node.write_text(
            "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores>"
            "<threads>1</threads><mhz>2000</mhz></cpu><memory>8388608</memory></node>"
        )
        uris.append(f"test://{node}")
    app = TvirtApp(uris=uris)
    async with app.run_test(size=(120, 40)) as pilot:
        hosts = app.dashboard.host_list
        await settled(pilot, lambda: len(hosts._hosts) == len(uris) and all(
            h.state is HostState.CONNECTED for h in hosts._hosts.values()), "hosts up")
        assert hosts.one_line
        calls: list[tuple[Any, ...]] = []
        real = HostList.refresh

        def counted(self: HostList, *regions: Any, **kwargs: Any) -> Any:
            calls.append(regions)
            return real(self, *regions, **kwargs)

        monkeypatch.setattr(HostList, "refresh", counted)
        last = uris[-1]
        hosts.show_stats(last, ("CPU 12.3%, memory 1 of 8 GiB",))
        assert "CPU 12.3%" in hosts.get_option(last).prompt.plain  # kept for a resize
        assert calls == []  # the figure is past the ellipsis: nothing drawn

        host = hosts._hosts[last]
        hosts.show_host(replace(host, label="short"))  # the start of the line changes
        index = hosts.get_option_index(last)
        assert len(calls) == 1 and len(calls[0]) == 1, calls
        assert (calls[0][0].y, calls[0][0].height) == (
            hosts._index_to_line[index] - hosts.scroll_offset.y, 1)
        await pilot.pause()
        assert str(hosts.render_line(calls[0][0].y).text).startswith("short")
