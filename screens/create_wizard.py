"""The new-VM wizard: four steps, each checked before the next, then the domain XML.

It behaves as every form does (screens/form.py): the step's first field has the focus,
Enter goes to the next field and from the last one to the next step, a refusal keeps
what was typed, and every choice is a list. Only the fields the choices so far need are
shown. It is a screens/wizard.py Wizard. Every host call (host limits, the files a step
names, the XML preview, creating) is a tvirt.ops.create operation, awaited.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Footer, Header, Input, Label, Static, TextArea

from tvirt import validate
from tvirt.errors import TvirtError
from tvirt.ops import create as ops_create
from tvirt.readonly import refusal
from tvirt.sizes import format_size
from tvirt.vmcreate import (
    choose_domain_type,
    default_domain_type,
)
from tvirt.vmspec import (
    DISK_FORMATS,
    OS_HINTS,
    STEPS,
    DiskKind,
    HostLimits,
    NetKind,
    Source,
    VMSpec,
    disk_space_warning,
    parse_size_mib,
    spec_paths,
    step_problems,
)

from .base import TvirtScreen
from .form import ERROR_ID, FIELD_TYPES, Choice, form_bindings
from .wizard import Wizard
from .words import plural

if TYPE_CHECKING:
    from .app import TvirtApp

TITLES = (*STEPS, "summary: the domain XML (editable)")
SOURCES = (
    (Source.PXE.value, "Network boot (PXE)"),
    (Source.ISO.value, "ISO image"),
    (Source.KERNEL.value, "Direct kernel boot"),
    (Source.IMPORT.value, "Import an existing disk"),
)
DISKS = (
    (DiskKind.NEW.value, "New volume in a pool"),
    (DiskKind.EXISTING.value, "Existing volume or file"),
    (DiskKind.NONE.value, "No disk"),
)
IMPORTED = ((DiskKind.EXISTING.value, "The disk to import (step 1)"),)
NETS = (
    (NetKind.NETWORK.value, "Libvirt network"),
    (NetKind.BRIDGE.value, "Host bridge"),
    (NetKind.NONE.value, "No network"),
)
YES_NO = (("yes", "yes"), ("no", "no"))
# Which fields each choice needs: (choice id, its value) -> field ids shown only then.
ONLY_WHEN: dict[str, tuple[str, str]] = {
    "iso": ("source", Source.ISO.value),
    "kernel": ("source", Source.KERNEL.value),
    "initrd": ("source", Source.KERNEL.value),
    "cmdline": ("source", Source.KERNEL.value),
    "import": ("source", Source.IMPORT.value),
    "pool": ("disk", DiskKind.NEW.value),
    "size": ("disk", DiskKind.NEW.value),
    "format": ("disk", DiskKind.NEW.value),
    "disk-path": ("disk", DiskKind.EXISTING.value),
    "network": ("net", NetKind.NETWORK.value),
    "bridge": ("net", NetKind.BRIDGE.value),
}
# Which step's check owns a field (a refusal goes to the first field named in it).
FIELD_WORDS = (
    ("name", "name"),
    ("ISO", "iso"),
    ("kernel", "kernel"),
    ("initrd", "initrd"),
    ("import", "import"),
    ("Importing", "import"),
    ("already exists", "name"),
    ("memory", "memory"),
    ("Memory", "memory"),
    ("vCPU", "vcpus"),
    ("size", "size"),
    ("pool", "pool"),
    ("format", "format"),
    ("existing disk", "disk-path"),
    ("network", "network"),
    ("bridge", "bridge"),
    ("OS hint", "os"),
    ("guests", "virt-type"),
)


def _field(label: str, widget: Widget) -> ComposeResult:
    yield Label(label, classes="wizard-label", id=f"label-{widget.id}")
    yield widget


class CreateWizard(Wizard, TvirtScreen[None]):
    """New VM on one host. Enter: next field or step; ctrl+b: back; ctrl+s: create."""

    BINDINGS: ClassVar[list[BindingType]] = form_bindings(
        "advance", "back", "create", "cancel", footer=True
    )
    DEFAULT_CSS = """
    CreateWizard .wizard-label { margin-top: 1; }
    CreateWizard #form-error { color: $error; height: auto; min-height: 1; padding: 0 1; }
    CreateWizard #wizard-step { text-style: bold; padding: 0 1; }
    CreateWizard #wizard-keys { color: $text-muted; padding: 0 1; }
    CreateWizard ContentSwitcher { height: 1fr; }
    CreateWizard ContentSwitcher > VerticalScroll { height: 1fr; padding: 0 1; }
    CreateWizard #xml { height: 1fr; min-height: 10; }
    """

    what = "New VM"

    def __init__(self, host_id: str, host_label: str) -> None:
        super().__init__()
        self.host_id = host_id
        self.host_label = host_label
        self.limits: HostLimits | None = None
        self.created: str = ""
        self._warned: tuple[str, int] | None = None  # the disk the user was warned about
        self._warning = ""

    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="wizard-step")
        with ContentSwitcher(initial="step-0"):
            with VerticalScroll(id="step-0"):
                yield from _field("Name", Input(placeholder="letters, digits, . _ + -", id="name"))
                yield from _field("Install source", Choice(SOURCES, id="source"))
                yield from _field("ISO path", Input(placeholder="/path/to/image.iso", id="iso"))
                yield from _field("Kernel path", Input(id="kernel"))
                yield from _field("Initrd path (optional)", Input(id="initrd"))
                yield from _field("Kernel command line", Input("console=ttyS0", id="cmdline"))
                yield from _field("Path of the disk to import", Input(id="import"))
            with VerticalScroll(id="step-1"):
                yield Static("Reading the host's limits...", id="limits")
                yield from _field("Memory (e.g. 512M, 2G)", Input("512M", id="memory"))
                yield from _field("vCPUs", Input("1", id="vcpus"))
            with VerticalScroll(id="step-2"):
                yield from _field("Disk", Choice(DISKS, id="disk"))
                yield from _field("Pool", Choice(id="pool"))
                yield from _field("Size (e.g. 8G)", Input("8G", id="size"))
                yield from _field("Format", Choice([(f, f) for f in DISK_FORMATS], id="format"))
                yield from _field("Path of the volume or file", Input(id="disk-path"))
            with VerticalScroll(id="step-3"):
                yield from _field("Network", Choice(NETS, id="net"))
                yield from _field("Libvirt network", Choice(id="network"))
                yield from _field("Bridge name", Input(placeholder="br0", id="bridge"))
                yield from _field(
                    "Serial console (for tvirt's console)", Choice(YES_NO, id="serial")
                )
                yield from _field(
                    "Graphics: VNC on 127.0.0.1", Choice(YES_NO, "no", id="graphics")
                )
                yield from _field(
                    "OS hint (linux: virtio devices)",
                    Choice([(h, h) for h in OS_HINTS], id="os"),
                )
                yield from _field("Virtualization type", Choice(id="virt-type"))
                yield Static("", id="virt-why")  # which type is the default, and why
            with VerticalScroll(id="step-4"):
                yield Static(id="summary-warning")
                yield from _field(
                    "Start after creation (opens its console)", Choice(YES_NO, "no", id="start")
                )
                yield TextArea.code_editor("", language="xml", id="xml")
        yield Static("", id=ERROR_ID)
        yield Static(id="wizard-keys")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"New VM on {self.host_label}"
        self._show_only_needed()
        self.go_to(0)
        self._load_limits()

    # -- host limits --------------------------------------------------------
    @work(exit_on_error=False, group="wizard")
    async def _load_limits(self) -> None:
        worker = self.tvirt.manager.workers.get(self.host_id)
        if worker is None:
            return
        try:
            limits = await asyncio.wrap_future(ops_create.limits(worker))
        except TvirtError as exc:
            self.refuse(f"Could not read the host: {exc}")
            return
        self._got_limits(limits)

    def _got_limits(self, limits: HostLimits) -> None:
        self.limits = limits
        self.query_one("#limits", Static).update(
            Content(
                f"{self.host_label} has {limits.memory_mib} MiB of memory and "
                f"{plural(limits.cpus, 'CPU')}."
            )
        )
        pools = []
        for name in limits.pools:
            free = limits.free_bytes(name)
            pools.append((name, f"{name}: {format_size(free)} free" if free is not None
                          else f"{name}: not running"))
        self.query_one("#pool", Choice).set_choices(pools)
        self.query_one("#network", Choice).set_choices([(n, n) for n in limits.networks])
        kind, why = choose_domain_type(limits)
        self.query_one("#virt-type", Choice).set_choices(
            [(t, t) for t in limits.domain_types], kind
        )
        self.query_one("#virt-why", Static).update(Content(f"Default {why}"))

    # -- reading the fields -------------------------------------------------
    def _value(self, widget_id: str) -> str:
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Choice):
            return widget.value
        assert isinstance(widget, Input)
        return widget.value.strip()

    def spec(self) -> VMSpec:
        """The fields as a VMSpec; bad numbers raise ValueError with one sentence."""
        source = Source(self._value("source"))
        disk = DiskKind(self._value("disk") or DiskKind.NONE.value)
        if source is Source.IMPORT:
            disk = DiskKind.EXISTING
        size = 0
        if disk is DiskKind.NEW:
            size = parse_size_mib(self._value("size"), "disk size")
        net = NetKind(self._value("net"))
        net_source = {NetKind.NETWORK: "network", NetKind.BRIDGE: "bridge"}.get(net)
        return VMSpec(
            name=self._value("name"),
            memory_mib=parse_size_mib(self._value("memory"), "memory"),
            vcpus=validate.vcpus(self._value("vcpus")),
            source=source,
            iso=self._value("iso") if source is Source.ISO else "",
            kernel=self._value("kernel") if source is Source.KERNEL else "",
            initrd=self._value("initrd") if source is Source.KERNEL else "",
            cmdline=self._value("cmdline") if source is Source.KERNEL else "",
            disk=disk,
            disk_pool=self._value("pool"),
            disk_size_mib=size,
            disk_format=self._value("format"),
            disk_path=self._value("import" if source is Source.IMPORT else "disk-path"),
            net=net,
            net_source=self._value(net_source) if net_source else "",
            serial=self._value("serial") == "yes",
            graphics=self._value("graphics") == "yes",
            os_hint=self._value("os"),
            domain_type=self._value("virt-type"),
        )

    def check_step(self, step: int) -> list[str]:
        """This step's problems; numbers are only checked on the step that asks for them."""
        try:
            spec = self.spec()
        except ValueError as exc:
            text = str(exc)
            owner = 1 if ("memory" in text or "vCPU" in text) else 2
            if step == owner:
                return [text]
            return [] if step < owner else [text]
        return step_problems(spec, STEPS[step], self.limits)

    def field_at_fault(self, sentence: str) -> Widget | None:
        """The shown field of this step a refusal is about, to put the focus there."""
        shown = self.page_fields()
        for words, widget_id in FIELD_WORDS:
            if words in sentence:
                found = [w for w in shown if w.id == widget_id]
                if found:
                    return found[0]
        return None

    # -- which fields show ----------------------------------------------------
    def _show_only_needed(self) -> None:
        """Hide the fields the choices so far do not need (an ISO path for PXE...)."""
        values = {cid: self._value(cid) for cid in ("source", "disk", "net")}
        for field_id, (choice_id, wanted) in ONLY_WHEN.items():
            shown = values[choice_id] == wanted
            self.query_one(f"#{field_id}").display = shown
            self.query_one(f"#label-{field_id}").display = shown

    @on(Choice.Changed)
    def _choice_changed(self, event: Choice.Changed) -> None:
        if event.choice.id == "source":
            imported = event.value == Source.IMPORT.value
            disk = self.query_one("#disk", Choice)
            disk.set_choices(IMPORTED if imported else DISKS,
                             DiskKind.EXISTING.value if imported else None)
        if event.choice.id in ("source", "disk", "net"):
            self._show_only_needed()
        self.query_one(f"#{ERROR_ID}", Static).update("")

    # -- moving between steps -------------------------------------------------
    def step_titles(self) -> tuple[str, ...]:
        return TITLES

    def show_page(self) -> None:
        self.query_one(ContentSwitcher).current = f"step-{self.step}"
        last = self.step == len(STEPS)
        self.query_one("#wizard-keys", Static).update(
            Content(
                "Enter: create (from the XML editor: Ctrl+S).  Ctrl+B: back.  Escape: cancel."
                if last
                else "Enter: next field, then the next step.  Arrows choose in lists.  "
                "Ctrl+B: back.  Escape: cancel."
            )
        )
        self.call_after_refresh(self._focus_step)

    def _focus_step(self) -> None:
        """The first field, with the step scrolled to its top: focusing alone scrolls only
        as far as the field, and left its label above the view on a long step."""
        page = self.query_one(f"#step-{self.step}", VerticalScroll)
        # In page order, not the focus chain's: that sorts by where the fields are drawn,
        # and a step not laid out yet (screen-reader mode pairs each field with its label
        # first) put its Size field before its Disk choice on a busy terminal.
        fields = [w for w in page.query("*") if isinstance(w, FIELD_TYPES) and w.display
                  and w.focusable]
        if fields:
            fields[0].focus(scroll_visible=False)
        page.scroll_home(animate=False)

    async def check_page(self) -> tuple[str, Widget | None] | None:
        """The step's own checks, the disk-space warning (once), then the files it names,
        asked on the host's worker."""
        if self.step == len(STEPS):
            return None
        found = self.check_step(self.step)
        if found:
            return " ".join(found), self.field_at_fault(found[0])
        if self.step == 2 and not self._disk_acknowledged():
            # The focus stays where Enter was pressed, so Enter again goes on.
            return f"{self._warning} Press Enter again to go on anyway.", None
        try:
            spec: VMSpec | None = self.spec()
        except ValueError:
            spec = None  # a later step's field is wrong; that step says so
        if spec is None or not spec_paths(spec, STEPS[self.step]):
            return None
        self.refuse(f"Checking the files on {self.host_label}...")
        step = STEPS[self.step]
        worker = self.tvirt.manager.workers[self.host_id]
        try:
            found = await asyncio.wrap_future(ops_create.path_problems(worker, spec, step))
        except TvirtError as exc:
            found = [f"Could not check the files: {exc}"]
        if found:
            return " ".join(found), self.field_at_fault(found[0])
        return None

    def go_to(self, step: int) -> None:
        super().go_to(step)
        if step == len(STEPS):
            spec = self.spec()
            self.query_one("#summary-warning", Static).update(
                Content(disk_space_warning(spec, self.limits))
            )
            self._preview(spec)

    async def finish(self) -> None:
        self.action_create()

    def _disk_acknowledged(self) -> bool:
        """A disk larger than its pool's free space is warned about once; Enter again
        goes on (the volume is sparse, so it is allowed)."""
        spec = self.spec()
        warning = disk_space_warning(spec, self.limits)
        disk = (spec.disk_pool, spec.disk_size_mib)
        if not warning or self._warned == disk:
            return True
        self._warned, self._warning = disk, warning
        return False

    def action_cancel(self) -> None:
        self.tvirt.say(f"Cancelled: no VM was created on {self.host_label}.")
        self.leave(None)

    @work(exit_on_error=False, group="wizard")
    async def _preview(self, spec: VMSpec) -> None:
        worker = self.tvirt.manager.workers[self.host_id]
        try:
            xml = await asyncio.wrap_future(ops_create.build(worker, spec))
        except TvirtError as exc:
            self.refuse(f"Could not build the XML: {exc}")
            return
        self.query_one("#xml", TextArea).text = xml

    # -- creating -------------------------------------------------------------
    def action_create(self) -> None:
        if self.tvirt.readonly:
            self.refuse(refusal("create a VM"))
            return
        if self.step != len(STEPS):
            self.refuse("Not yet: go through every step first (Enter); the summary creates.")
            return
        found = [p for i in range(len(STEPS)) for p in self.check_step(i)]
        if found:
            self.refuse(" ".join(found))
            return
        spec = self.spec()
        if not spec.domain_type and self.limits:
            spec = replace(spec, domain_type=default_domain_type(self.limits))
        self.refuse(f"Creating {spec.name}...")
        self._create(spec, self.query_one("#xml", TextArea).text, self._value("start") == "yes")

    @work(exit_on_error=False, group="wizard")
    async def _create(self, spec: VMSpec, xml: str, start: bool) -> None:
        worker = self.tvirt.manager.workers[self.host_id]
        try:
            done = await asyncio.wrap_future(
                ops_create.create(worker, spec, xml=xml, start=start)
            )
        except TvirtError as exc:
            # A CreateError, or libvirt's own words: the XML stays in the editor to fix.
            self.refuse(str(exc))
            return
        self._finished(done.message, done.uuid, done.state == "running")

    def _finished(self, message: str, uuid: str, started: bool) -> None:
        self.created = uuid
        self.tvirt.say(f"{message} (on {self.host_label})")
        self.dismiss()
        if started:
            from tvirt.model import VMInfo, VMState

            from .console import open_console

            spec = self.spec()
            vm = VMInfo(
                self.host_id,
                uuid,
                spec.name,
                VMState.RUNNING,
                spec.vcpus,
                spec.memory_mib * 1024,
                autostart=False,
            )
            self.tvirt.call_later(open_console, self.tvirt, vm)


def open_wizard(app: TvirtApp, host_id: str | None) -> None:
    """The wizard for the selected host, or one sentence why not."""
    host = app.hosts.get(host_id or "")
    if host is None:
        app.say("No host is selected to create a VM on.", ok=False)
        return
    if app.readonly:
        app.say(refusal("create a VM"), ok=False)
        return
    from tvirt.model import HostState

    if host.state is not HostState.CONNECTED:
        app.say(
            f"{host.label} is {host.state.word}; a VM can only be created on a connected host.",
            ok=False,
        )
        return
    app.push_screen(CreateWizard(host.host_id, host.label))
