"""The brick and volume wizard: mark three safe disks, set the volume's name, layout, arbiter
and pool, read every command of the plan and type the volume name, then watch each step.
A failed step stops the run; the screen lists what was done and what was not, and U undoes
what was made.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from tvirt import bricks, disks
from tvirt.keys import WIZARD_KEYS
from tvirt.ops import bricks as ops_bricks
from tvirt.ops.hostcmd import CommandHost
from tvirt.progress import Report
from tvirt.readonly import refusal
from tvirt.remote import Runner

from .disk_wizard import DevicesArrived, DiskWizard
from .words import plural, size

_SHORT = {"back": "Back", "mark": "Mark disk", "undo": "Undo"}
STEPS = ("Choose three safe disks", "Settings", "Plan and confirm", "Creating")


class StepChanged(Message):
    def __init__(self, index: int, state: str) -> None:
        super().__init__()
        self.index, self.state = index, state


class BrickWizard(DiskWizard):
    WHAT = "Bricks and volume"
    STEPS = STEPS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, k.action, _SHORT[k.action], show=True, tooltip=k.description)
        for k in WIZARD_KEYS
        if k.action in {"back", "mark", "undo"}
    ]

    def __init__(self, ops: CommandHost, volume: str = "") -> None:
        super().__init__(ops)
        self.marked: list[str] = []
        self.volume = volume or "vmstore"
        self.brick_layout = bricks.Layout.LVM_THIN
        self.arbiter = False
        self.pool = bricks.PoolType.NONE
        self.steps: list[bricks.Step] = []
        self.outcome: bricks.Outcome | None = None
        self.undo_finished = False

    def on_mount(self) -> None:
        self._table_for_disks()
        self._show_step(0)
        self._load()

    def _table_for_disks(self) -> None:
        table = self.query_one("#wizard-table", DataTable)
        table.clear(columns=True)
        table.add_columns("Mark", "Device", "Safety", "Size", "Reason")

    def _wizard(self) -> bricks.Wizard:
        host = self.ops.gluster_host or self.ops.label
        runner = self.ops.runner or Runner(self.ops.label)
        specs = []
        for path in self.marked:
            dev = disks.find(self.devices, path)
            assert dev is not None
            specs.append(bricks.BrickSpec(runner, dev, host))
        return bricks.Wizard(
            self.volume,
            specs,
            layout=self.brick_layout,
            arbiter=self.arbiter,
            pool=self.pool,
            readonly=self.ops.readonly,
        )

    def show_page(self) -> None:
        step = self.step
        table = self.query_one("#wizard-table", DataTable)
        options = self.query_one("#wizard-options", OptionList)
        body = self.query_one("#wizard-body", Static)
        entry = self.query_one("#wizard-input", Input)
        table.display = step in (0, 3)
        options.display = step == 1
        body.display = step >= 2
        entry.display = step in (1, 2)
        if step == 0:
            table.focus()
        elif step == 1:
            self._settings()
            entry.value = self.volume
            entry.placeholder = "volume name"
            options.focus()
        elif step == 2:
            body.update("\n".join(self._plan_lines()))
            entry.value = ""
            entry.placeholder = f"type {self.volume} to create it"
            entry.focus()

    def action_back(self) -> None:
        if self.running or self.step in (1, 2):
            super().action_back()
        else:
            self.leave(None)

    # ----- step 1: disks ------------------------------------------------------------------

    def on_devices_arrived(self, message: DevicesArrived) -> None:
        self.devices = message.devices
        self._fill_disks()
        self.say(message.error or "Space marks a safe disk; Enter goes on with three marked.")

    def _fill_disks(self) -> None:
        table = self.query_one("#wizard-table", DataTable)
        table.clear()
        for d in self.devices:
            table.add_row(
                "marked" if d.path in self.marked else "",
                d.path,
                d.safety.value,
                size(d.size) if d.size else "unknown",
                d.reason,
                key=d.path,
            )

    def _current(self) -> disks.Device | None:
        table = self.query_one("#wizard-table", DataTable)
        if self.step != 0 or not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return disks.find(self.devices, str(key))

    def action_mark(self) -> None:
        dev = self._current()
        if dev is None:
            return
        if dev.path in self.marked:
            self.marked.remove(dev.path)
        elif dev.safety is not disks.Safety.SAFE:
            self.say(f"Refused: {dev.path} is {dev.safety.value}: {dev.reason}.")
            return
        elif len(self.marked) >= 3:
            self.say("Three disks are marked already; unmark one first.")
            return
        else:
            self.marked.append(dev.path)
        self.query_one("#wizard-table", DataTable).update_cell(
            dev.path,
            self.query_one("#wizard-table", DataTable).ordered_columns[0].key,
            "marked" if dev.path in self.marked else "",
        )
        self.say(f"{len(self.marked)} of 3 disks marked: {', '.join(self.marked) or 'none'}.")

    @on(DataTable.RowSelected, "#wizard-table")
    def _go_on(self) -> None:
        if self.step != 0:
            return
        if len(self.marked) != 3:
            self.say(f"Mark exactly three safe disks with Space; {len(self.marked)} marked.")
            return
        self._show_step(1)

    # ----- step 2: settings ------------------------------------------------------------

    def _settings(self) -> None:
        options = self.query_one("#wizard-options", OptionList)
        keep = options.highlighted or 0
        options.clear_options()
        options.add_options(
            [
                Option(f"Layout: {self.brick_layout.value} (Enter changes)", id="layout"),
                Option(
                    f"Third brick is an arbiter: {'yes' if self.arbiter else 'no'}", id="arbiter"
                ),
                Option(f"libvirt pool on the volume: {self.pool.value}", id="pool"),
                Option("Continue to the plan (the name is typed below)", id="next"),
            ]
        )
        options.highlighted = keep

    @on(OptionList.OptionSelected, "#wizard-options")
    async def _setting(self, event: OptionList.OptionSelected) -> None:
        which = event.option.id
        if which == "layout":
            kinds = list(bricks.Layout)
            self.brick_layout = kinds[(kinds.index(self.brick_layout) + 1) % len(kinds)]
        elif which == "arbiter":
            self.arbiter = not self.arbiter
        elif which == "pool":
            pools = list(bricks.PoolType)
            self.pool = pools[(pools.index(self.pool) + 1) % len(pools)]
        else:
            await self.submit_page()
            return
        self._settings()

    # Enter in the input is the framework's: the step's check, then the next step or finish.
    def is_last(self) -> bool:
        return self.step == 2  # the typed name is the last answer; then the plan runs

    async def check_page(self) -> tuple[str, Widget | None] | None:
        raw = self.query_one("#wizard-input", Input).value
        typed = raw.strip()
        if self.step == 1:
            self.volume = typed
            try:
                self.steps = ops_bricks.plan(self._wizard())
            except bricks.PlanError as exc:
                return str(exc), None
            return None
        if typed != self.volume:
            return f"'{raw}' is not {self.volume}; nothing was created.", None
        if self.ops.readonly:
            return refusal(f"create the volume {self.volume}"), None
        return None

    def _plan_lines(self) -> list[str]:
        lines = [
            f"Volume {self.volume}: replica 3{' arbiter 1' if self.arbiter else ''}, "
            f"layout {self.brick_layout.value}, pool {self.pool.value}; "
            f"{plural(len(self.steps), 'step')}:",
        ]
        lines += [f"{i + 1:>2}. {s.host}: {s.command}" for i, s in enumerate(self.steps)]
        lines.append(f"Type {self.volume} and press Enter to run them; Escape goes back.")
        return lines

    # ----- step 3: confirm and run -------------------------------------------------------

    async def finish(self) -> None:
        table = self.query_one("#wizard-table", DataTable)
        table.clear(columns=True)
        table.add_columns("Step", "State", "Host", "What")
        for i, s in enumerate(self.steps):
            table.add_row(str(i + 1), "waiting", s.host, s.what, key=str(i))
        self._show_step(3)
        self.query_one("#wizard-body", Static).update("")
        self.run()

    def run_job(self, report: Report) -> Future[bricks.Outcome]:
        """The plan, step by step (tvirt.ops.bricks, on a thread of its own); each step's
        state goes to the table. The disks are read again before the first step."""
        index = {id(s): i for i, s in enumerate(self.steps)}
        return ops_bricks.execute(
            [self.ops],
            self._wizard(),
            self.steps,
            on_step=lambda s, state: self.post_message(StepChanged(index[id(s)], state)),
        )

    def on_step_changed(self, message: StepChanged) -> None:
        table = self.query_one("#wizard-table", DataTable)
        table.update_cell(
            str(message.index), table.ordered_columns[1].key, message.state, update_width=True
        )

    def show_undone(self, result: object, error: str) -> None:
        self.show_outcome(result, error, undo=True)

    def show_result(self, result: object, error: str) -> None:
        self.show_outcome(result, error, undo=False)

    def show_outcome(self, result: object, error: str, *, undo: bool) -> None:
        if not isinstance(result, bricks.Outcome):  # refused before any step: read-only
            self.say(f"Stopped: {error}")
            return
        self.outcome = o = result
        self.undo_finished = undo
        body = self.query_one("#wizard-body", Static)
        if undo:
            lines = [f"Undone: {u}" for u in o.undone]
            lines += [f"Could not undo: {e}" for e in o.undo_errors]
            lines.append("Undo finished" + (" with errors." if o.undo_errors else "."))
            body.update("\n".join(lines))
            self.say(lines[-1] + " Escape closes the wizard.")
            return
        if o.ok:
            body.update(f"Volume {self.volume} is created and started. Escape closes.")
            self.say(f"done: {plural(len(o.done), 'step')}")
            return
        table = self.query_one("#wizard-table", DataTable)
        if not o.done and o.failed is None:  # stopped before the first step
            for i in range(len(self.steps)):
                table.update_cell(str(i), table.ordered_columns[1].key, "not done")
            body.update(f"Nothing was run: {o.error}.\nEscape closes the wizard.")
            self.say(f"Stopped: {o.error}")
            return
        for i in range(len(o.done) + 1, len(self.steps)):
            table.update_cell(str(i), table.ordered_columns[1].key, "not done", update_width=True)
        lines = [ln for ln in o.summary() if not ln.startswith("not done: ")]
        lines.append(f"not done: {plural(len(o.not_done), 'step')} (marked in the table above)")
        lines.append("U undoes the done steps, newest first; Escape leaves them as they are.")
        body.update("\n".join(lines))
        self.say(f"Stopped: {o.error}")

    def can_undo(self) -> bool:
        return self.outcome is not None and not self.outcome.ok

    def undo_job(self) -> Future[bricks.Outcome]:
        """The done steps reversed, newest first (the core plan's undo)."""
        assert self.outcome is not None
        return ops_bricks.undo([self.ops], self.outcome, self.volume)
