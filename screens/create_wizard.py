"""The new-VM wizard: five steps, each checked before the next, then the domain XML.

Every libvirt call (host limits, the XML preview, creating) runs in a thread worker on
the host's worker thread (`HostWorker.call`); the screen only reads its fields.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar, cast

import libvirt
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import (
    Checkbox,
    ContentSwitcher,
    Footer,
    Header,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    TextArea,
)

from tvirt import validate
from tvirt.keys import NEW_VM_KEYS
from tvirt.readonly import refusal
from tvirt.vmcreate import (
    CreateError,
    choose_domain_type,
    create,
    default_domain_type,
    host_limits,
    path_problems,
)
from tvirt.vmcreate import planned_disk_path as _planned
from tvirt.vmspec import (
    STEPS,
    DiskKind,
    HostLimits,
    NetKind,
    Source,
    VMSpec,
    build_xml,
    parse_size_mib,
    spec_paths,
    step_problems,
)

from .threads import deliver

if TYPE_CHECKING:
    from .app import TvirtApp

TITLES = (*(s[:1].upper() + s[1:] for s in STEPS), "Summary: the domain XML (editable)")
_FOOTER = {"next_step": "Next", "previous_step": "Back", "create": "Create", "cancel": "Cancel"}
SOURCES = (Source.ISO, Source.KERNEL, Source.IMPORT, Source.PXE)
DISKS = (DiskKind.NEW, DiskKind.EXISTING, DiskKind.NONE)
NETS = (NetKind.NETWORK, NetKind.BRIDGE, NetKind.NONE)


def _field(label: str, widget: Input) -> ComposeResult:
    yield Label(label, classes="wizard-label")
    yield widget


class CreateWizard(Screen[None]):
    """New VM on one host. ctrl+n: next step, ctrl+b: back, ctrl+s: create."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            k.key,
            k.action,
            _FOOTER[k.action],
            priority=k.key.startswith("ctrl"),
            tooltip=k.description,
        )
        for k in NEW_VM_KEYS
    ]
    DEFAULT_CSS = """
    CreateWizard .wizard-label { margin-top: 1; }
    CreateWizard #wizard-problems { color: $error; height: auto; min-height: 1; }
    CreateWizard #wizard-step { text-style: bold; }
    CreateWizard ContentSwitcher { height: 1fr; }
    CreateWizard ContentSwitcher > VerticalScroll { height: 1fr; }
    CreateWizard #wizard-step { padding: 0 1; }
    CreateWizard #wizard-problems { padding: 0 1; }
    CreateWizard #xml { height: 1fr; min-height: 10; }
    CreateWizard RadioSet { width: 100%; }
    """

    def __init__(self, host_id: str, host_label: str) -> None:
        super().__init__()
        self.host_id = host_id
        self.host_label = host_label
        self.step = 0
        self.limits: HostLimits | None = None
        self.created: str = ""

    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="wizard-step")
        with ContentSwitcher(initial="step-0"):
            with VerticalScroll(id="step-0"):
                yield from _field("Name", Input(placeholder="letters, digits, . _ + -", id="name"))
                yield Label("Install source", classes="wizard-label")
                with RadioSet(id="source"):
                    yield RadioButton("ISO image")
                    yield RadioButton("Direct kernel boot")
                    yield RadioButton("Import an existing disk")
                    yield RadioButton("Network boot (PXE)", value=True)
                yield from _field("ISO path (ISO source)", Input(id="iso"))
                yield from _field("Kernel path (kernel boot)", Input(id="kernel"))
                yield from _field("Initrd path (kernel boot)", Input(id="initrd"))
                yield from _field("Kernel command line", Input("console=ttyS0", id="cmdline"))
                yield from _field("Disk to import (import source)", Input(id="import"))
            with VerticalScroll(id="step-1"):
                yield Static("Reading the host's limits...", id="limits")
                yield from _field("Memory (e.g. 512M, 2G)", Input("512M", id="memory"))
                yield from _field("vCPUs", Input("1", id="vcpus"))
            with VerticalScroll(id="step-2"):
                with RadioSet(id="disk"):
                    yield RadioButton("New volume in a pool", value=True)
                    yield RadioButton("Existing volume or file")
                    yield RadioButton("No disk")
                yield from _field("Pool (new volume)", Input(id="pool"))
                yield from _field("Size (new volume, e.g. 8G)", Input("8G", id="size"))
                yield from _field("Format (qcow2 or raw)", Input("qcow2", id="format"))
                yield from _field("Path (existing volume or file)", Input(id="disk-path"))
            with VerticalScroll(id="step-3"):
                with RadioSet(id="net"):
                    yield RadioButton("Libvirt network", value=True)
                    yield RadioButton("Host bridge")
                    yield RadioButton("No network")
                yield from _field("Network or bridge name", Input("default", id="net-source"))
                yield Checkbox("Serial console (for tvirt's console)", True, id="serial")
                yield Checkbox("Graphics: VNC on 127.0.0.1", False, id="graphics")
                yield from _field(
                    "OS hint: linux (virtio), generic or windows", Input("linux", id="os")
                )
                yield from _field("Virtualization type: kvm or qemu", Input("", id="virt-type"))
                yield Static("", id="virt-why")  # which type is the default, and why
            with VerticalScroll(id="step-4"):
                yield TextArea.code_editor("", language="xml", id="xml")
                yield Checkbox("Start after creation (opens its console)", False, id="start")
        yield Static("", id="wizard-problems")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"New VM on {self.host_label}"
        self._show_step()
        self.query_one("#name", Input).focus()
        self._load_limits()

    # -- host limits --------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="wizard")
    def _load_limits(self) -> None:
        worker = self.tvirt.manager.workers.get(self.host_id)
        if worker is None:
            return
        try:
            limits = worker.call(host_limits).result(30)
        except Exception as exc:
            deliver(self, self._problems, [f"Could not read the host: {exc}"])
            return
        deliver(self, self._got_limits, limits)

    def _got_limits(self, limits: HostLimits) -> None:
        self.limits = limits
        self.query_one("#limits", Static).update(
            f"{self.host_label} has {limits.memory_mib} MiB of memory and {limits.cpus} CPUs; "
            f"pools: {', '.join(limits.pools) or 'none'}; networks: "
            f"{', '.join(limits.networks) or 'none'}."
        )
        virt = self.query_one("#virt-type", Input)
        kind, why = choose_domain_type(limits)
        if not virt.value:
            virt.value = kind
        self.query_one("#virt-why", Static).update(Content(f"Default {why}"))
        pool = self.query_one("#pool", Input)
        if not pool.value and limits.pools:
            pool.value = limits.pools[0]

    # -- reading the fields -------------------------------------------------
    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def _choice(self, widget_id: str) -> int:
        return max(0, self.query_one(f"#{widget_id}", RadioSet).pressed_index)

    def spec(self) -> VMSpec:
        """The fields as a VMSpec; bad numbers raise ValueError with one sentence."""
        source = SOURCES[self._choice("source")]
        disk = DISKS[self._choice("disk")]
        if source is Source.IMPORT:
            disk = DiskKind.EXISTING
        size = 0
        if disk is DiskKind.NEW:
            size = parse_size_mib(self._value("size"), "disk size")
        net = NETS[self._choice("net")]
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
            net_source=self._value("net-source") if net is not NetKind.NONE else "",
            serial=self.query_one("#serial", Checkbox).value,
            graphics=self.query_one("#graphics", Checkbox).value,
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

    # -- moving between steps -------------------------------------------------
    def _show_step(self) -> None:
        self.query_one(ContentSwitcher).current = f"step-{self.step}"
        self.query_one("#wizard-step", Static).update(
            f"Step {self.step + 1} of {len(TITLES)}: {TITLES[self.step]}"
        )

    def _problems(self, found: list[str]) -> None:
        self.query_one("#wizard-problems", Static).update("\n".join(found))

    def action_next_step(self) -> None:
        if self.step >= len(STEPS):
            self._problems(["This is the last step: ctrl+s creates the VM."])
            return
        found = self.check_step(self.step)
        self._problems(found)
        if found:
            return
        try:
            spec = self.spec()
        except ValueError:
            spec = None  # a later step's field is wrong; that step says so
        if spec is not None and spec_paths(spec, STEPS[self.step]):
            self._problems([f"Checking the files on {self.host_label}..."])
            self._check_paths(self.step, spec)
            return
        self._advance()

    @work(thread=True, exit_on_error=False, group="wizard")
    def _check_paths(self, step: int, spec: VMSpec) -> None:
        """The files a step names must exist on the host: asked on its worker."""
        worker = self.tvirt.manager.workers[self.host_id]
        try:
            found = worker.call(lambda conn: path_problems(conn, spec, STEPS[step])).result(60)
        except Exception as exc:
            found = [f"Could not check the files: {exc}"]
        deliver(self, self._paths_checked, step, found)

    def _paths_checked(self, step: int, found: list[str]) -> None:
        self._problems(found)
        if not found and self.step == step:
            self._advance()

    def _advance(self) -> None:
        self.step += 1
        self._show_step()
        if self.step == len(STEPS):
            self._preview(self.spec())

    def action_previous_step(self) -> None:
        if self.step > 0:
            self.step -= 1
            self._problems([])
            self._show_step()

    def action_cancel(self) -> None:
        self.tvirt.say(f"Cancelled: no VM was created on {self.host_label}.")
        self.dismiss()

    @on(RadioSet.Changed)
    def _radio_changed(self) -> None:
        self._problems([])

    @work(thread=True, exit_on_error=False, group="wizard")
    def _preview(self, spec: VMSpec) -> None:
        worker = self.tvirt.manager.workers[self.host_id]

        def build(conn: libvirt.virConnect) -> str:
            fmt = spec.disk_format if spec.disk is DiskKind.NEW else ""
            return build_xml(spec, _planned(conn, spec), fmt)

        try:
            xml = worker.call(build).result(30)
        except Exception as exc:
            deliver(self, self._problems, [f"Could not build the XML: {exc}"])
            return
        deliver(self, self._show_xml, xml)

    def _show_xml(self, xml: str) -> None:
        self.query_one("#xml", TextArea).text = xml

    # -- creating -------------------------------------------------------------
    def action_create(self) -> None:
        if self.tvirt.readonly:
            self._problems([refusal("create a VM")])
            return
        if self.step != len(STEPS):
            self._problems(["Go through every step first (ctrl+n); the last one creates."])
            return
        found = [p for i in range(len(STEPS)) for p in self.check_step(i)]
        if found:
            self._problems(found)
            return
        spec = self.spec()
        if not spec.domain_type and self.limits:
            spec = replace(spec, domain_type=default_domain_type(self.limits))
        self._problems([f"Creating {spec.name}..."])
        self._create(
            spec, self.query_one("#xml", TextArea).text, self.query_one("#start", Checkbox).value
        )

    @work(thread=True, exit_on_error=False, group="wizard")
    def _create(self, spec: VMSpec, xml: str, start: bool) -> None:
        worker = self.tvirt.manager.workers[self.host_id]
        try:
            done = worker.call(lambda conn: create(conn, spec, xml=xml, start=start)).result(120)
        except CreateError as exc:
            deliver(self, self._problems, [str(exc)])
            return
        except libvirt.libvirtError as exc:
            # libvirt's own words: the XML stays in the editor to fix.
            deliver(self, self._problems, [str(exc.get_error_message() or exc)])
            return
        deliver(self, self._finished, done.message, done.uuid, done.state == "running")

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
