"""Step-by-step wizards: a new volume and a new pool.

Each step checks its answer before the next one shows; a refusal stays on the step with
a sentence saying why. The last step shows the exact XML that will be sent to libvirt,
and nothing is created until it is confirmed there.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar, TypeVar

import libvirt
from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Button, Input, Static

from tvirt import storage
from tvirt.errors import explain
from tvirt.host import HostWorker
from tvirt.sizes import SizeError, format_size, parse_size

from .base import TvirtModal
from .dialogs import quit_bindings
from .form import ERROR_ID, Choice, FormMixin, form_bindings, step_words

R = TypeVar("R")
T = TypeVar("T")


@dataclass
class Step:
    """One page: a text field or a list of choices (or the summary), and its check.

    ``accept`` gets the answer (the input's text or the chosen option's id) and raises
    StorageError or SizeError with a sentence to refuse it.
    """

    id: str
    title: str
    text: Callable[[], str]
    accept: Callable[[str], Awaitable[None]]
    value: Callable[[], str] = lambda: ""
    options: Callable[[], list[tuple[str, str]]] | None = None
    placeholder: str = ""
    summary: bool = False


class Wizard(FormMixin, TvirtModal[R]):
    """One step at a time: a text field or a list of choices, then the summary.

    The behaviour of every form (screens/form.py): the step's field has the focus, Enter
    goes on, a refusal keeps what was typed. `total_steps` is None while an answer still
    decides how many steps follow, so the count never changes under the user's eyes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *form_bindings("back", "create", "cancel"),
        *quit_bindings(),  # a modal screen does not pass q on to the app
    ]
    DEFAULT_CSS = """
    Wizard .dialog-box { width: 96; }
    Wizard #wiz-options { height: auto; max-height: 12; }
    Wizard #wiz-warning { height: auto; margin-bottom: 1; }
    Wizard #wiz-xml { height: auto; max-height: 16; border: round $primary; }
    """
    what = "wizard"

    def __init__(self, worker: HostWorker) -> None:
        super().__init__(classes="dialog")
        self.worker = worker
        self.index = 0
        self.working = False
        self.attempts = 0  # answers checked so far (tests wait on it)

    def steps(self) -> list[Step]:
        raise NotImplementedError

    def total_steps(self) -> int | None:
        return len(self.steps())

    def summary_xml(self) -> str:
        raise NotImplementedError

    def summary_warning(self) -> str:
        return ""

    async def finish(self) -> R:
        raise NotImplementedError

    @property
    def current_step(self) -> Step:
        return self.steps()[self.index]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(id="wiz-title", classes="dialog-title")
            yield Static(id="wiz-text", classes="dialog-text")
            yield Input(id="wiz-input")
            yield Choice(id="wiz-options")
            yield Static(id="wiz-warning", classes="dialog-error")
            with VerticalScroll(id="wiz-xml"):
                yield Static(id="wiz-xml-text")
            yield Static("", id=ERROR_ID, classes="dialog-error")
            yield Static(id="wiz-keys", classes="dialog-keys")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Back", id="back")
                yield Button("Next", variant="primary", id="next")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#wiz-xml").border_title = "The XML that goes to libvirt"
        self.show_step()

    def show_step(self) -> None:
        """Enter the current step: its words, its field filled from the answers so far."""
        step = self.current_step
        self.query_one("#wiz-title", Static).update(
            Content(step_words(self.what, self.index, self.total_steps(), step.title))
        )
        self.query_one("#wiz-text", Static).update(Content(step.text()))
        entry = self.query_one("#wiz-input", Input)
        options = self.query_one("#wiz-options", Choice)
        xml = self.query_one("#wiz-xml")
        warning = self.query_one("#wiz-warning", Static)
        entry.display = step.options is None and not step.summary
        options.display = step.options is not None
        xml.display = step.summary
        warning_text = self.summary_warning() if step.summary else ""
        warning.display = bool(warning_text)
        warning.update(Content(warning_text))
        self.query_one("#back", Button).disabled = self.index == 0
        nxt = self.query_one("#next", Button)
        nxt.label = "Create" if step.summary else "Next"
        first = "Enter: create" if step.summary else "Enter: next step"
        choose = "Arrows choose.  " if step.options is not None else ""
        self.query_one("#wiz-keys", Static).update(
            Content(f"{choose}{first}.  Ctrl+B: back.  Escape: cancel, creating nothing.")
        )
        self.query_one(f"#{ERROR_ID}", Static).update("")
        if step.summary:
            self.query_one("#wiz-xml-text", Static).update(Content(self.summary_xml()))
            nxt.focus()
        elif step.options is not None:
            options.set_choices(step.options(), step.value())
            options.focus()
        else:
            entry.value = step.value()
            entry.placeholder = step.placeholder
            entry.cursor_position = len(entry.value)
            entry.focus()

    def answer(self) -> str:
        if self.current_step.options is not None:
            return self.query_one("#wiz-options", Choice).value
        return self.query_one("#wiz-input", Input).value.strip()

    def field(self) -> Widget | None:
        step = self.current_step
        if step.summary:
            return None
        return self.query_one("#wiz-options" if step.options is not None else "#wiz-input")

    async def submit_page(self) -> None:
        await self.action_next()

    async def action_next(self) -> None:
        if self.working:
            return
        step = self.current_step
        self.working = True
        try:
            if step.summary:
                try:
                    result = await self.finish()
                except Exception as exc:
                    self.refuse(f"Not created: {_why(exc)}")
                    return
                self.dismiss(result)
                return
            try:
                await step.accept(self.answer())
            except Exception as exc:
                self.refuse(f"Not accepted: {_why(exc)}", self.field())
                return
            self.index += 1
            self.show_step()
        finally:
            self.working = False
            self.attempts += 1

    async def action_create(self) -> None:
        if self.current_step.summary:
            await self.action_next()
            return
        self.refuse("Not yet: go through every step first; the summary step creates.")

    def action_back(self) -> None:
        if self.index > 0:
            self.index -= 1
            self.show_step()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#next")
    async def _next(self) -> None:
        await self.action_next()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    async def call(self, fn: Callable[[libvirt.virConnect], T]) -> T:
        return await asyncio.wrap_future(self.worker.call(fn))


@dataclass
class VolumeDraft:
    pool: storage.PoolInfo | None = None
    names: set[str] = field(default_factory=set)
    volumes: list[storage.VolumeInfo] = field(default_factory=list)
    spec: storage.VolumeSpec = field(default_factory=lambda: storage.VolumeSpec("", 0, ""))
    capacity_text: str = ""
    warning: str = ""


class VolumeWizard(Wizard[storage.VolumeInfo | None]):
    """Pool, name, format, capacity, allocation, backing (qcow2), then the XML."""

    what = "New volume"

    def __init__(self, worker: HostWorker, pools: list[storage.PoolInfo], pool: str = "") -> None:
        super().__init__(worker)
        self.pools = pools
        self.draft = VolumeDraft()
        self.preselect = pool

    def steps(self) -> list[Step]:
        d = self.draft
        steps = [
            Step(
                "pool",
                "pool",
                lambda: "Which pool holds the new volume? Only running pools are listed.",
                self._pool,
                value=lambda: d.pool.name if d.pool else self.preselect,
                options=lambda: [
                    (p.name, f"{p.name}: {p.type}, {format_size(p.available)} available")
                    for p in self.pools
                ],
            ),
            Step(
                "name",
                "name",
                lambda: (
                    f"Name of the volume in pool {self._pool_name()}: "
                    f"letters, digits and . _ - + : @, at most {storage.NAME_MAX} characters, "
                    "no path separators, not starting with a dot or dash, and not taken."
                ),
                self._accept_name,
                value=lambda: d.spec.name,
                placeholder="disk1.qcow2",
            ),
            Step(
                "format",
                "format",
                lambda: (
                    f"Format: those a {self._pool_type()} pool "
                    "supports. qcow2 grows as it is written and can have a backing volume; raw "
                    "is plain bytes."
                ),
                self._format,
                value=lambda: d.spec.format,
                options=lambda: [(f, f) for f in storage.formats_for(self._pool_type())],
            ),
            Step(
                "capacity",
                "capacity",
                lambda: (
                    "Capacity with a unit: 10G, 512MiB, "
                    "1.5 TiB, 100M (K M G T and KiB MiB GiB TiB are binary; KB MB GB TB "
                    f"decimal). {format_size(d.pool.available if d.pool else 0)} is available."
                ),
                self._capacity,
                value=lambda: d.capacity_text,
                placeholder="10G",
            ),
            Step(
                "allocation",
                "allocation",
                self._allocation_text,
                self._allocation,
                value=lambda: d.spec.allocation,
                options=lambda: [
                    (
                        a,
                        "sparse: take space as it is written"
                        if a == "sparse"
                        else "preallocated: take all the space now",
                    )
                    for a in storage.allocations_for(self._pool_type())
                ],
            ),
        ]
        # Always a step, so the count never changes: only qcow2 can have a backing volume.
        steps.append(
            Step(
                "backing",
                "backing volume",
                self._backing_text,
                self._backing,
                value=lambda: d.spec.backing or "-",
                options=self._backing_options,
            )
        )
        steps.append(Step("summary", "summary", self._summary_text, self._noop, summary=True))
        return steps

    def _pool_name(self) -> str:
        return self.draft.pool.name if self.draft.pool else "?"

    def _pool_type(self) -> str:
        return self.draft.pool.type if self.draft.pool else "dir"

    async def _noop(self, _answer: str) -> None:
        return None

    async def _pool(self, answer: str) -> None:
        pool = next((p for p in self.pools if p.name == answer), None)
        if pool is None:
            raise storage.StorageError("Choose one of the listed pools.")
        volumes = await self.call(lambda c: storage.list_volumes(c, pool.name))
        d = self.draft
        if d.pool is None or d.pool.name != pool.name:
            fmt = storage.formats_for(pool.type)[0]
            alloc = storage.allocations_for(pool.type)[0]
            d.spec = replace(d.spec, format=fmt, allocation=alloc, backing="", backing_format="")
        d.pool, d.volumes, d.names = pool, volumes, {v.name for v in volumes}

    async def _accept_name(self, answer: str) -> None:
        storage.check_name(answer, self.draft.names)
        self.draft.spec = replace(self.draft.spec, name=answer)

    async def _format(self, answer: str) -> None:
        if answer not in storage.formats_for(self._pool_type()):
            raise storage.StorageError("Choose one of the listed formats.")
        backing = self.draft.spec.backing if answer == "qcow2" else ""
        self.draft.spec = replace(self.draft.spec, format=answer, backing=backing)

    async def _capacity(self, answer: str) -> None:
        d = self.draft
        size = parse_size(answer)
        available = d.pool.available if d.pool else 0
        only = storage.allocations_for(self._pool_type())
        d.warning = storage.check_capacity(size, available, only[0] if len(only) == 1 else "sparse")
        d.capacity_text = answer
        d.spec = replace(d.spec, capacity=size)

    def _allocation_text(self) -> str:
        d = self.draft
        text = (
            f"Allocation of {format_size(d.spec.capacity)}: sparse volumes take space "
            "only as they are written; preallocated ones take it all now."
        )
        if self._pool_type() not in ("dir", "fs", "netfs", "gluster"):
            text += f" A {self._pool_type()} pool always preallocates."
        if d.warning:
            text += " " + d.warning + " Preallocation is refused for this size."
        return text

    async def _allocation(self, answer: str) -> None:
        d = self.draft
        if answer not in storage.allocations_for(self._pool_type()):
            raise storage.StorageError("Choose one of the listed allocations.")
        storage.check_capacity(d.spec.capacity, d.pool.available if d.pool else 0, answer)
        d.spec = replace(d.spec, allocation=answer)

    def _backing_text(self) -> str:
        if self.draft.spec.format != "qcow2":
            return f"A {self.draft.spec.format} volume has no backing volume."
        return (
            "Optionally, a backing volume: the new qcow2 starts as a copy-on-write layer "
            "over it, which must then never change."
        )

    def _backing_options(self) -> list[tuple[str, str]]:
        if self.draft.spec.format != "qcow2":
            return [("-", "none")]
        return [("-", "none")] + [
            (v.path, f"{v.name} ({v.format or v.type}, {format_size(v.capacity)})")
            for v in self.draft.volumes
        ]

    async def _backing(self, answer: str) -> None:
        d = self.draft
        if answer in ("", "-"):
            d.spec = replace(d.spec, backing="", backing_format="")
            return
        if d.spec.format != "qcow2":
            raise storage.StorageError("Only a qcow2 volume can have a backing volume.")
        vol = next((v for v in d.volumes if v.path == answer), None)
        if vol is None:
            raise storage.StorageError("Choose one of the listed volumes, or none.")
        d.spec = replace(d.spec, backing=vol.path, backing_format=vol.format or "raw")

    def _summary_text(self) -> str:
        s = self.draft.spec
        words = (
            f"Create {s.name} in pool {self._pool_name()}: {s.format}, "
            f"{format_size(s.capacity)}, {s.allocation}"
        )
        if s.backing:
            words += f", backed by {s.backing}"
        return words + "."

    def summary_warning(self) -> str:
        return self.draft.warning

    def summary_xml(self) -> str:
        return storage.volume_xml(self.draft.spec)

    async def finish(self) -> storage.VolumeInfo | None:
        pool = self._pool_name()
        spec = self.draft.spec
        return await self.call(lambda c: storage.volume_create(c, pool, spec))


_POOL_HELP = {
    "dir": "a directory on the host holding image files",
    "logical": "an LVM volume group; volumes are logical volumes",
    "disk": "a whole disk; volumes are its partitions",
    "netfs": "an NFS export mounted on the host",
    "gluster": "a gluster volume reached over the network",
}
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_-]*$")


def _need(ok: bool, sentence: str) -> None:
    if not ok:
        raise storage.StorageError(sentence)


@dataclass(frozen=True)
class Field:
    key: str
    title: str
    text: str
    placeholder: str
    check: Callable[[str], None]


def _abs(what: str) -> Callable[[str], None]:
    return lambda v: _need(
        v.startswith("/") and "\0" not in v, f"Give {what} as an absolute path, starting with /."
    )


def _devices(v: str) -> None:
    for dev in filter(None, (d.strip() for d in v.split(","))):
        _need(dev.startswith("/dev/"), f"{dev} is not a device path under /dev.")


def _gluster_dir(v: str) -> None:
    _need(
        v == "" or v.startswith("/"),
        "Give the directory as a path starting with /, or leave it empty for the volume's root.",
    )


_FIELDS: dict[str, tuple[Field, ...]] = {
    "dir": (
        Field(
            "target",
            "directory",
            "The directory that holds the pool's images.",
            "/var/lib/libvirt/images/pool",
            _abs("the directory"),
        ),
    ),
    "logical": (
        Field(
            "source_name",
            "volume group",
            "Name of the LVM volume group.",
            "vg0",
            lambda v: _need(
                bool(re.match(r"^[A-Za-z0-9_+][A-Za-z0-9_.+-]*$", v)),
                "Give the volume group's name: letters, digits and _ . + -.",
            ),
        ),
        Field(
            "devices",
            "physical volumes",
            "Its physical volumes, comma-separated, to "
            "build a new group; leave empty to use an existing group.",
            "/dev/sdb",
            _devices,
        ),
    ),
    "disk": (
        Field(
            "devices",
            "disk",
            "The whole disk, such as /dev/sdb.",
            "/dev/sdb",
            lambda v: _need(
                v.startswith("/dev/") and "," not in v,
                "Give one disk device under /dev, such as /dev/sdb.",
            ),
        ),
    ),
    "netfs": (
        Field(
            "host",
            "server",
            "The NFS server's host name or address.",
            "nfs.example.org",
            lambda v: _need(bool(_HOST.match(v)), "Give the server's host name or address."),
        ),
        Field(
            "source_dir",
            "export",
            "The exported directory on the server.",
            "/export",
            _abs("the export"),
        ),
        Field(
            "target",
            "mount point",
            "Where the host mounts it.",
            "/mnt/pool",
            _abs("the mount point"),
        ),
    ),
    "gluster": (
        Field(
            "host",
            "server",
            "A gluster server's host name or address.",
            "gluster1",
            lambda v: _need(bool(_HOST.match(v)), "Give the server's host name or address."),
        ),
        Field(
            "source_name",
            "gluster volume",
            "The gluster volume's name.",
            "gv0",
            lambda v: _need(
                bool(re.match(r"^[A-Za-z0-9_.-]+$", v)), "Give the gluster volume's name."
            ),
        ),
        Field(
            "source_dir",
            "directory",
            "A directory inside the volume (optional).",
            "/",
            _gluster_dir,
        ),
    ),
}
_BUILDS = {
    "dir": "Create the directory if it is missing",
    "logical": "Create the volume group on the physical volumes (erases them)",
    "disk": "Write a new, empty partition table (erases the disk)",
}


class PoolWizard(Wizard[str | None]):
    """Type, name, the type's own fields, whether to build it, then the XML."""

    what = "New pool"

    def __init__(self, worker: HostWorker, existing: list[str]) -> None:
        super().__init__(worker)
        self.existing = set(existing)
        self.spec = storage.PoolSpec("dir", "")
        self.values: dict[str, str] = {}
        self.build = False

    def steps(self) -> list[Step]:
        steps = [
            Step(
                "type",
                "type",
                lambda: "What kind of pool?",
                self._type,
                value=lambda: self.spec.type,
                options=lambda: [(t, f"{t}: {_POOL_HELP[t]}") for t in storage.POOL_TYPES],
            ),
            Step(
                "name",
                "name",
                lambda: (
                    "Name of the pool: letters, digits and . _ - + : @, "
                    "no path separators, not taken."
                ),
                self._accept_name,
                value=lambda: self.spec.name,
                placeholder="images",
            ),
        ]
        for f in _FIELDS[self.spec.type]:
            steps.append(self._field_step(f))
        if self.spec.type in _BUILDS:
            # Always a step for these types, so the count is known once the type is.
            steps.append(
                Step(
                    "build",
                    "build",
                    lambda: "Build the pool's storage now?",
                    self._build,
                    value=lambda: "yes" if self.build else "no",
                    options=self._build_options,
                )
            )
        steps.append(Step("summary", "summary", self._summary_text, self._noop, summary=True))
        return steps

    def total_steps(self) -> int | None:
        # The type decides the steps that follow: no count until it is chosen.
        return None if self.index == 0 else len(self.steps())

    def _can_build(self) -> bool:
        return self.spec.type != "logical" or bool(self.spec.devices)

    def _build_options(self) -> list[tuple[str, str]]:
        options = [("no", "No: use what is already there")]
        if self._can_build():
            options.append(("yes", f"Yes: {_BUILDS[self.spec.type]}"))
        return options

    async def _noop(self, _answer: str) -> None:
        return None

    async def _type(self, answer: str) -> None:
        _need(answer in storage.POOL_TYPES, "Choose one of the listed types.")
        if answer != self.spec.type:
            self.values, self.build = {}, False
        self.spec = replace(self.spec, type=answer)
        self._apply()

    async def _accept_name(self, answer: str) -> None:
        storage.check_name(answer, self.existing, "pool")
        self.spec = replace(self.spec, name=answer)

    def _field_step(self, f: Field) -> Step:
        async def accept(answer: str) -> None:
            f.check(answer)
            self.values[f.key] = answer
            self._apply()

        def text() -> str:
            return f.text

        def value() -> str:
            return self.values.get(f.key, "")

        return Step(f.key, f.title, text, accept, value=value, placeholder=f.placeholder)

    def _apply(self) -> None:
        v = self.values
        devices = tuple(filter(None, (d.strip() for d in v.get("devices", "").split(","))))
        self.spec = replace(
            self.spec,
            target=v.get("target", ""),
            host=v.get("host", ""),
            source_dir=v.get("source_dir", ""),
            source_name=v.get("source_name", ""),
            devices=devices,
        )

    async def _build(self, answer: str) -> None:
        _need(answer == "no" or self._can_build(), "Give physical volumes to build a group on.")
        self.build = answer == "yes"

    def _summary_text(self) -> str:
        build = " and build its storage" if self.build else ""
        return f"Define {self.spec.type} pool {self.spec.name}{build}, then start it."

    def summary_xml(self) -> str:
        try:
            storage.check_pool_spec(self.spec, self.existing)
        except storage.StorageError as exc:
            return f"(not valid yet: {exc})"
        return storage.pool_xml(self.spec)

    async def finish(self) -> str | None:
        spec, build = self.spec, self.build
        return await self.call(lambda c: storage.pool_define(c, spec, build=build, start=True))


def _why(exc: BaseException) -> str:
    if isinstance(exc, (storage.StorageError, SizeError)):
        return str(exc)
    return explain(exc)
