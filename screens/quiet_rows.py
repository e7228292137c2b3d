"""Tables refreshed on a tick (the Gluster view, the cluster overview) in screen-reader
mode: a tick never rewrites the line under the cursor nor moves it.

A screen keeps the latest rows of each of its tables here. `show` takes a tick's rows and
returns what changed, as short phrases for the event log (the screen writes one sentence
of them). `apply` brings the tables to those rows except what would touch the cursor's
line: the focused table's cursor row, a cell that would widen a column of the focused
table (every row is redrawn then), and rows coming or going in the focused table or one
above it (the lines below would move). What is held back is shown once it no longer
touches that line: the screen calls `apply` again when the cursor or the focus moves, and
a refresh the user asked for (r) shows everything. A tick that changed nothing writes
nothing: only cells that differ are set, and in the focused table only their row's line
is redrawn (DataTable's update_cell redraws the whole table, the cursor's line too).
Outside screen-reader mode every change is shown at once, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.cells import cell_len
from textual.screen import Screen
from textual.widgets import DataTable

from .table import Table

Rows = Mapping[str, tuple[str, ...]]
MOST = 3  # changes named in one event-log sentence; the rest are counted


class QuietRows:
    def __init__(self, screen: Screen[Any], nouns: Mapping[str, str]) -> None:
        self.screen = screen
        self.nouns = dict(nouns)  # table id -> what a row is ("volume", "brick")
        self.latest: dict[str, dict[str, tuple[str, ...]]] = {}

    def show(self, rows: Mapping[str, Rows], *, asked: bool) -> tuple[list[str], bool]:
        """Take a tick's rows (by table id); returns what changed since the last one, and
        whether some of it is held back."""
        changes: list[str] = []
        for table_id, fresh in rows.items():
            before = self.latest.get(table_id)
            if before is not None:
                table = self.screen.query_one(f"#{table_id}", DataTable)
                labels = [str(c.label) for c in table.ordered_columns]
                changes += _changes(self.nouns[table_id], labels, before, fresh)
            self.latest[table_id] = dict(fresh)
        return changes, self.apply(asked=asked)

    def apply(self, *, asked: bool = False) -> bool:
        """Show the latest rows but what touches the cursor's line; returns whether
        anything is still held back."""
        tables = [self.screen.query_one(f"#{t}", DataTable) for t in self.latest]
        reader = getattr(self.screen.app, "screen_reader", False)
        focused = self.screen.focused
        at = tables.index(focused) if isinstance(focused, DataTable) and focused in tables else -1
        held = False
        for index, table in enumerate(tables):
            rows = self.latest[str(table.id)]
            if asked or not reader or index > at:
                sync_rows(table, rows)
            else:
                held = _sync_around(table, rows, cursor=index == at) or held
        return held


def sentence(subject: str, changes: list[str], held: bool) -> str:
    """One event-log sentence for a tick's changes."""
    named = "; ".join(changes[:MOST])
    more = f"; and {len(changes) - MOST} more" if len(changes) > MOST else ""
    wait = " The line under the cursor shows it when you move off it or press r." if held else ""
    return f"{subject}: {named}{more}.{wait}"


def _changes(noun: str, labels: list[str], before: Rows, after: Rows) -> list[str]:
    found: list[str] = []
    for key, cells in after.items():
        old = before.get(key)
        if old is None:
            found.append(f"{noun} {cells[0]} added")
            continue
        cells_changed = [
            f"{label} {was} -> {now}"
            for label, was, now in zip(labels, old, cells, strict=True)
            if was != now
        ]
        if cells_changed:
            found.append(f"{noun} {cells[0]}: {', '.join(cells_changed)}")
    found += [f"{noun} {cells[0]} gone" for key, cells in before.items() if key not in after]
    return found


def sync_rows(table: DataTable[Any], rows: Rows) -> None:
    """Update rows in place by key, add new ones, drop gone ones; never rebuild the table."""
    columns = [c.key for c in table.ordered_columns]
    for key in [str(k.value) for k in table.rows if str(k.value) not in rows]:
        table.remove_row(key)
    for key, cells in rows.items():
        if key in {str(k.value) for k in table.rows}:
            old = table.get_row(key)
            for column, before, after in zip(columns, old, cells, strict=True):
                if before != after:
                    table.update_cell(key, column, after, update_width=True)
        else:
            table.add_row(*cells, key=key)


def _sync_around(table: DataTable[Any], rows: Rows, *, cursor: bool) -> bool:
    """Cells of rows already shown, off the cursor's row; in the focused table (cursor)
    without widening a column, one line redrawn per row. Returns whether any change
    (a row coming or going, the cursor row, a wider cell) was held back."""
    shown = {str(k.value) for k in table.rows}
    held = shown != set(rows)
    under = None
    if cursor and table.row_count and table.is_valid_row_index(table.cursor_row):
        under = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
    columns = table.ordered_columns
    for key in shown & set(rows):
        old = table.get_row(key)
        changed = [(c, new) for c, was, new in zip(columns, old, rows[key], strict=True)
                   if was != new]
        if not changed:
            continue
        if key == under:
            held = True
            continue
        for column, new in changed:
            if not cursor:
                table.update_cell(key, column.key, new, update_width=True)
            elif cell_len(new) > column.content_width or not isinstance(table, Table):
                held = True
            else:
                table.set_cell_line(key, column.key, new)
    return held
