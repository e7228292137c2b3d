"""The brick and volume wizard: mark three safe disks, set the volume's name, layout, arbiter
and pool, read every command of the plan and type the volume name, then watch each step.
A failed step stops the run; the screen lists what was done and what was not, and U undoes
what was made.

Given several connected hosts, it starts by choosing hosts: three (a disk on each, wiped
first, bricks made on each host, peers probed, the virt profile applied, a pool on every
host) or one (three disks on it, as before). The hosts are surveyed (tvirt.hcsurvey)
before the plan is shown; a problem on any one host stops it there.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tvirt import bricks, disks, hcsurvey
from tvirt.errors import TvirtError
from tvirt.keys import WIZARD_KEYS
from tvirt.ops import bricks as ops_bricks
from tvirt.ops import disks as ops_disks
from tvirt.ops.hostcmd import CommandHost
from tvirt.progress import Report
from tvirt.readonly import refusal
from tvirt.remote import Runner

from .disk_wizard import DevicesArrived, DiskWizard
from .words import plural, size

_SHORT = {"back": "Back", "mark": "Mark disk", "undo": "Undo"}
STEPS = ("Choose three safe disks", "Settings", "Plan and confirm", "Creating")
HOST_STEPS = ("Choose three hosts (or one), then a disk on each", *STEPS[1:])
SEP = "|"  # a row key across hosts: LABEL|DEVICE


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

    def __init__(
        self, ops: CommandHost, volume: str = "", hosts: list[CommandHost] | None = None
    ) -> None:
        super().__init__(ops)
        self.hosts = hosts or []  # the connected hosts to choose from (several: host step)
        self.choosing_hosts = len(self.hosts) > 1
        self.chosen: list[CommandHost] = [ops]
        self.host_marks: list[str] = []
        self.disk_of: dict[str, str] = {}  # host label -> device path (several hosts)
        self.listings: dict[str, list[disks.Device]] = {}
        self.survey: hcsurvey.Survey | None = None
        self.auto = False  # layout chosen per host from its kernel (device-mapper or not)
        if self.choosing_hosts:
            self.what = f"{self.WHAT} across hosts"
        self.marked: list[str] = []
        self.volume = volume or "vmstore"
        self.brick_layout = bricks.Layout.LVM_THIN
        self.arbiter = False
        self.pool = bricks.PoolType.NONE
        self.steps: list[bricks.Step] = []
        self.outcome: bricks.Outcome | None = None
        self.undo_finished = False

    def on_mount(self) -> None:
        if self.choosing_hosts:
            table = self.query_one("#wizard-table", DataTable)
            table.add_columns("Mark", "Host", "Gluster name", "Commands")
            for h in self.hosts:
                table.add_row("", h.label, h.gluster_host, "over ssh" if h.runner and
                              h.runner.remote else "local", key=h.label)
            self._show_step(0)
            self.say("Space marks three hosts (or one); Enter goes on to their disks.")
            return
        self._table_for_disks()
        self._show_step(0)
        self._load()

    def step_titles(self) -> tuple[str, ...]:
        return HOST_STEPS if self.hosts else STEPS

    @property
    def several(self) -> bool:
        return len(self.chosen) > 1

    def _table_for_disks(self) -> None:
        table = self.query_one("#wizard-table", DataTable)
        table.clear(columns=True)
        table.add_columns("Mark", "Device", "Safety", "Size", "Reason")

    def _wizard(self) -> bricks.Wizard:
        if self.several:
            return self._wizard_across()
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

    def _wizard_across(self) -> bricks.Wizard:
        """One disk on each chosen host, wiped first, with the virt profile; the survey's
        facts (each host's layout, the virt group file, known peers) once it has run."""
        specs = []
        for h in self.chosen:
            dev = disks.find(self.listings.get(h.label, []), self.disk_of.get(h.label, ""))
            assert dev is not None
            runner = h.runner or Runner(h.label)
            layout = self.survey.layouts.get(runner.host) if self.survey and self.auto else None
            specs.append(bricks.BrickSpec(runner, dev, h.gluster_host or h.label, layout=layout,
                                          libvirt=h.libvirt_call))
        wizard = bricks.Wizard(
            self.volume, specs, layout=self.brick_layout, arbiter=self.arbiter, pool=self.pool,
            readonly=self.ops.readonly, wipe=True, virt=True,
        )
        if self.survey is not None:
            wizard.virt_group, wizard.known_peers = self.survey.virt_group, self.survey.peers
        return wizard

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
        label = self.query_one("#wizard-input-label", Label)
        label.update("Volume name" if step == 1 else "Confirm")
        label.display = entry.display and bool(getattr(self.app, "screen_reader", False))
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

    # ----- step 1 across hosts: the hosts, then a disk on each --------------------------

    def _mark_host(self) -> None:
        table = self.query_one("#wizard-table", DataTable)
        if not table.row_count:
            return
        label = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        if label in self.host_marks:
            self.host_marks.remove(label)
        elif len(self.host_marks) >= 3:
            self.say("Three hosts are marked already; unmark one first.")
            return
        else:
            self.host_marks.append(label)
        table.update_cell(label, table.ordered_columns[0].key,
                          "marked" if label in self.host_marks else "", update_width=True)
        self.say(f"{len(self.host_marks)} of 3 hosts marked: "
                 f"{', '.join(self.host_marks) or 'none'}.")

    def _hosts_chosen(self) -> None:
        if len(self.host_marks) not in (1, 3):
            self.say(f"Mark three hosts (or one) with Space; {len(self.host_marks)} marked.")
            return
        self.chosen = [h for m in self.host_marks for h in self.hosts if h.label == m]
        self.choosing_hosts = False
        self.ops = self.chosen[0]
        table = self.query_one("#wizard-table", DataTable)
        table.clear(columns=True)
        if not self.several:
            self.what = f"{self.WHAT} on {self.ops.label}"
            self._table_for_disks()
            self._show_step(0)
            self._load()
            return
        self.pool = bricks.PoolType.NETFS
        self.auto = True
        table.add_columns("Mark", "Host", "Device", "Safety", "Size", "Reason")
        self.say("Reading the disks of " + ", ".join(h.label for h in self.chosen) + ".")
        self.run_worker(self._load_across(), exclusive=True, group="disk-inventory")

    async def _load_across(self) -> None:
        """Every chosen host's disks, read at once; a host that cannot say is named."""
        futures = [ops_disks.listing(h) for h in self.chosen]
        problems = []
        for h, future in zip(self.chosen, futures, strict=True):
            try:
                found = await asyncio.wrap_future(future)
            except TvirtError as exc:
                problems.append(f"{h.label}: {exc}")
                continue
            self.listings[h.label] = found.devices
            if found.vm_disks_unknown:
                problems.append(f"{h.label}: VM disks unknown ({found.vm_disks_unknown})")
        table = self.query_one("#wizard-table", DataTable)
        table.clear()
        for h in self.chosen:
            for d in self.listings.get(h.label, []):
                table.add_row("marked" if self.disk_of.get(h.label) == d.path else "",
                              h.label, d.path, d.safety.value,
                              size(d.size) if d.size else "unknown", d.reason,
                              key=f"{h.label}{SEP}{d.path}")
        self.say("; ".join(problems) if problems else
                 "Space marks one safe disk on each host; Enter goes on with three marked.")

    def _mark_across(self) -> None:
        table = self.query_one("#wizard-table", DataTable)
        if not table.row_count:
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        label, _, path = key.partition(SEP)
        dev = disks.find(self.listings.get(label, []), path)
        if dev is None:
            return
        mark = table.ordered_columns[0].key
        if self.disk_of.get(label) == path:
            del self.disk_of[label]
            table.update_cell(key, mark, "")
        elif dev.safety is not disks.Safety.SAFE:
            self.say(f"Refused: {path} on {label} is {dev.safety.value}: {dev.reason}.")
            return
        else:
            if old := self.disk_of.get(label):  # one disk per host: the new one replaces it
                table.update_cell(f"{label}{SEP}{old}", mark, "")
            self.disk_of[label] = path
            table.update_cell(key, mark, "marked", update_width=True)
        chosen = ", ".join(f"{h}:{p}" for h, p in self.disk_of.items()) or "none"
        self.say(f"{len(self.disk_of)} of 3 disks marked: {chosen}.")

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
        if self.step == 0 and self.choosing_hosts:
            self._mark_host()
            return
        if self.step == 0 and self.several:
            self._mark_across()
            return
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
            update_width=True,  # "marked" is wider than the column's name
        )
        self.say(f"{len(self.marked)} of 3 disks marked: {', '.join(self.marked) or 'none'}.")

    @on(DataTable.RowSelected, "#wizard-table")
    def _go_on(self) -> None:
        if self.step != 0:
            return
        if self.choosing_hosts:
            self._hosts_chosen()
            return
        if self.several:
            if len(self.disk_of) != 3:
                self.say(f"Mark one safe disk on each host; {len(self.disk_of)} marked.")
                return
            self._show_step(1)
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
                Option(f"Layout: {self._layout_words()} (Enter changes)", id="layout"),
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
            kinds: list[bricks.Layout | None] = list(bricks.Layout)
            if self.several:
                kinds.append(None)  # None: auto, each host's kernel decides
            now = None if self.auto else self.brick_layout
            nxt = kinds[(kinds.index(now) + 1) % len(kinds)]
            self.auto = nxt is None
            self.brick_layout = nxt or bricks.Layout.LVM_THIN
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
                ops_bricks.plan(self._wizard())  # bad input stops here, before any host
                if self.several:
                    self.survey = None
                    wizard = self._wizard()
                    targets = [hcsurvey.Target(s.runner, s.gluster_host) for s in wizard.bricks]
                    self.say("Asking the hosts (device-mapper, virt group, peers, names).")
                    found = await asyncio.wrap_future(ops_bricks.survey(self.chosen, targets))
                    if found.problems:
                        return "; ".join(found.problems) + "; nothing was changed.", None
                    self.survey = found
                self.steps = ops_bricks.plan(self._wizard())
            except (bricks.PlanError, TvirtError) as exc:
                return str(exc), None
            return None
        if typed != self.volume:
            return f"'{raw}' is not {self.volume}; nothing was created.", None
        if self.ops.readonly:
            return refusal(f"create the volume {self.volume}"), None
        return None

    def _layout_words(self) -> str:
        if self.auto:
            return "auto (LVM thin where the kernel has device-mapper, else plain XFS)"
        return self.brick_layout.value

    def _plan_lines(self) -> list[str]:
        lines = [
            f"Volume {self.volume}: replica 3{' arbiter 1' if self.arbiter else ''}, "
            f"layout {self._layout_words()}, pool {self.pool.value}; "
            f"{plural(len(self.steps), 'step')}:",
        ]
        if self.several and self.survey is not None:
            wizard = self._wizard()
            notes = self.survey.notes + bricks.small_disks(wizard.bricks)
            if self.auto:
                notes = self.survey.layout_notes + notes
            lines[1:1] = [f"   {n}" for n in notes]
            lines.append("   Each disk is wiped first: "
                         + ", ".join(f"{s.runner.host}:{s.device.path}" for s in wizard.bricks)
                         + ".")
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
            self.chosen,
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
        return ops_bricks.undo(self.chosen, self.outcome, self.volume)
