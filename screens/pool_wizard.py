"""The new-pool wizard: type, name, the type's own fields, whether to build its storage,
then the summary with the pool's XML (screens/wizard.py FieldWizard). The type decides
the steps that follow, so the step line has no count until it is chosen.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from tvirt import storage
from tvirt.host import HostWorker
from tvirt.ops import storage as ops_storage

from .wizard import FieldWizard, Step

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


class PoolWizard(FieldWizard[str | None]):
    """Type, name, the type's own fields, whether to build it, then the XML."""

    what = "New pool"

    def __init__(self, worker: HostWorker, existing: list[str]) -> None:
        super().__init__()
        self.worker = worker
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

    async def create(self) -> str | None:
        spec, build = self.spec, self.build
        return await asyncio.wrap_future(
            ops_storage.pool_define(self.worker, spec, build=build, start=True)
        )
