"""The cluster overview: every host at a glance (its VMs by state, its pools' usage, its
bricks) and each Gluster volume's health, as records and words, and the changes between
two overviews as event-log lines.

`libvirt_facts` runs on a host's worker, `volume_facts` blocks on `gluster --xml` over a
host's Runner; tvirt.ops.cluster gathers them off the UI thread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import libvirt

from tvirt import gluster, storage
from tvirt.remote import RemoteError
from tvirt.sizes import format_size
from tvirt.words import plural

# `volume status` is a glusterd transaction across the peers: with a peer cut off it waits
# for that peer far longer than a tick, so it gets a short limit, and the bricks' link
# state then comes from `heal info` (a client of its own, which says at once which bricks
# it cannot reach).
STATUS_TIMEOUT = 8.0
HEAL_TIMEOUT = 30.0

VM_FILTERS = (
    ("running", libvirt.VIR_CONNECT_LIST_DOMAINS_RUNNING),
    ("paused", libvirt.VIR_CONNECT_LIST_DOMAINS_PAUSED),
    ("shut off", libvirt.VIR_CONNECT_LIST_DOMAINS_SHUTOFF),
    ("other", libvirt.VIR_CONNECT_LIST_DOMAINS_OTHER),
)


@dataclass(frozen=True)
class PoolUsage:
    name: str
    state: str
    capacity: int
    allocation: int

    @property
    def percent(self) -> str:
        """How full, as a word: "37%", or the state when the size is unknown."""
        return f"{round(100 * self.allocation / self.capacity)}%" if self.capacity else self.state

    @property
    def words(self) -> str:
        size = f" of {format_size(self.capacity)}" if self.capacity else ""
        return f"{self.name} {self.percent}{size}"


@dataclass(frozen=True)
class BrickHealth:
    volume: str
    name: str  # host:path, as gluster names it
    host: str
    online: bool
    heal_pending: int | None = None
    why: str = ""  # why it is offline, when gluster said

    @property
    def words(self) -> str:
        state = "online" if self.online else "offline"
        if self.heal_pending:
            state += f", heal pending {self.heal_pending}"
        return state


@dataclass(frozen=True)
class VolumeHealth:
    name: str
    status: str  # gluster's: started, stopped, created
    replica: int
    bricks_up: int
    bricks_total: int
    quorum: str  # met, lost, not enforced
    heal_pending: int | None  # the total over its bricks; None when unknown

    @property
    def words(self) -> str:
        if self.status != "started":
            return self.status
        heal = "unknown" if self.heal_pending is None else str(self.heal_pending)
        return (f"started, {self.bricks_up} of {plural(self.bricks_total, 'brick')} up, "
                f"quorum {self.quorum}, heal pending {heal}")


@dataclass(frozen=True)
class HostOverview:
    label: str
    uri: str
    state: str  # up, lost
    error: str = ""  # why it is lost
    vms: dict[str, int] = field(default_factory=dict)  # state word -> count
    pools: tuple[PoolUsage, ...] = ()
    bricks: tuple[BrickHealth, ...] = ()
    peer: str = ""  # as the asked glusterd sees it: connected, disconnected, "" (no peer)

    @property
    def vm_words(self) -> str:
        total = sum(self.vms.values())
        parts = [f"{n} {word}" for word, n in self.vms.items() if n]
        return plural(total, "VM") + (f" ({', '.join(parts)})" if parts else "")


@dataclass(frozen=True)
class Overview:
    hosts: tuple[HostOverview, ...]
    volumes: tuple[VolumeHealth, ...] = ()
    gluster_host: str = ""  # the hosts gluster was asked on (one per cluster)
    gluster_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----- libvirt facts, on each host's worker ------------------------------------------------


def libvirt_facts(conn: libvirt.virConnect) -> tuple[dict[str, int], list[PoolUsage]]:
    """Run on the host's worker: VM counts by state (four listings whatever the count)
    and each pool's usage."""
    vms = {word: len(conn.listAllDomains(flag)) for word, flag in VM_FILTERS}
    pools = [PoolUsage(p.name, p.state, p.capacity, p.allocation)
             for p in storage.list_pools(conn)]
    return vms, pools


# ----- gluster facts, from one host --------------------------------------------------------


def quorum(volume: gluster.Volume, up: list[bool]) -> str:
    """Client quorum per replica set, as AFR counts it: more than half the bricks up, or
    exactly half with the first one among them ("auto", the default from replica 3), or
    at least cluster.quorum-count ("fixed")."""
    kind = volume.options.get("cluster.quorum-type") or ("auto" if volume.replica >= 3
                                                         else "none")
    if kind == "none" or volume.replica < 2:
        return "not enforced"
    size = volume.replica
    for start in range(0, len(up), size):
        group = up[start:start + size]
        count = sum(group)
        if kind == "fixed":
            ok = count >= int(volume.options.get("cluster.quorum-count") or 1)
        else:
            ok = 2 * count > len(group) or (2 * count == len(group) and group[0])
        if not ok:
            return "lost"
    return "met"


def volume_facts(runner: Any) -> tuple[list[gluster.Volume], list[gluster.Peer]]:
    """Volumes with their bricks' online state and heal counts, and the peers, from the
    host behind runner. Blocking. Raises GlusterError or RemoteError when gluster fails."""
    volumes = gluster.parse_info(gluster._xml(runner, "volume", "info"))
    peers = gluster.parse_peers(gluster._xml(runner, "pool", "list"))
    for vol in volumes:
        if vol.status.lower() != "started":
            continue
        if vol.replica > 1:
            try:
                root = gluster._xml(runner, "volume", "heal", vol.name, "info",
                                    timeout=HEAL_TIMEOUT)
                gluster.apply_heal(vol, root)
            except (gluster.GlusterError, RemoteError):
                pass  # no self-heal daemon: the status below still says online or not
        try:
            # The gluster command gives up by itself (over ssh, killing our end would
            # leave it waiting on the host); the Runner's limit is a backstop.
            root = gluster._xml(runner, f"--timeout={STATUS_TIMEOUT:g}", "volume", "status",
                                vol.name, timeout=STATUS_TIMEOUT + 10)
            gluster.apply_status(vol, root)
            answered = True
        except (gluster.GlusterError, RemoteError):
            answered = False
        for brick in vol.bricks:
            reached = brick.heal_status in ("", "connected")
            # glusterd's word alone can be stale (a peer cut off still shows online), so
            # a brick is online when both say so; heal info alone when status is late.
            brick.online = (brick.online if answered else bool(brick.heal_status)) and reached
    return volumes, peers


def _health(vol: gluster.Volume) -> VolumeHealth:
    up = [b.online for b in vol.bricks]
    counts = [b.heal_pending for b in vol.bricks if b.heal_pending is not None]
    return VolumeHealth(
        vol.name,
        vol.status.lower(),
        vol.replica,
        sum(up),
        len(up),
        quorum(vol, up) if vol.status.lower() == "started" else "not enforced",
        sum(counts) if counts else None,
    )


def _brick(b: gluster.Brick) -> BrickHealth:
    why = "" if b.online or b.heal_status in ("", "connected") else b.heal_status
    return BrickHealth(b.volume, b.name, b.host, b.online, b.heal_pending, why)


def host_row(host: Any, fact: tuple[dict[str, int], list[PoolUsage]] | None, error: str,
             volumes: list[gluster.Volume], peers: dict[str, str]) -> HostOverview:
    """One host's line: host is a tvirt.ops.hostcmd.CommandHost (its label, URI and the
    name gluster knows it by); fact its libvirt facts, or None with the error."""
    name = host.gluster_host or host.label
    own = tuple(_brick(b) for v in volumes for b in v.bricks if b.host == name)
    peer = peers.get(name, "")
    return HostOverview(host.label, host.uri, "up" if fact else "lost", error,
                        fact[0] if fact else {}, tuple(fact[1]) if fact else (), own, peer)


def health(volumes: list[gluster.Volume]) -> tuple[VolumeHealth, ...]:
    return tuple(_health(v) for v in volumes)


# ----- what changed: event-log lines -------------------------------------------------------


def _heal_word(count: int | None) -> str:
    if count is None:
        return "unknown"
    return "healed" if count == 0 else "pending"


def changes(before: Overview | None, after: Overview) -> list[str]:
    """Lines for the event log: a host lost or back, a peer disconnected or connected, a
    brick offline or online, heal pending starting or done, a volume's quorum lost or met.
    Counts that only move (12 pending, then 9) are no line: the overview shows them."""
    if before is None:
        return [line for line in changes(Overview(()), after) if "offline" in line
                or "lost" in line or "disconnected" in line or "heal pending" in line]
    lines: list[str] = []
    old_hosts = {h.label: h for h in before.hosts}
    for host in after.hosts:
        old = old_hosts.get(host.label)
        if old is None or old.state != host.state:
            lines.append(f"{host.label}: host lost: {host.error}" if host.state == "lost"
                         else f"{host.label}: host up")
        if host.peer and (old is None or old.peer != host.peer):
            lines.append(f"{host.label}: Gluster peer {host.peer}")
    old_bricks = {b.name: b for h in before.hosts for b in h.bricks}
    for brick in (b for h in after.hosts for b in h.bricks):
        was = old_bricks.get(brick.name)
        if was is None or was.online != brick.online:
            word = "online" if brick.online else "offline"
            lines.append(f"Brick {brick.name} of {brick.volume}: {word}"
                         + (f" ({brick.why})" if brick.why else ""))
    old_vols = {v.name: v for v in before.volumes}
    for vol in after.volumes:
        was_vol = old_vols.get(vol.name)
        if was_vol is None or was_vol.quorum != vol.quorum:
            lines.append(f"Volume {vol.name}: quorum {vol.quorum}")
        old_heal = _heal_word(was_vol.heal_pending) if was_vol else "healed"
        if _heal_word(vol.heal_pending) != old_heal and vol.heal_pending is not None:
            lines.append(f"Volume {vol.name}: heal pending {vol.heal_pending}"
                         if vol.heal_pending else f"Volume {vol.name}: healed, heal pending 0")
    return lines
