"""VM details for changing things: overview, hardware list, snapshot tree, and their keys.

Reads and changes are operations (tvirt.ops: hardware, snapshots, vms.clone) awaited in
async workers; every result or refusal is one sentence in the status line and the
message log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static, TextArea

from tvirt import snapshots, validate
from tvirt import vmhardware as hw
from tvirt.errors import TvirtError
from tvirt.host import HostWorker
from tvirt.keys import HARDWARE_KEYS, XML_KEYS
from tvirt.model import VMInfo
from tvirt.ops import hardware, vms
from tvirt.ops import snapshots as snapshot_ops
from tvirt.ops.run import refused

from .base import TvirtScreen
from .dialogs import ConfirmDialog, Confirmed
from .form import Field, FormDialog
from .reader import read_out
from .table import Table

if TYPE_CHECKING:
    from .app import TvirtApp

_FOOTER = {
    "memory": "Memory",
    "add_disk": "Add disk",
    "remove_device": "Remove",
    "snapshot": "Snapshot",
    "revert": "Revert",
    "xml": "XML",
    "clone": "Clone",
    "dismiss": "Back",
}
_XML_FOOTER = {"save": "Define this XML", "back": "Back"}
# A change of this VM on its host: one of the operations, its sentence the result.
Change = Callable[[HostWorker, VMInfo], "Future[str]"]
WHERE = (
    ("live", "now and in the config (live where possible)"),
    ("config", "in the config only: from the next start"),
)
KINDS = (("full", "full: disks, memory and state"), ("disk-only", "disk-only: the disks alone"))


def overview_text(ov: hw.Overview, host_label: str) -> str:
    uptime = (
        "not running"
        if ov.uptime_s is None and ov.state != "running"
        else (f"{ov.uptime_s:.0f} s" if ov.uptime_s is not None else "unknown")
    )
    return "\n".join(
        (
            f"{ov.name}: {ov.state} on {host_label}",
            f"UUID {ov.uuid}, uptime {uptime}, autostart {'on' if ov.autostart else 'off'}",
            f"vCPUs {ov.vcpus} of {ov.max_vcpus}; memory {ov.memory_mib} of "
            f"{ov.max_memory_mib} MiB{hw.next_boot(ov)}",
            f"Boot order: {', '.join(ov.boot_order) or 'default'}",
        )
    )


class VMHardwareScreen(TvirtScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            k.key,
            k.action,
            _FOOTER.get(k.action, k.description),
            show=k.action in _FOOTER,
            tooltip=k.description,
        )
        for k in HARDWARE_KEYS
    ]
    DEFAULT_CSS = """
    VMHardwareScreen #overview { height: auto; padding: 0 1; border: round $primary; }
    VMHardwareScreen #devices-pane { height: 3fr; }
    VMHardwareScreen #snapshots-pane { height: 2fr; }
    VMHardwareScreen DataTable { height: 1fr; }
    VMHardwareScreen #hw-status { height: auto; min-height: 1; padding: 0 1; }
    VMHardwareScreen .pane-title { text-style: bold; padding: 0 1; }
    """

    def __init__(self, vm: VMInfo, host_label: str) -> None:
        super().__init__()
        self.vm = vm
        self.host_label = host_label
        self.overview: hw.Overview | None = None
        self.snaps: list[snapshots.SnapshotInfo] = []

    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Reading the VM...", id="overview")
        with Vertical(id="devices-pane"):
            yield Static("Hardware (tab: snapshots)", classes="pane-title")
            yield Table(
                id="devices", empty="No devices.", cursor_type="row", zebra_stripes=True)
        with Vertical(id="snapshots-pane"):
            yield Static("Snapshots as a tree (* = current)", classes="pane-title")
            yield Table(
                id="snapshots", empty="No snapshots.", cursor_type="row", zebra_stripes=True)
        yield Static("", id="hw-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"{self.vm.name} on {self.host_label}"
        devices = self.query_one("#devices", DataTable)
        devices.add_columns("Device", "Kind", "Details")
        snaps = self.query_one("#snapshots", DataTable)
        snaps.add_columns("Snapshot", "State", "Kind", "Description")
        devices.focus()
        self.reload()

    # -- reading ----------------------------------------------------------------
    @work(exit_on_error=False, group="hardware")
    async def reload(self) -> None:
        host = self._worker()
        if host is None:
            self.status(self._gone(), False)
            return
        try:
            # Queued one after the other on the host's worker: the same moment's VM.
            ov, snaps = await asyncio.gather(
                asyncio.wrap_future(hardware.overview(host, self.vm)),
                asyncio.wrap_future(snapshot_ops.tree(host, self.vm)),
            )
        except TvirtError as exc:
            self.status(str(exc), False)
            return
        self.show(ov, snaps)

    def show(self, ov: hw.Overview, snaps: list[snapshots.SnapshotInfo]) -> None:
        self.overview, self.snaps = ov, snaps
        self.query_one("#overview", Static).update(overview_text(ov, self.host_label))
        devices = self.query_one("#devices", DataTable)
        row = devices.cursor_row
        devices.clear()
        for dev in ov.devices:
            pending = f" ({dev.pending})" if dev.pending else ""
            devices.add_row(dev.key, dev.kind, f"{dev.summary}{pending}")
        if ov.devices:
            devices.move_cursor(row=min(row, len(ov.devices) - 1))
        table = self.query_one("#snapshots", DataTable)
        table.clear()
        for s in snaps:
            name = f"{'  ' * s.depth}{'* ' if s.current else ''}{s.name}"
            table.add_row(name, s.state, "disk-only" if s.disk_only else "full", s.description)
        if not snaps:
            table.add_row("(no snapshots)", "", "", "")

    def status(self, sentence: str, ok: bool = True) -> None:
        self.query_one("#hw-status", Static).update(sentence if ok else f"Error: {sentence}")
        self.tvirt.say(sentence, ok=ok)

    def _worker(self) -> HostWorker | None:
        """The VM's host, or None once it was removed from the app."""
        return self.tvirt.manager.workers.get(self.vm.host_id)

    def _gone(self) -> str:
        return f"The host of {self.vm.name} is not connected."

    def _refused(self, what: str) -> str:
        """Why `what` cannot be done now (read-only mode, no host), or ""."""
        host = self._worker()
        if host is None:
            return self._gone()
        refusal = refused(host, what)
        return str(refusal) if refusal is not None else ""

    def selected_device(self) -> hw.Device | None:
        if self.overview is None or not self.overview.devices:
            return None
        row = self.query_one("#devices", DataTable).cursor_row
        return self.overview.devices[row] if 0 <= row < len(self.overview.devices) else None

    def selected_snapshot(self) -> snapshots.SnapshotInfo | None:
        row = self.query_one("#snapshots", DataTable).cursor_row
        return self.snaps[row] if 0 <= row < len(self.snaps) else None

    # -- changing ----------------------------------------------------------------
    def change(self, doing: str, fn: Change) -> None:
        """`doing` names the change as its operation does ("remove a NIC from"): read-only
        mode refuses it, naming this VM, before anything is asked or sent."""
        if why := self._refused(f"{doing} {self.vm.name}"):
            self.status(why, False)
            return
        self._run_change(fn)

    @work(exit_on_error=False, group="hardware")
    async def _run_change(self, fn: Change) -> None:
        host = self._worker()
        if host is None:
            self.status(self._gone(), False)
            return
        try:
            message = await asyncio.wrap_future(fn(host, self.vm))
        except TvirtError as exc:
            self.status(str(exc), False)
        else:
            self.status(message, True)
        self.reload()

    def ask(
        self, title: str, doing: str, fields: Sequence[Field],
        change: Callable[[list[str]], Change],
    ) -> None:
        """A form whose answers become a change. The change runs while the form waits, so
        a refusal (ours or libvirt's) is shown there with the answers kept. Read-only mode
        refuses `doing` (as in change) before the form opens."""
        what = f"{title[0].lower()}{title[1:].rstrip('.')}"
        if why := self._refused(f"{doing} {self.vm.name}"):
            self.status(why, False)
            return

        async def apply(values: list[str]) -> str:
            host = self._worker()
            if host is None:
                return self._gone()
            try:
                message = await asyncio.wrap_future(change(values)(host, self.vm))
            except TvirtError as exc:
                return str(exc)
            self.status(message, True)
            self.reload()
            return ""

        def answered(values: list[str] | None) -> None:
            if values is None:
                self.status(f"Cancelled: {what}.")

        self.app.push_screen(FormDialog(title, fields, apply=apply), answered)

    def confirm(
        self, question: str, target: str, warning: str, yes: str, doing: str, fn: Change
    ) -> None:
        """Ask first, then make the change; read-only mode refuses before asking."""
        if why := self._refused(f"{doing} {self.vm.name}"):
            self.status(why, False)
            return

        def answered(answer: Confirmed | None) -> None:
            if answer is None:
                self.status(f"Cancelled: {question.rstrip('?')} was not done.")
                return
            self.change(doing, fn)

        self.app.push_screen(ConfirmDialog(question, [target], warning, yes), answered)

    def ask_memory(
        self, title: str, doing: str, label: str, current: str, extra: Sequence[Field],
        change: Callable[[int, list[str]], Change],
    ) -> None:
        """The memory and maximum-memory forms: one field checked and parsed by the same
        step (validate.memory_mib); the host's own limit is checked by the change itself."""

        def parsed(values: list[str]) -> Change:
            return change(validate.memory_mib(values[0]), values[1:])

        fields = [Field(label, current, check=_check(validate.memory_mib)), *extra]
        self.ask(title, doing, fields, parsed)

    def action_memory(self) -> None:
        current = f"{self.overview.memory_mib}M" if self.overview else "512M"

        def change(mib: int, rest: list[str]) -> Change:
            live = rest[0] == "live"
            return lambda host, vm: hardware.set_memory(host, vm, mib, live=live)

        self.ask_memory(
            "Change the memory", "change the memory of", "Memory (e.g. 256M, 2G)", current,
            [Field("Where", "live", WHERE)], change,
        )

    def action_max_memory(self) -> None:
        current = f"{self.overview.next_max_memory_mib}M" if self.overview else "512M"

        def change(mib: int, _rest: list[str]) -> Change:
            return lambda host, vm: hardware.set_max_memory(host, vm, mib)

        self.ask_memory(
            "Change the maximum memory (in the config; below the memory, both come down)",
            "change the maximum memory of", "Maximum memory (e.g. 1G)", current, [], change,
        )

    def action_vcpus(self) -> None:
        current = str(self.overview.vcpus) if self.overview else "1"

        def change(values: list[str]) -> Change:
            count = validate.vcpus(values[0])
            return lambda host, vm: hardware.set_vcpus(host, vm, count)

        self.ask(
            "Change the vCPUs", "change the vCPUs of",
            [Field("vCPUs", current, check=_check(validate.vcpus))], change,
        )

    def action_add_disk(self) -> None:
        def change(values: list[str]) -> Change:
            path, bus = values
            cdrom = bus == "cdrom"
            bus = "sata" if cdrom else bus
            return lambda host, vm: hardware.add_disk(host, vm, path, bus, cdrom=cdrom)

        self.ask(
            "Add a disk", "add a disk to",
            [
                Field("Path of a volume or file (empty: an empty CD drive)"),
                Field("Bus", "virtio", tuple((b, b) for b in (*hw.DISK_BUSES, "cdrom"))),
            ],
            change,
        )

    def action_remove_device(self) -> None:
        dev = self.selected_device()
        if dev is None or dev.kind not in ("disk", "cdrom", "nic"):
            self.status("Select a disk, CD drive or NIC in the hardware list to remove.", False)
            return
        if dev.kind == "nic":
            self.confirm(
                f"Remove NIC {dev.key} from {self.vm.name}?",
                dev.summary,
                "The guest loses this network link.",
                "Yes, remove",
                "remove a NIC from",
                lambda host, vm: hardware.remove_nic(host, vm, dev.key),
            )
            return
        self.confirm(
            f"Detach {dev.key} from {self.vm.name}?",
            dev.summary,
            "The guest loses this disk; its storage is kept.",
            "Yes, detach",
            "remove a disk from",
            lambda host, vm: hardware.remove_disk(host, vm, dev.key),
        )

    def action_media(self) -> None:
        dev = self.selected_device()
        if dev is None or dev.kind != "cdrom":
            self.status("Select a CD drive in the hardware list to change its media.", False)
            return

        def change(values: list[str]) -> Change:
            path = values[0]
            return lambda host, vm: hardware.change_media(host, vm, dev.key, path)

        self.ask(
            f"Media for {dev.key}", "change the CD media of", [Field("Image path (empty ejects)")],
            change,
        )

    def action_add_nic(self) -> None:
        def change(values: list[str]) -> Change:
            kind, source, model = values
            return lambda host, vm: hardware.add_nic(host, vm, kind, source, model)

        self.ask(
            "Add a NIC", "add a NIC to",
            [
                Field("Connect to", "network", (("network", "a libvirt network"),
                                                ("bridge", "a host bridge"))),
                Field("Its name", "default"),
                Field("Model", "virtio", tuple((m, m) for m in hw.NIC_MODELS)),
            ],
            change,
        )

    def action_boot_order(self) -> None:
        current = (
            " ".join(
                d
                for d in (self.overview.boot_order if self.overview else ())
                if d in hw.BOOT_DEVICES
            )
            or "hd"
        )

        def change(values: list[str]) -> Change:
            order = values[0].split()
            return lambda host, vm: hardware.set_boot_order(host, vm, order)

        self.ask(
            "Boot order", "change the boot order of",
            [Field(f"Devices in order, from {' '.join(hw.BOOT_DEVICES)}", current)],
            change,
        )

    def action_clone(self) -> None:
        def change(values: list[str]) -> Change:
            name = values[0]
            return lambda host, vm: vms.clone(host, vm, name)

        self.ask(
            f"Clone {self.vm.name}", "clone", [Field("Name of the clone", f"{self.vm.name}-clone")],
            change,
        )

    def action_snapshot(self) -> None:
        def change(values: list[str]) -> Change:
            name, description, kind = values
            disk_only = kind == "disk-only"
            return lambda host, vm: snapshot_ops.create(
                host, vm, name, description, disk_only=disk_only
            )

        self.ask(
            "Take a snapshot", "snapshot",
            [
                Field("Name", check=_check(lambda v: validate.name(v, "snapshot"))),
                Field("Description (optional)"),
                Field("Kind", "full", KINDS),
            ],
            change,
        )

    def action_revert(self) -> None:
        snap = self.selected_snapshot()
        if snap is None:
            self.status("Select a snapshot to revert to.", False)
            return
        self.confirm(
            f"Revert {self.vm.name} to {snap.name}?",
            f"{snap.name}: {snap.state}",
            "Everything since this snapshot is lost.",
            "Yes, revert",
            "revert",
            lambda host, vm: snapshot_ops.revert(host, vm, snap.name),
        )

    def action_delete_snapshot(self) -> None:
        snap = self.selected_snapshot()
        if snap is None:
            self.status("Select a snapshot to delete.", False)
            return
        self.confirm(
            f"Delete snapshot {snap.name}?",
            f"{snap.name}: {snap.state}",
            "The VM stays as it is; this point to return to is gone.",
            "Yes, delete",
            "delete a snapshot of",
            lambda host, vm: snapshot_ops.delete(host, vm, snap.name),
        )

    def action_xml(self) -> None:
        self.app.push_screen(XMLScreen(self))

    @on(DataTable.RowSelected, "#snapshots")
    def _snapshot_chosen(self) -> None:
        self.action_revert()


class XMLScreen(TvirtScreen[None]):
    """The VM's config XML, highlighted and editable; ctrl+s defines it. On an error the
    text stays as typed and libvirt's own message is shown. Escape goes back, asking
    first when there are edits not saved."""

    # Priority: the code editor takes escape itself (to move the focus on), and it is
    # the only widget here, so without priority escape never left this screen.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, k.action, _XML_FOOTER[k.action], priority=True, tooltip=k.description)
        for k in XML_KEYS
    ]
    DEFAULT_CSS = """
    XMLScreen #xml-editor { height: 1fr; }
    XMLScreen #xml-status { height: auto; min-height: 1; padding: 0 1; }
    """

    def __init__(self, owner: VMHardwareScreen) -> None:
        super().__init__()
        self.owner = owner
        self.saved: str | None = None  # the XML as libvirt has it; None until read

    def compose(self) -> ComposeResult:
        yield Header()
        yield TextArea.code_editor("", language="xml", id="xml-editor")
        yield Static("Reading the XML...", id="xml-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"XML of {self.owner.vm.name}"
        self._load()

    @property
    def editor(self) -> TextArea:
        return self.query_one("#xml-editor", TextArea)

    @property
    def unsaved(self) -> bool:
        return self.saved is not None and self.editor.text != self.saved

    @work(exit_on_error=False)
    async def _load(self) -> None:
        host = self.owner._worker()
        if host is None:
            self._say(self.owner._gone())
            return
        try:
            xml = await asyncio.wrap_future(hardware.config_xml(host, self.owner.vm))
        except TvirtError as exc:
            self._say(str(exc))
            return
        self._loaded(xml)

    def _loaded(self, xml: str) -> None:
        self.editor.text = xml
        self.saved = xml
        self._say("ctrl+s defines the edited XML; escape goes back (asking first if unsaved).")

    def _say(self, text: str) -> None:
        self.query_one("#xml-status", Static).update(text)

    def _refuse(self, sentence: str) -> None:
        """A refusal is on the status line, far from the line being edited: in
        screen-reader mode it is also read at once, on a page of its own."""
        self._say(sentence)
        read_out(self, sentence)

    def action_save(self) -> None:
        if why := self.owner._refused(f"change the XML of {self.owner.vm.name}"):
            self._refuse(why)
            return
        self._save(self.editor.text)

    def action_back(self) -> None:
        if not self.unsaved:
            self.dismiss()
            return

        def answered(answer: Confirmed | None) -> None:
            if answer is None:
                self._say("Kept the edits: ctrl+s defines them, escape asks again.")
            else:
                self.owner.status(f"Discarded the XML edits of {self.owner.vm.name}.")
                self.dismiss()

        self.app.push_screen(
            ConfirmDialog(
                f"Discard your edits to the XML of {self.owner.vm.name}?",
                [self.owner.vm.name],
                "The VM keeps the XML it has; what you typed here is lost.",
                "Yes, discard",
            ),
            answered,
        )

    @work(exit_on_error=False)
    async def _save(self, text: str) -> None:
        host = self.owner._worker()
        if host is None:
            self._refuse(f"Not saved: {self.owner._gone()}")
            return
        try:
            message = await asyncio.wrap_future(hardware.define_xml(host, self.owner.vm, text))
        except TvirtError as exc:
            self._refuse(f"Not saved: {exc}")
            return
        self._saved(text, message)
        self.owner.reload()

    def _saved(self, text: str, message: str) -> None:
        self.saved = text
        self._say(message)


def _check(valid: Callable[[str], object]) -> Callable[[str], str]:
    """A form field's check from one of tvirt.validate's: its sentence, or ""."""

    def check(text: str) -> str:
        try:
            valid(text)
        except validate.Invalid as exc:
            return str(exc)
        return ""

    return check


def open_hardware(app: TvirtApp, vm: VMInfo | None) -> None:
    if vm is None:
        app.say("No VM is selected to show.", ok=False)
        return
    if vm.host_id not in app.manager.workers:
        app.say(f"The host of {vm.name} is not connected.", ok=False)
        return
    host = app.hosts.get(vm.host_id)
    app.push_screen(VMHardwareScreen(vm, host.label if host else vm.host_id))
