"""What a brick plan across hosts must know before it is shown, read from the hosts (reads
only): whether each host's kernel has device-mapper (LVM thin bricks, else plain XFS),
whether the first host's glusterd has the virt group file, the peers the first host knows,
and whether every host resolves the names the others will have in the volume.

Anything that would make the run fail half-way on one host (a name another host cannot
resolve, a host that does not answer) is a problem sentence; the plan is refused on it, so
nothing changes on any host.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from tvirt.bricks import VIRT_GROUP, Layout
from tvirt.gluster import GLUSTER, parse_peers
from tvirt.remote import RemoteError, Runner


@dataclass(frozen=True)
class Target:
    """One chosen host: its commands and the name its brick and peer probe will use."""

    runner: Runner
    name: str


@dataclass
class Survey:
    layouts: dict[str, Layout] = field(default_factory=dict)  # runner.host -> layout
    virt_group: bool = True  # the first host's glusterd has groups/virt
    peers: frozenset[str] = frozenset()  # the first host's peers (names), before the run
    layout_notes: list[str] = field(default_factory=list)  # why each host's brick layout
    notes: list[str] = field(default_factory=list)  # other facts said before confirming
    problems: list[str] = field(default_factory=list)  # each stops the plan


def device_mapper(runner: Runner) -> bool:
    """The host's kernel has device-mapper (lvcreate needs it for thin pools)."""
    result = runner.run(["cat", "/proc/misc"])
    return result.ok and any(
        line.split()[-1:] == ["device-mapper"] for line in result.out.splitlines()
    )


def resolves(runner: Runner, name: str) -> bool:
    return runner.run(["getent", "hosts", name]).ok


def survey(targets: list[Target]) -> Survey:
    """Read every fact the plan needs from the hosts; never changes anything."""
    found = Survey()
    for target in targets:
        try:
            dm = device_mapper(target.runner)
        except RemoteError as exc:
            found.problems.append(f"{target.runner.host} could not be asked ({exc})")
            continue
        found.layouts[target.runner.host] = Layout.LVM_THIN if dm else Layout.XFS
        found.layout_notes.append(
            f"{target.runner.host}: the kernel has device-mapper, so the brick is an XFS "
            "file system on an LVM thin volume."
            if dm
            else f"{target.runner.host}: the kernel has no device-mapper, so the brick is a "
            "plain XFS file system on the whole disk (no LVM thin pool)."
        )
    if found.problems:
        return found
    first = targets[0].runner
    try:
        found.virt_group = first.run(["test", "-f", VIRT_GROUP]).ok
        listed = first.run([*GLUSTER, "pool", "list", "--xml"])
        if listed.ok:
            found.peers = frozenset(p.hostname for p in parse_peers(ET.fromstring(listed.stdout)))
        for target in targets:
            for other in targets:
                if other.name != target.name and not resolves(target.runner, other.name):
                    found.problems.append(
                        f"{target.runner.host} cannot resolve {other.name}: Gluster peers "
                        f"must know each other by name (add {other.name} to DNS or to "
                        f"/etc/hosts on {target.runner.host})"
                    )
    except (RemoteError, ET.ParseError) as exc:
        found.problems.append(f"{first.host} could not be asked ({exc})")
        return found
    if not found.virt_group:
        found.notes.append(
            f"{first.host}: glusterd has no virt group file ({VIRT_GROUP}), so the virt "
            "profile's options are set one by one."
        )
    return found
