"""The page layout the wipe and brick wizards share on the wizard framework
(screens/wizard.py): a step line, a device table, a list of choices, a body, an input and a
message line; and loading the host's devices (tvirt.ops.disks, awaited)."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, Label, OptionList, Static

from tvirt import disks
from tvirt.errors import TvirtError
from tvirt.ops import disks as ops_disks
from tvirt.ops.hostcmd import CommandHost

from .base import TvirtScreen
from .table import Table
from .wizard import Wizard


class DevicesArrived(Message):
    def __init__(self, devices: list[disks.Device], error: str = "") -> None:
        super().__init__()
        self.devices, self.error = devices, error


class DiskWizard(Wizard, TvirtScreen[None]):
    # Type selectors match subclasses too, so both wizards get this layout.
    DEFAULT_CSS = """
    DiskWizard #wizard-table { height: auto; max-height: 60%; }
    DiskWizard #wizard-body { height: auto; }
    DiskWizard #wizard-options { height: auto; }
    DiskWizard #wizard-input-label { display: none; }
    """
    WHAT: ClassVar[str] = ""  # "Disk wipe": the step line starts with it
    STEPS: ClassVar[tuple[str, ...]] = ()
    MESSAGE = "wizard-message"

    def __init__(self, ops: CommandHost) -> None:
        super().__init__()
        self.ops = ops
        self.what = f"{self.WHAT} on {ops.label}"
        self.devices: list[disks.Device] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="wizard-step")
        yield Table(
            id="wizard-table", empty="No disks.", cursor_type="row", zebra_stripes=True)
        yield OptionList(id="wizard-options")
        yield Static("", id="wizard-body")
        # The field's name on its line, in screen-reader mode only (screens/reader.py).
        yield Label(id="wizard-input-label")
        yield Input(id="wizard-input")
        yield from self.extra_widgets()
        yield Static("", id="wizard-message")
        yield Footer()

    def extra_widgets(self) -> list[Widget]:
        """Widgets between the input and the message line (a progress bar, say)."""
        return []

    def step_titles(self) -> tuple[str, ...]:
        return self.STEPS

    def _show_step(self, step: int) -> None:
        self.go_to(step)

    @work(exclusive=True, exit_on_error=False, group="disk-inventory")
    async def _load(self) -> None:
        try:
            found = await asyncio.wrap_future(ops_disks.listing(self.ops))
        except TvirtError as exc:
            self.post_message(DevicesArrived([], str(exc)))
            return
        self.post_message(DevicesArrived(found.devices))
