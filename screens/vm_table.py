"""The VM table: every VM of every host, updated in place, filtered and sorted."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.cells import cell_len
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, Row, RowKey

from tvirt.history import Metric, StatsHistory
from tvirt.model import VMInfo
from tvirt.stats import StatsSnapshot

from .sparkline import sparkline
from .table import Table
from .words import STATE_FILTERS, memory, on_off, percent, state_group

# (key, header, noun used in sentences). Name and state come first, so a narrow terminal
# (80 columns) still shows which VM is in which state; the mark is next, since marking
# must be visible where it is done. Wider terminals show the rest.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", "name"),
    ("state", "State", "state"),
    ("mark", "Mark", "mark"),
    ("host", "Host", "host"),
    ("vcpus", "vCPUs", "vCPUs"),
    ("memory", "Memory", "memory"),
    ("cpu", "CPU", "CPU use"),
    ("trend", "Trend", "CPU history"),
    ("autostart", "Autostart", "autostart"),
)
COLUMN_NOUNS = {key: noun for key, _header, noun in COLUMNS}
# Screen-reader mode reads a row in this order: name, state, host, then the rest; the
# mark last, and no sparkline (its blocks mean nothing read aloud).
SPOKEN_ORDER: tuple[str, ...] = (
    "name", "state", "host", "vcpus", "memory", "cpu", "autostart", "mark",
)
# What o cycles through. A sparkline has no useful order, and marks have their own key.
SORT_ORDER: tuple[str, ...] = ("name", "host", "state", "vcpus", "memory", "autostart", "cpu")
MARKED = "marked"
NOT_READ = "reading"  # vCPUs or memory not read yet: a word, not a blank
# Columns that show NOT_READ get a fixed width, so the table's layout is the same
# whether or not a "reading" cell was ever drawn (widths only grow).
FIXED_WIDTHS = {"vcpus": len(NOT_READ), "memory": len("1023.5 GiB")}
TREND_WIDTH = 8  # points of CPU history in the table: 16 s at the default 2 s interval


@dataclass(frozen=True)
class Cell:
    """A cell's text plus the value it sorts by ("8 GiB" sorts as 8388608 KiB).

    Not a str on purpose: DataTable would parse a str as markup, and a VM called
    "[red]x" must show exactly as named.
    """

    text: str
    order: tuple[int | str, ...]

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class _Descending:
    """Sorts its value backwards."""

    value: tuple[int | str, ...]

    def __lt__(self, other: _Descending) -> bool:
        return other.value < self.value


def cpu_cell(value: float | None) -> Cell:
    """'12.3%' or 'n/a'; unknown sorts after every number."""
    return Cell(percent(value), (0, round(value * 10)) if value is not None else (1, 0))


def trend_cell(values: list[float | None]) -> Cell:
    return Cell(sparkline(values, TREND_WIDTH, low=0.0, high=100.0), (0,))


NO_CPU = cpu_cell(None)
NO_TREND = trend_cell([])


def _cells(
    vm: VMInfo, host_label: str, marked: bool, stats: tuple[Cell, Cell] = (NO_CPU, NO_TREND)
) -> dict[str, Cell]:
    group = state_group(vm.state)
    return {
        "mark": Cell(MARKED if marked else "", (0 if marked else 1,)),
        "name": Cell(vm.name, (vm.name.lower(), vm.name)),
        "host": Cell(host_label, (host_label.lower(),)),
        "state": Cell(vm.state.word, (STATE_FILTERS.index(group), vm.state.word)),
        "vcpus": _detail_cell(vm.vcpus, str),
        "memory": _detail_cell(vm.memory_kib, memory),
        "autostart": Cell(on_off(vm.autostart), (0 if vm.autostart else 1,)),
        "cpu": stats[0],
        "trend": stats[1],
    }


def _detail_cell(value: int | None, show: Callable[[int], str]) -> Cell:
    """A number still being read shows as 'reading' and sorts before every number."""
    if value is None:
        return Cell(NOT_READ, (-1,))
    return Cell(show(value), (value,))


class VMTable(Table[Cell]):
    """Rows are keyed by VMInfo.key. Updates change cells in place; the table is
    never cleared. Rows hidden by a filter are removed and re-added when it changes,
    since DataTable cannot hide a row."""

    # Enter opens the VM details; a mouse click only moves the cursor.
    BINDINGS = [Binding("enter", "screen.vm_details", "Details", show=False)]

    # Screen-reader mode puts the terminal cursor on this column: the VM's name.
    text_column = 0
    one_line_rows = True  # rows come from add_row and add_rows_at_once, one line each

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.tooltip = "Virtual machines: one row per VM, with its state in words"
        self.vms: dict[str, VMInfo] = {}
        # The latest CPU cell of every VM with stats, kept for rows a filter hides too;
        # their CPU-history cell is drawn from `history` when the row comes back.
        self.cpu: dict[str, Cell] = {}
        # VMs that ever had a CPU figure here: only their trend cell can change. A set,
        # not StatsHistory.has_values: that takes the history's lock, which the hosts'
        # workers hold while they add a tick, 10000 times a tick round at fifty hosts.
        self.cpu_seen: set[str] = set()
        # VMs show_stats did per-VM work for, ever (tests count it: an unchanged tick of
        # VMs without CPU figures must add nothing).
        self.stats_visits = 0
        self.history: StatsHistory | None = None
        self.labels: dict[str, str] = {}
        self.marks: set[str] = set()
        self.text_filter = ""
        self.state_filter = STATE_FILTERS[0]
        self.sort_column = "name"
        self.sort_reverse = False
        self.shown: tuple[str, ...] = tuple(key for key, _h, _n in COLUMNS)
        # A sort asked for by a bulk update waits for the queue's next turn (sort_soon),
        # with the VM under the cursor and its row from before the update.
        self._sort_pending: tuple[VMInfo | None, int] | None = None
        # Screen-reader mode: the row under the cursor is not rewritten by a change nobody
        # asked for (the event log has it). Its key waits in `stale` until the cursor
        # leaves the row or the table, the dashboard shows again, or r re-reads it.
        # `asked`: VMs the user acted on, whose next change shows at once.
        self.stale: set[str] = set()
        self.asked: set[str] = set()
        # The same for a sort an unasked change would do that moves the cursor's row:
        # it waits (the changed rows show on their own lines) until the cursor moves.
        self.sort_held = False

    def on_mount(self) -> None:
        headers = {key: header for key, header, _noun in COLUMNS}
        if getattr(self.app, "screen_reader", False):
            # The header row is read on demand (F2, reader_header), not shown.
            self.shown = SPOKEN_ORDER
            self.show_header = False
        for key in self.shown:
            self.add_column(headers[key], key=key, width=FIXED_WIDTHS.get(key))

    def empty_words(self) -> str:
        if not self.vms:
            return "No VMs."
        return "No VM matches the filter: press / to change it, or f for the state filter."

    def reader_header(self) -> str:
        """F2 in screen-reader mode: the columns in the order a row is read, and the view."""
        headers = {key: header for key, header, _noun in COLUMNS}
        names = ", ".join(headers[key] for key in self.shown)
        return f"Columns: {names}. {self.describe_view().capitalize()}."

    # DataTable keys its row order and line offsets on _update_count, which every cell
    # update bumps: each frame after a tick or a detail update rebuilt both, O(rows), and
    # at 10000 rows that was most of the idle event loop's time. Rows here are all one
    # line high, and every change of order, adding or removing replaces _row_locations
    # or changes the row count (add_row), so those two decide whether the order holds.
    # The cache keeps the mapping object itself, so its id cannot be reused meanwhile.
    _order_cache: tuple[object, int, list[Row], list[tuple[RowKey, int]]] | None = None

    def _cached_order(self) -> tuple[list[Row], list[tuple[RowKey, int]]]:
        cached = self._order_cache
        if cached is not None and cached[0] is self._row_locations and (
            cached[1] == self.row_count
        ):
            return cached[2], cached[3]
        rows: list[Row] = super().ordered_rows
        offsets = [(row.key, 0) for row in rows]
        self._order_cache = (self._row_locations, self.row_count, rows, offsets)
        return rows, offsets

    @property
    def ordered_rows(self) -> list[Row]:
        return self._cached_order()[0]

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        return self._cached_order()[1]

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Widen columns for new rows by their cells' text, then let DataTable size the
        rest. Every cell here is a one-line Cell, so its width is cell_len of its text;
        DataTable measures each new cell through Rich, and a filter that brought 10000
        rows back spent seconds in it."""
        for row_key in new_rows:
            cells = self._data.get(row_key)
            if cells is None or row_key not in self._row_locations:
                continue  # removed before this idle
            for column in self.ordered_columns:
                cell = cells.get(column.key)
                if cell is not None:
                    column.content_width = max(column.content_width, cell_len(cell.text))
        super()._update_dimensions(())

    # -- what is selected ---------------------------------------------------
    def vm_at_cursor(self) -> VMInfo | None:
        if not self.row_count or not self.is_valid_row_index(self.cursor_row):
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.vms.get(key or "")

    def targets(self) -> list[VMInfo]:
        """The marked VMs in table order, or else the one under the cursor."""
        if self.marks:
            marked = [self.vms[key] for key in self.marks if key in self.vms]
            return sorted(marked, key=self._position)
        vm = self.vm_at_cursor()
        return [vm] if vm else []

    def visible_keys(self) -> list[str]:
        """Row keys in display order."""
        return [row.key.value or "" for row in self.ordered_rows]

    def _position(self, vm: VMInfo) -> tuple[int, str]:
        if vm.key in self.rows:
            return (self.get_row_index(vm.key), vm.key)
        return (len(self.vms), vm.key)

    # -- updates from hosts -------------------------------------------------
    def set_host_label(self, host_id: str, label: str) -> None:
        if self.labels.get(host_id) == label:
            return
        self.labels[host_id] = label
        self.sort_soon()
        with self._cursor_kept():
            for vm in self._vms_of(host_id):
                self._sync(vm)

    def replace_host(self, host_id: str, vms: Iterable[VMInfo]) -> None:
        """A host's full list: add new rows, update known ones, drop vanished ones."""
        fresh = {vm.key: vm for vm in vms}
        self.sort_soon()
        with self._cursor_kept():
            self._forget_all([vm.key for vm in self._vms_of(host_id) if vm.key not in fresh])
            new_rows: list[tuple[str, list[Cell]]] = []
            for vm in fresh.values():
                self.vms[vm.key] = vm
                self._sync(vm, new_rows)
            self.add_rows_at_once(new_rows)

    def upsert(self, vm: VMInfo) -> None:
        self._apply([vm])

    def update_known(self, vms: Iterable[VMInfo]) -> None:
        """New records for VMs already in the table; unknown keys are ignored, so a VM
        removed meanwhile stays removed. Batches of details come host after host: their
        sort waits for the queue's next turn (sort_soon), once for all of them."""
        self._apply([vm for vm in vms if vm.key in self.vms], soon=True)

    def _apply(self, vms: list[VMInfo], *, soon: bool = False, asked: bool = False) -> None:
        """Store and show records, then sort once, and only if the order can change:
        sorting every row is the costly part."""
        moved = False
        with self._cursor_kept():
            for vm in vms:
                self.vms[vm.key] = vm
                moved = self._sync(vm, asked=asked) or moved
            if moved and not soon:
                self._sort() if asked else self._sort_unasked()
        if moved and soon:
            self.sort_soon()  # the rows have not moved yet: the cursor's VM is recorded

    def move_vm(self, old_key: str, vm: VMInfo) -> None:
        """A VM that changed host (a migration): its row takes the new host's key and
        Host cell in the same frame, keeping its mark and, if it had it, the cursor."""
        follow = (at := self.vm_at_cursor()) is not None and at.key == old_key
        marked = old_key in self.marks
        with self._cursor_kept():
            self._forget(old_key)
            if marked:
                self.marks.add(vm.key)
            self.vms[vm.key] = vm
            self._sync(vm)
            self._sort()
        if follow and vm.key in self.rows:
            self.move_cursor(row=self.get_row_index(vm.key))

    def remove_vm(self, key: str) -> None:
        with self._cursor_kept():
            self._forget(key)

    def remove_host(self, host_id: str) -> None:
        with self._cursor_kept():
            self._forget_all([vm.key for vm in self._vms_of(host_id)])
            self.labels.pop(host_id, None)

    def show_stats(self, snap: StatsSnapshot, history: StatsHistory) -> int:
        """New CPU numbers for one host's VMs; returns how many cells changed.

        Only rows in the table (not hidden by a filter) are touched; a hidden VM's cells
        are computed when a filter change brings its row back.
        """
        changed = 0
        steady, prefix = snap.steady, f"{snap.host_id}/"
        for rates in snap.vms:
            key = prefix + rates.uuid
            if rates.uuid in steady and key not in self.cpu_seen:
                continue  # unchanged and never a figure: its cells are already right
            if key not in self.vms:
                continue
            self.stats_visits += 1
            value = rates.cpu_percent
            if value is None and key not in self.cpu_seen:
                # No CPU figure ever (a driver with state only: the test driver, or a VM
                # that is off): both cells stay as they are (an all-gaps trend draws as
                # the empty one). Checked first, since at fifty hosts drawing 10000
                # empty sparklines per tick round was most of the app's idle CPU.
                self.cpu[key] = NO_CPU
                continue
            self.cpu_seen.add(key)
            self.cpu[key] = cpu = cpu_cell(value)
            if key not in self.rows:
                continue  # filtered out: nothing to draw
            cells = (cpu, self._trend(key, history))
            for column, cell in zip(("cpu", "trend"), cells, strict=True):
                if column in self.shown and self.get_cell(key, column) != cell:
                    self._set_cell(key, column, cell)
                    changed += 1
        if changed and self.sort_column == "cpu":
            with self._cursor_kept():
                self._sort_unasked()
        return changed

    # -- marks, filters and sorting ------------------------------------------
    def toggle_mark(self) -> VMInfo | None:
        vm = self.vm_at_cursor()
        if vm is None:
            return None
        self.marks.symmetric_difference_update({vm.key})
        self._sync(vm, asked=True)
        return vm

    def clear_marks(self) -> int:
        count = len(self.marks)
        keys, self.marks = self.marks, set()
        for key in keys:
            if key in self.vms:
                self._sync(self.vms[key], asked=True)
        return count

    # -- screen-reader mode: the cursor's row keeps its words until asked ----
    def _held_key(self) -> str | None:
        """The row a change must not rewrite: the cursor's, while the table has the focus
        in screen-reader mode."""
        if not getattr(self.app, "screen_reader", False) or self.screen.focused is not self:
            return None
        if self._sort_pending is not None:
            return None  # rows are still coming in and moving (a listing): nothing to hold
        vm = self.vm_at_cursor()
        return vm.key if vm is not None else None

    def show_stale(self, *, every: bool = False) -> None:
        """Rows a change was held back from, now off the cursor (or all: `every`), and
        the sort held back."""
        if self.sort_held:
            self.sort_held = False
            with self._cursor_kept():
                self._sort()
        held = None if every else self._held_key()
        for key in [k for k in self.stale if k != held]:
            self.stale.discard(key)
            self.asked.discard(key)
            if key in self.vms:
                self._apply([self.vms[key]], asked=True)

    def reread(self) -> VMInfo | None:
        """r: the cursor's row shows its VM's record now."""
        vm = self.vm_at_cursor()
        if vm is not None:
            self.stale.discard(vm.key)
            self._apply([vm], asked=True)
            self.show_stale()  # and the sort held back
        return vm

    def on_data_table_row_highlighted(self) -> None:
        if self.stale or self.sort_held:
            self.call_later(self.show_stale)  # after the cursor has moved

    def on_blur(self) -> None:
        if self.stale or self.sort_held:
            self.show_stale(every=True)

    def set_text_filter(self, text: str) -> None:
        self.text_filter = text.strip().lower()
        self._refilter()

    def set_state_filter(self, name: str) -> None:
        self.state_filter = name if name in STATE_FILTERS else STATE_FILTERS[0]
        self._refilter()

    def cycle_state_filter(self) -> str:
        index = STATE_FILTERS.index(self.state_filter)
        self.set_state_filter(STATE_FILTERS[(index + 1) % len(STATE_FILTERS)])
        return self.state_filter

    def sort_by(self, column: str, reverse: bool = False) -> None:
        self.sort_column = column if column in SORT_ORDER else "name"
        self.sort_reverse = reverse
        with self._cursor_kept():
            self._sort()

    def cycle_sort(self) -> None:
        index = SORT_ORDER.index(self.sort_column) if self.sort_column in SORT_ORDER else -1
        self.sort_by(SORT_ORDER[(index + 1) % len(SORT_ORDER)], self.sort_reverse)

    def reverse_sort(self) -> None:
        self.sort_by(self.sort_column, not self.sort_reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        column = str(event.column_key.value)
        if column == self.sort_column:
            self.reverse_sort()
        else:
            self.sort_by(column)

    def describe_view(self) -> str:
        """The filter and sort in words, for the line above the table."""
        direction = "descending" if self.sort_reverse else "ascending"
        parts = [f"state: {self.state_filter}"]
        if self.text_filter:
            parts.append(f"text: {self.text_filter}")
        parts.append(f"sorted by {COLUMN_NOUNS[self.sort_column]}, {direction}")
        return "; ".join(parts)

    # -- internals ----------------------------------------------------------
    def _vms_of(self, host_id: str) -> list[VMInfo]:
        return [vm for vm in self.vms.values() if vm.host_id == host_id]

    def _matches(self, vm: VMInfo) -> bool:
        if self.state_filter != STATE_FILTERS[0] and state_group(vm.state) != self.state_filter:
            return False
        if not self.text_filter:
            return True
        label = self.labels.get(vm.host_id, vm.host_id)
        return self.text_filter in vm.name.lower() or self.text_filter in label.lower()

    def _sync(
        self, vm: VMInfo, new_rows: list[tuple[str, list[Cell]]] | None = None,
        *, asked: bool = False,
    ) -> bool:
        """Show, update in place, or hide one VM's row to match its record and filters.
        In screen-reader mode a change nobody asked for leaves the cursor's row as it is.

        Returns whether the rows' order may have changed: a row came, or a cell the
        sort reads (the sort column, name, host) changed. With `new_rows`, a row to add
        goes there instead, for the caller to add with the others (add_rows_at_once).
        """
        if not asked and vm.key in self.rows and vm.key == self._held_key():
            if vm.key in self.asked:
                self.asked.discard(vm.key)  # the change the user asked for: shown
            elif vm.key in self.stale or self._state_differs(vm):
                self.stale.add(vm.key)
                return False
        if not self._matches(vm):
            if vm.key in self.rows:
                self.remove_row(vm.key)
            return False
        trend = self._trend(vm.key, self.history)
        if trend != NO_TREND:
            self.cpu_seen.add(vm.key)  # a VM back under a new key, say: keep its trend moving
        cells = _cells(
            vm,
            self.labels.get(vm.host_id, vm.host_id),
            vm.key in self.marks,
            (self.cpu.get(vm.key, NO_CPU), trend),
        )
        if vm.key not in self.rows:
            row = [cells[key] for key in self.shown]
            if new_rows is None:
                self.add_row(*row, key=vm.key)
            else:
                new_rows.append((vm.key, row))
            return True
        moved = False
        for column in self.shown:
            cell = cells[column]
            if self.get_cell(vm.key, column) != cell:
                self._set_cell(vm.key, column, cell)
                moved = moved or column in (self.sort_column, "name", "host")
        return moved

    def _state_differs(self, vm: VMInfo) -> bool:
        """The row's state word is not the record's (or the row would leave the view).
        Other cells (vCPUs and memory read after the listing) are filled in as before."""
        return str(self.get_cell(vm.key, "state")) != vm.state.word or not self._matches(vm)

    def _set_cell(self, key: str, column: str, cell: Cell) -> None:
        """Update one cell; widen its column only when the text no longer fits.

        DataTable's update_width re-measures every cell of the column whenever the new
        text is narrower than the column: on a 1000-VM table that was 1000 measurements
        per updated cell, and filling vCPUs and memory spent ~50 s of the UI's time in it.
        Columns here only ever grow, so a narrower text needs no measuring at all.
        """
        current = self.columns.get(ColumnKey(column))
        grow = (
            column not in FIXED_WIDTHS
            and current is not None
            and cell_len(cell.text) > current.content_width
        )
        if not grow:
            # Only this row's line is drawn, and nothing when it is scrolled out of view:
            # update_cell redrew every visible row, so each VM detail a slow host read
            # for minutes sent the whole table to the terminal again. In screen-reader
            # mode the line under the cursor is not sent again either.
            self.set_cell_line(key, ColumnKey(column), cell)
            return
        self.update_cell(key, column, cell, update_width=grow)

    @staticmethod
    def _trend(key: str, history: StatsHistory | None) -> Cell:
        if history is None:
            return NO_TREND
        return trend_cell(history.vm_values(key, Metric.CPU, last=TREND_WIDTH))

    def _forget(self, key: str) -> None:
        self.stale.discard(key)
        self.vms.pop(key, None)
        self.cpu.pop(key, None)
        self.cpu_seen.discard(key)
        self.marks.discard(key)
        if key in self.rows:
            self.remove_row(key)

    def _forget_all(self, keys: list[str]) -> None:
        """_forget for many VMs, their rows removed in one pass (Table.remove_rows)."""
        for key in keys:
            self.vms.pop(key, None)
            self.cpu.pop(key, None)
            self.cpu_seen.discard(key)
            self.marks.discard(key)
        self.remove_rows(keys)

    def _refilter(self) -> None:
        with self._cursor_kept():
            # Rows the filter hides go in one pass; one by one it is quadratic.
            self.remove_rows([key for key, vm in self.vms.items() if not self._matches(vm)])
            new_rows: list[tuple[str, list[Cell]]] = []
            for vm in self.vms.values():
                self._sync(vm, new_rows, asked=True)
            self.add_rows_at_once(new_rows)
            self._sort()

    def sort_soon(self) -> None:
        """Sort once the messages already queued are handled: fifty hosts listing (or
        relabelled) at once sort the table once, not once per host. Sorting 10000 rows
        is the costly part of a listing. Called before the rows change: the cursor ends
        on the VM it was on then (or, on an empty table, on the first row)."""
        if self._sort_pending is None:
            self._sort_pending = (self.vm_at_cursor(), self.cursor_row)
            self.call_later(self._sort_now)

    def _sort_now(self) -> None:
        if self._sort_pending is None:
            return
        (before, row), self._sort_pending = self._sort_pending, None
        if self.cursor_row != row:
            # Moved meanwhile (a key, a click): the row chosen now is the one to keep.
            before, row = self.vm_at_cursor(), self.cursor_row
        self._sort()
        self._restore_cursor(before, row)

    def _order(self, values: tuple[Cell, Cell, Cell]) -> tuple[object, ...]:
        first, name, host = values
        # Only the chosen column reverses; ties stay in name order either way.
        primary = _Descending(first.order) if self.sort_reverse else first.order
        return (primary, name.order, host.order)

    def _sort(self) -> None:
        self.sort(self.sort_column, "name", "host", key=self._order)

    def _sort_unasked(self) -> None:
        """Sort after a change nobody asked for; in screen-reader mode, not while that
        would move the cursor's row (the terminal cursor and its line would move)."""
        held = self._held_key()
        if held is not None:
            def cells(key: RowKey) -> tuple[Cell, Cell, Cell]:
                return (self.get_cell(key, self.sort_column), self.get_cell(key, "name"),
                        self.get_cell(key, "host"))

            order = sorted(self.rows, key=lambda key: self._order(cells(key)))
            if order.index(RowKey(held)) != self.cursor_row:
                self.sort_held = True
                return
        self._sort()

    @contextmanager
    def _cursor_kept(self) -> Iterator[None]:
        """Keep the cursor on the same VM while rows come, go and move."""
        before = self.vm_at_cursor()
        row = self.cursor_row
        yield
        self._restore_cursor(before, row)

    def _restore_cursor(self, before: VMInfo | None, row: int) -> None:
        if before is not None and before.key in self.rows:
            index = self.get_row_index(before.key)
            if index != self.cursor_row:
                self.move_cursor(row=index)
        elif self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))
