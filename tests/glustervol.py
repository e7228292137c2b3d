"""A Gluster volume of our own (tvirt-test-*) on our own loop-device bricks, always removed."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

from loopdevs import loop_devices

from tvirt import bricks, disks
from tvirt.remote import Runner

LOCAL = Runner("localhost")


@contextlib.contextmanager
def own_volume(tmp: Path, gluster_host: str) -> Iterator[str]:
    name = f"tvirt-test-g{uuid.uuid4().hex[:6]}"
    root_existed = Path(bricks.BRICK_ROOT).exists()
    with loop_devices(tmp, 3, size="320M") as loops:
        devices = disks.inventory(LOCAL, {})
        specs = [
            bricks.BrickSpec(LOCAL, disks.find(devices, p), gluster_host)  # type: ignore[arg-type]
            for p in loops
        ]
        wizard = bricks.Wizard(name, specs, layout=bricks.Layout.XFS)
        outcome = bricks.execute(wizard.plan(), log=tmp / "bricks.log", subject=name)
        try:
            assert outcome.ok, outcome.summary()
            yield name
        finally:
            undone = bricks.undo(outcome, log=tmp / "bricks.log", subject=name)
            if not root_existed:
                with contextlib.suppress(OSError):
                    Path(bricks.BRICK_ROOT).rmdir()
            assert undone.undo_errors == [], undone.undo_errors
