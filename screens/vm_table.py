"""The VM table: every VM of every host, updated in place, filtered and sorted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from textual.widgets import DataTable

from tvirt.model import VMInfo

from .words import STATE_FILTERS, memory, on_off, state_group

# (key, header, noun used in sentences)
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("mark", "Mark", "mark"),
    ("name", "Name", "name"),
    ("host", "Host", "host"),
    ("state", "State", "state"),
    ("vcpus", "vCPUs", "vCPUs"),
    ("memory", "Memory", "memory"),
    ("autostart", "Autostart", "autostart"),
)
COLUMN_NOUNS = {key: noun for key, _header, noun in COLUMNS}
SORT_ORDER: tuple[str, ...] = tuple(key for key, _header, _noun in COLUMNS if key != "mark")
MARKED = "marked"


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


def _cells(vm: VMInfo, host_label: str, marked: bool) -> dict[str, Cell]:
    group = state_group(vm.state)
    return {
        "mark": Cell(MARKED if marked else "", (0 if marked else 1,)),
        "name": Cell(vm.name, (vm.name.lower(), vm.name)),
        "host": Cell(host_label, (host_label.lower(),)),
        "state": Cell(vm.state.word, (STATE_FILTERS.index(group), vm.state.word)),
        "vcpus": Cell(str(vm.vcpus), (vm.vcpus,)),
        "memory": Cell(memory(vm.memory_kib), (vm.memory_kib,)),
        "autostart": Cell(on_off(vm.autostart), (0 if vm.autostart else 1,)),
    }


class VMTable(DataTable[Cell]):
    """Rows are keyed by VMInfo.key. Updates change cells in place; the table is
    never cleared. Rows hidden by a filter are removed and re-added when it changes,
    since DataTable cannot hide a row."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.vms: dict[str, VMInfo] = {}
        self.labels: dict[str, str] = {}
        self.marks: set[str] = set()
        self.text_filter = ""
        self.state_filter = STATE_FILTERS[0]
        self.sort_column = "name"
        self.sort_reverse = False

    def on_mount(self) -> None:
        for key, header, _noun in COLUMNS:
            self.add_column(header, key=key)

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
        with self._cursor_kept():
            for vm in self._vms_of(host_id):
                self._sync(vm)
            self._sort()

    def replace_host(self, host_id: str, vms: Iterable[VMInfo]) -> None:
        """A host's full list: add new rows, update known ones, drop vanished ones."""
        fresh = {vm.key: vm for vm in vms}
        with self._cursor_kept():
            for vm in self._vms_of(host_id):
                if vm.key not in fresh:
                    self._forget(vm.key)
            for vm in fresh.values():
                self.vms[vm.key] = vm
                self._sync(vm)
            self._sort()

    def upsert(self, vm: VMInfo) -> None:
        with self._cursor_kept():
            self.vms[vm.key] = vm
            self._sync(vm)
            self._sort()

    def remove_vm(self, key: str) -> None:
        with self._cursor_kept():
            self._forget(key)

    def remove_host(self, host_id: str) -> None:
        with self._cursor_kept():
            for vm in self._vms_of(host_id):
                self._forget(vm.key)
            self.labels.pop(host_id, None)

    # -- marks, filters and sorting ------------------------------------------
    def toggle_mark(self) -> VMInfo | None:
        vm = self.vm_at_cursor()
        if vm is None:
            return None
        self.marks.symmetric_difference_update({vm.key})
        self._sync(vm)
        return vm

    def clear_marks(self) -> int:
        count = len(self.marks)
        keys, self.marks = self.marks, set()
        for key in keys:
            if key in self.vms:
                self._sync(self.vms[key])
        return count

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
        self.sort_column = column if column in COLUMN_NOUNS else "name"
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

    def _sync(self, vm: VMInfo) -> None:
        """Show, update in place, or hide one VM's row to match its record and filters."""
        if not self._matches(vm):
            if vm.key in self.rows:
                self.remove_row(vm.key)
            return
        cells = _cells(vm, self.labels.get(vm.host_id, vm.host_id), vm.key in self.marks)
        if vm.key not in self.rows:
            self.add_row(*(cells[key] for key, _h, _n in COLUMNS), key=vm.key)
            return
        for column, cell in cells.items():
            if self.get_cell(vm.key, column) != cell:
                self.update_cell(vm.key, column, cell, update_width=True)

    def _forget(self, key: str) -> None:
        self.vms.pop(key, None)
        self.marks.discard(key)
        if key in self.rows:
            self.remove_row(key)

    def _refilter(self) -> None:
        with self._cursor_kept():
            for vm in self.vms.values():
                self._sync(vm)
            self._sort()

    def _sort(self) -> None:
        def order(values: tuple[Cell, Cell, Cell]) -> tuple[object, ...]:
            first, name, host = values
            # Only the chosen column reverses; ties stay in name order either way.
            primary = _Descending(first.order) if self.sort_reverse else first.order
            return (primary, name.order, host.order)

        self.sort(self.sort_column, "name", "host", key=order)

    @contextmanager
    def _cursor_kept(self) -> Iterator[None]:
        """Keep the cursor on the same VM while rows come, go and move."""
        before = self.vm_at_cursor()
        row = self.cursor_row
        yield
        if before is not None and before.key in self.rows:
            index = self.get_row_index(before.key)
            if index != self.cursor_row:
                self.move_cursor(row=index)
        elif self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))
