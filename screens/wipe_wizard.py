"""The disk wipe wizard: choose a device, choose a method, read the dry run and type the
device path, then watch the wipe and its verification.

Unsafe and unknown devices are listed with the reason in words but cannot be chosen. All
host work (inventory, wipe) runs in thread workers; results come back as messages.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from tvirt import disks, wipe
from tvirt.keys import WIZARD_KEYS
from tvirt.ops import disks as ops_disks
from tvirt.ops.hostcmd import CommandHost
from tvirt.progress import Report
from tvirt.remote import Runner

from .disk_wizard import DevicesArrived, DiskWizard
from .progress import ProgressPanel
from .quiet_rows import sync_rows
from .words import plural, size

METHOD_TEXT = {
    wipe.Method.SIGNATURES: "signatures only: wipefs --all (fast; lists what it removes)",
    wipe.Method.ZERO: "zero fill: write zeros over the whole device, then read samples back",
    wipe.Method.DISCARD: "discard: blkdiscard (fast on SSDs and thin storage)",
}
STEPS = ("Choose a device", "Choose a method", "Check and confirm", "Wiping")


class WipeWizard(DiskWizard):
    WHAT = "Disk wipe"
    STEPS = STEPS
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, k.action, "Back", show=True, tooltip=k.description)
        for k in WIZARD_KEYS
        if k.action in {"back"}
    ]

    def __init__(self, ops: CommandHost) -> None:
        super().__init__(ops)
        self.device: disks.Device | None = None
        self.method = wipe.Method.SIGNATURES
        self.report: wipe.WipeReport | None = None
        self.typed = ""

    def extra_widgets(self) -> list[Widget]:
        return [ProgressPanel(id="wizard-progress")]

    def on_mount(self) -> None:
        table = self.query_one("#wizard-table", DataTable)
        table.add_columns("Device", "Safety", "Size", "Model", "Reason")
        self._show_step(0)
        self._load()

    # ----- steps -----------------------------------------------------------------------

    def show_page(self) -> None:
        step = self.step
        table = self.query_one("#wizard-table", DataTable)
        options = self.query_one("#wizard-options", OptionList)
        body = self.query_one("#wizard-body", Static)
        entry = self.query_one("#wizard-input", Input)
        bar = self.query_one("#wizard-progress", ProgressPanel)
        table.display = step == 0
        options.display = step == 1
        entry.display = step == 2
        bar.display = step == 3 and self.method is wipe.Method.ZERO
        body.display = step >= 2
        if step == 0:
            table.focus()
        elif step == 1:
            options.clear_options()
            options.add_options([Option(text, id=m.value) for m, text in METHOD_TEXT.items()])
            options.highlighted = 0
            options.focus()
        elif step == 2:
            body.update("\n".join(self._check_lines()))
            entry.value = ""
            assert self.device is not None
            entry.placeholder = f"type {self.device.path} to wipe it"
            entry.focus()

    def _check_lines(self) -> list[str]:
        dev = self.device
        assert dev is not None
        found = [f"{s.device} {s.type} at {s.offset}" for d in dev.walk() for s in d.signatures]
        report = wipe.wipe(
            self.ops.runner or Runner(self.ops.label), dev, dev.path, self.method, "", dry_run=True
        )
        return [
            f"Device: {dev.path}, {size(dev.size)}, {dev.model or 'no model'}"
            f"{', serial ' + dev.serial if dev.serial else ''}",
            f"Classified {dev.safety.value}: {dev.reason}",
            "Signatures found: " + ("; ".join(found) or "none"),
            f"Method: {METHOD_TEXT[self.method]}",
            "Dry run, the exact commands:",
            *(f"  {c}" for c in report.commands),
            f"Every step is logged to {wipe.log_path()}.",
            f"Type {dev.path} exactly and press Enter to wipe; Escape goes back.",
        ]

    def action_back(self) -> None:
        if self.step in (1, 2):
            super().action_back()
        elif self.step == 3 and self.report is None:
            self.say("The wipe is running; it cannot be stopped halfway safely.")
        else:
            self.leave(None)

    # ----- step 1: the device ------------------------------------------------------------

    def on_devices_arrived(self, message: DevicesArrived) -> None:
        self.devices = message.devices
        rows = {
            d.path: (
                d.path,
                d.safety.value,
                size(d.size) if d.size else "unknown",
                d.model or "",
                d.reason,
            )
            for d in message.devices
        }
        sync_rows(self.query_one("#wizard-table", DataTable), rows)
        self.say(
            message.error
            or f"{plural(len(message.devices), 'device')}; only safe ones can be chosen (Enter)."
        )

    @on(DataTable.RowSelected, "#wizard-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        dev = disks.find(self.devices, str(event.row_key.value))
        if dev is None:
            return
        if dev.safety is not disks.Safety.SAFE:
            self.say(f"Refused: {dev.path} is {dev.safety.value}: {dev.reason}.")
            return
        self.device = dev
        self.say("")
        self._show_step(1)

    # ----- step 2: the method ------------------------------------------------------------

    @on(OptionList.OptionSelected, "#wizard-options")
    def _method(self, event: OptionList.OptionSelected) -> None:
        self.method = wipe.Method(str(event.option.id))
        self._show_step(2)

    # ----- step 3: typed confirmation ------------------------------------------------------

    # Enter in the input is the framework's: the check, then finish.
    def is_last(self) -> bool:
        return self.step == 2  # the typed path is the last answer; then the wipe runs

    async def check_page(self) -> tuple[str, Widget | None] | None:
        dev = self.device
        assert dev is not None
        typed = self.query_one("#wizard-input", Input).value
        try:
            wipe.check(dev, dev.path, typed, self.ops.readonly)
        except wipe.WipeRefused as exc:
            return str(exc), None
        self.typed = typed
        return None

    async def finish(self) -> None:
        dev = self.device
        assert dev is not None
        self._show_step(3)
        self.query_one("#wizard-body", Static).update(f"Wiping {dev.path} ({self.method.value})")
        self.say("Running; progress follows.")
        self.run()

    def run_job(self, report: Report) -> Future[wipe.WipeReport]:
        """The wipe (tvirt.ops.disks, on a thread of its own); its progress goes to the
        panel. The device is read again just before the first destructive command."""
        dev = self.device
        assert dev is not None
        return ops_disks.wipe_device(
            self.ops, dev, dev.path, self.method, self.typed, on_progress=report
        )

    def show_result(self, result: object, error: str) -> None:
        self.report = (
            result
            if isinstance(result, wipe.WipeReport)
            else wipe.WipeReport(self.ops.label, "", self.method, [], message=error)
        )
        r = self.report
        lines = [f"Signatures removed: {', '.join(s.type for s in r.removed) or 'none'}"]
        if left := [s.type for s in r.found if s not in r.removed]:
            lines.append(f"Signatures not removed: {', '.join(left)}")
        lines += [f"ran {c}" for c in r.commands]
        if r.throughput:
            lines.append(f"Throughput: {r.throughput}")
        state = "verified" if r.ok and r.verified else ("not verified" if r.ok else "failed")
        lines.append(f"Result: {state}. {r.message}")
        lines.append("Escape closes the wizard.")
        self.query_one("#wizard-body", Static).update("\n".join(lines))
        self.say(f"{state}: {r.message}")
