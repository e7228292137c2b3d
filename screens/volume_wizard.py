"""The new-volume wizard: pool, name, format, capacity, allocation, backing volume (qcow2),
then the summary with the volume's XML. Each step checks its answer before the next shows;
nothing is created until the summary is confirmed (screens/wizard.py FieldWizard).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from tvirt import storage
from tvirt.host import HostWorker
from tvirt.ops import storage as ops_storage
from tvirt.sizes import format_size, parse_size

from .wizard import FieldWizard, Step


@dataclass
class VolumeDraft:
    pool: storage.PoolInfo | None = None
    names: set[str] = field(default_factory=set)
    volumes: list[storage.VolumeInfo] = field(default_factory=list)
    spec: storage.VolumeSpec = field(default_factory=lambda: storage.VolumeSpec("", 0, ""))
    capacity_text: str = ""
    warning: str = ""


class VolumeWizard(FieldWizard[storage.VolumeInfo | None]):
    """Pool, name, format, capacity, allocation, backing (qcow2), then the XML."""

    what = "New volume"

    def __init__(self, worker: HostWorker, pools: list[storage.PoolInfo], pool: str = "") -> None:
        super().__init__()
        self.worker = worker
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
        volumes = await asyncio.wrap_future(ops_storage.list_volumes(self.worker, pool.name))
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

    async def create(self) -> storage.VolumeInfo | None:
        pool = self._pool_name()
        spec = self.draft.spec
        return await asyncio.wrap_future(ops_storage.volume_create(self.worker, pool, spec))
