"""Virtual networks of one host: state, autostart, bridge, forward mode, range, leases.

Reads and changes are operations of tvirt.ops.networks (run on the host's worker), awaited
in async workers, so the screen never blocks.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer, Header, Static

from tvirt import networks
from tvirt.errors import sentence
from tvirt.host import HostWorker
from tvirt.keys import NETWORK_KEYS
from tvirt.ops import networks as ops
from tvirt.ops.run import Refused, refused

from .base import TvirtScreen
from .dialogs import ConfirmDialog, Confirmed
from .form import Field, FormDialog
from .table import Table
from .threads import alive
from .words import plural

if TYPE_CHECKING:
    from .app import TvirtApp

_FOOTER = {
    "start": "Start",
    "stop": "Stop",
    "autostart": "Autostart",
    "define": "Define",
    "dismiss": "Back",
}
MODES = (("nat", "nat: guests reach out through the host"), ("isolated", "isolated: guests only"))


class NetworksScreen(TvirtScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, k.action, _FOOTER[k.action], tooltip=k.description) for k in NETWORK_KEYS
    ]
    DEFAULT_CSS = """
    NetworksScreen #nets { height: 1fr; }
    NetworksScreen #net-status { height: auto; min-height: 1; padding: 0 1; }
    """

    def __init__(self, host_id: str, host_label: str) -> None:
        super().__init__()
        self.host_id = host_id
        self.host_label = host_label
        self.nets: list[networks.NetInfo] = []

    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Table(
            id="nets", empty="No networks.", cursor_type="row", zebra_stripes=True)
        yield Static("Reading the networks...", id="net-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Networks on {self.host_label}"
        self.query_one(DataTable).add_columns(
            "Network", "State", "Autostart", "Bridge", "Forward", "IP range", "Leases"
        )
        self.query_one(DataTable).focus()
        self.reload()

    @property
    def host(self) -> HostWorker:
        return self.tvirt.manager.workers[self.host_id]

    @work(exit_on_error=False, group="networks")
    async def reload(self) -> None:
        try:
            nets = await asyncio.wrap_future(ops.list_all(self.host))
        except Exception as exc:
            if alive(self):
                self.status(sentence(exc), False)
            return
        if alive(self):  # not closed (escape) while the host answered
            self.show(nets)

    def show(self, nets: list[networks.NetInfo]) -> None:
        self.nets = nets
        table = self.query_one(DataTable)
        table.clear()
        for n in nets:
            table.add_row(
                n.name,
                n.state,
                "on" if n.autostart else "off",
                n.bridge or "-",
                n.forward,
                n.ip_range or "-",
                str(len(n.leases)),
            )
        self.query_one("#net-status", Static).update(
            f"{plural(len(nets), 'network')}; n defines another."
            if nets
            else "No networks; n defines one."
        )

    def status(self, sentence: str, ok: bool = True) -> None:
        self.query_one("#net-status", Static).update(sentence if ok else f"Error: {sentence}")
        self.tvirt.say(sentence, ok=ok)

    def selected(self) -> networks.NetInfo | None:
        row = self.query_one(DataTable).cursor_row
        return self.nets[row] if 0 <= row < len(self.nets) else None

    def refused(self, what: str) -> bool:
        """In read-only mode say the one sentence, before any question or form."""
        refusal = refused(self.host, what)
        if refusal is not None:
            self.status(str(refusal), False)
        return refusal is not None

    @work(exit_on_error=False, group="networks")
    async def change(self, future: Future[str]) -> None:
        """Say how the operation ended; after a change, show the networks as they are now."""
        try:
            message, ok = await asyncio.wrap_future(future), True
        except Refused as exc:
            self.status(str(exc), False)  # nothing changed, nothing to read again
            return
        except Exception as exc:
            message, ok = sentence(exc), False
        if alive(self):
            self.status(message, ok)
            self.reload()

    def action_start(self) -> None:
        net = self.selected()
        if net is None:
            self.status("No network is selected to start.", False)
            return
        self.change(ops.start(self.host, net.name))

    def action_stop(self) -> None:
        net = self.selected()
        if net is None:
            self.status("No network is selected to stop.", False)
            return
        if self.refused(f"stop the network {net.name}"):
            return

        def answered(answer: Confirmed | None) -> None:
            if answer is None:
                self.status(f"Cancelled: {net.name} keeps running.")
                return
            self.change(ops.stop(self.host, net.name))

        self.app.push_screen(
            ConfirmDialog(
                f"Stop network {net.name}?", [net.name], "VMs on it lose their link.", "Yes, stop"
            ),
            answered,
        )

    def action_autostart(self) -> None:
        net = self.selected()
        if net is None:
            self.status("No network is selected.", False)
            return
        self.change(ops.autostart(self.host, net.name, not net.autostart))

    def action_define(self) -> None:
        if self.refused("define a network"):
            return
        existing = frozenset(n.name for n in self.nets)

        def check(values: list[str]) -> tuple[int, str] | None:
            spec = networks.NetSpec(values[0], values[1], values[2])
            found = networks.spec_problems(spec, existing)
            if not found:
                return None
            # The field a sentence is about gets the focus: name, mode or subnet.
            where = next((i for i, w in enumerate(("name", "mode", "subnet")) if w in found[0]), -1)
            return where, " ".join(found)

        async def apply(values: list[str]) -> str:
            spec = networks.NetSpec(values[0], values[1], values[2])
            try:
                message = await asyncio.wrap_future(ops.define(self.host, spec))
            except Exception as exc:
                return sentence(exc)
            self.status(message, True)
            self.reload()
            return ""

        def answered(values: list[str] | None) -> None:
            if values is None:
                self.status("Cancelled: no network was defined.")

        self.app.push_screen(
            FormDialog(
                "Define a network",
                [
                    Field("Name"),
                    Field("Mode", "nat", MODES),
                    Field("IPv4 subnet", "192.168.150.0/24"),
                ],
                check=check,
                apply=apply,
            ),
            answered,
        )


def open_networks(app: TvirtApp, host_id: str | None) -> None:
    host = app.hosts.get(host_id or "")
    if host is None or host.host_id not in app.manager.workers:
        app.say("No connected host is selected to show networks for.", ok=False)
        return
    app.push_screen(NetworksScreen(host.host_id, host.label))
