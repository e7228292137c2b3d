"""The app at 80x24: each VM's name and state first, header lines that fit, readable graph
axes. Snapshots at 80x24, plus the same facts checked in words, since a snapshot only says
that something changed.

Regenerate with `pytest tests/test_tui_layout.py --snapshot-update` and review them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from test_tui_snapshots import LAB, loaded
from test_tui_stats import WEB01, fixed_history
from textual.pilot import Pilot
from textual.widgets import Static

from tui_helpers import screen_text, table_settled, until
from tvirt.screens.app import TvirtApp
from tvirt.screens.vm_detail import GRAPHS, GraphPanel, VMDetailScreen

SMALL = (80, 24)
# (name, state) of the lab fixture, in the table's default order.
LAB_ROWS = [("build01", "shut off"), ("cache01", "paused"), ("db01", "shut off"),
            ("mail01", "crashed"), ("web01", "running"), ("web02", "running")]


async def details(pilot: Pilot[int]) -> VMDetailScreen:
    await loaded(pilot)
    app = pilot.app
    assert isinstance(app, TvirtApp)
    fixed_history(app)
    table = app.dashboard.table
    table.move_cursor(row=table.get_row_index(f"{LAB}/{WEB01}"))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, VMDetailScreen), "details")
    await pilot.pause()
    assert isinstance(app.screen, VMDetailScreen)
    return app.screen


def test_dashboard_80x24_snapshot(snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(TvirtApp(uris=[LAB], stats=False), terminal_size=SMALL,
                        run_before=loaded)


def test_details_80x24_snapshot(snap_compare: Callable[..., bool]) -> None:
    async def run(pilot: Pilot[int]) -> None:
        await details(pilot)

    assert snap_compare(TvirtApp(uris=[LAB], stats=False), terminal_size=SMALL, run_before=run)


def test_volume_wizard_80x24_snapshot(snap_compare: Callable[..., bool]) -> None:
    """A wizard taller than 24 lines scrolls; its buttons are not cut off."""
    from test_tui_storage import walk_to

    async def run(pilot: Pilot[int]) -> None:
        await walk_to(pilot, "n", "name")

    assert snap_compare(TvirtApp(uris=[LAB], stats=False), terminal_size=SMALL, run_before=run)


async def test_80x24_shows_every_name_with_its_state_and_whole_header_lines() -> None:
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SMALL) as pilot:
        await loaded(pilot)
        lines = screen_text(app)
        for name, state in LAB_ROWS:
            assert any(re.search(rf"\b{name}\s+{state}\b", line) for line in lines), (
                name, "\n".join(lines))
        # The filter and the view's words each on a line of their own, whole.
        filter_line = next(i for i, line in enumerate(lines) if "Filter by name or host" in line)
        assert "(press /)" in lines[filter_line]
        assert "state: all; sorted by name, ascending" in lines[filter_line + 1]
        # The counts line wraps rather than losing its end.
        assert any(line.strip().startswith("off.") or "stats off." in line for line in lines)


async def test_80x24_graphs_have_one_title_and_short_axis_labels() -> None:
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=SMALL) as pilot:
        screen = await details(pilot)
        scroll = screen.query_one("#graphs-scroll")
        assert app.focused is scroll  # arrows and PgUp/PgDn scroll the graphs at once
        for graph in GRAPHS:
            panel = screen.query_one(f"#graph-{graph.id}", GraphPanel)
            scroll.scroll_to_widget(panel, animate=False)
            await pilot.pause()
            region = panel.region
            text = [line[region.x:region.right] for line in
                    screen_text(app)[region.y:region.bottom]]
            title = str(panel.query_one(".graph-numbers", Static).render()).splitlines()[0]
            assert sum(line.count(title) for line in text) == 1, "\n".join(text)
            # The y axis: "0" at the bottom and the top with its unit; nothing run together.
            labels = [line.split("┤")[0].strip(" │") for line in text if "┤" in line]
            assert len(labels) == 2 and labels[1] == "0", labels
            assert re.fullmatch(r"\d+(\.\d+)? (%|B|KiB|MiB|GiB)(/s)?", labels[0]), labels
            assert any(" ago" in line and "now" in line for line in text), "\n".join(text)


async def test_a_name_drawn_before_its_column_widens_is_redrawn_whole() -> None:
    app = TvirtApp(uris=[LAB], stats=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await loaded(pilot)
        table = app.dashboard.table
        web01 = table.vms[f"{LAB}/{WEB01}"]
        # A VM record as a lifecycle event would bring it: a new, longer name.
        longer = replace(web01, uuid="00000000-0000-4000-8000-0000000000aa",
                         name="web-frontend-0001")
        table.upsert(longer)
        # Drawn at once, before DataTable measures the new row on its next idle: the cells
        # are cached at the old column width.
        table.render_lines(table.region.reset_offset)
        await until(pilot, lambda: table_settled(app), "the new widths")
        await pilot.pause()
        assert any("web-frontend-0001" in line for line in screen_text(app))
