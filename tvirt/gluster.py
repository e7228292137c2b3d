"""Gluster volumes, bricks, heal info and peers of one host, from `gluster ... --xml`.

The XML is parsed with ElementTree. Everything runs through a Runner, so it is the host
behind the connection that answers, locally or over ssh. `collect` makes several blocking
calls and must run off the UI thread.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Any

from tvirt.errors import TvirtError
from tvirt.remote import RemoteError, Runner
from tvirt.words import plural

GLUSTER = ("gluster", "--mode=script")
# Options worth showing in a summary; the rest stay in `gluster volume info`.
NOTABLE_OPTIONS = (
    "cluster.quorum-type",
    "cluster.server-quorum-type",
    "cluster.granular-entry-heal",
    "network.ping-timeout",
    "performance.strict-o-direct",
    "storage.owner-uid",
    "storage.owner-gid",
    "features.shard",
    "nfs.disable",
    "auth.allow",
)


class GlusterError(TvirtError, RuntimeError):
    """gluster failed or is missing on that host; one sentence."""


@dataclass
class Brick:
    volume: str
    host: str
    path: str
    online: bool = False
    port: str = ""
    pid: int = 0
    device: str = ""
    filesystem: str = ""
    size: int = 0
    free: int = 0
    arbiter: bool = False
    heal_pending: int | None = None
    heal_status: str = ""
    split_brain: int | None = None

    @property
    def name(self) -> str:
        return f"{self.host}:{self.path}"

    @property
    def state(self) -> str:
        return "online" if self.online else "offline"


@dataclass
class Volume:
    name: str
    type: str
    status: str
    replica: int
    arbiter: int
    brick_count: int
    options: dict[str, str] = field(default_factory=dict)
    bricks: list[Brick] = field(default_factory=list)
    pools: list[str] = field(default_factory=list)

    @property
    def notable(self) -> dict[str, str]:
        return {k: v for k, v in self.options.items() if k in NOTABLE_OPTIONS}

    @property
    def state(self) -> str:
        offline = sum(1 for b in self.bricks if not b.online)
        if self.status.lower() != "started" or not offline:
            return self.status.lower()
        return f"degraded, {offline} of {plural(len(self.bricks), 'brick')} offline"


@dataclass(frozen=True)
class Peer:
    hostname: str
    uuid: str
    connected: bool
    state: str

    @property
    def word(self) -> str:
        return "connected" if self.connected else "disconnected"


@dataclass
class GlusterState:
    host: str
    volumes: list[Volume] = field(default_factory=list)
    peers: list[Peer] = field(default_factory=list)
    error: str = ""

    def bricks(self) -> list[Brick]:
        return [b for v in self.volumes for b in v.bricks]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _xml(runner: Runner, *args: str, timeout: float = 60) -> ET.Element:
    result = runner.run([*GLUSTER, *args, "--xml"], timeout=timeout)
    try:
        root = ET.fromstring(result.stdout) if result.stdout.strip() else None
    except ET.ParseError:
        root = None
    if root is None:
        raise GlusterError(result.sentence() if not result.ok else "gluster printed no XML.")
    if root.findtext("opRet", "0") not in {"0", ""}:
        why = root.findtext("opErrstr") or result.err or "unknown error"
        raise GlusterError(f"gluster {' '.join(args)} failed on {runner.host}: {why}")
    return root


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def parse_info(root: ET.Element) -> list[Volume]:
    volumes = []
    for vol in root.iterfind("./volInfo/volumes/volume"):
        name = vol.findtext("name", "")
        bricks = []
        for b in vol.iterfind("./bricks/brick"):
            host, _, path = (b.findtext("name") or "").partition(":")
            bricks.append(Brick(name, host, path, arbiter=b.findtext("isArbiter") == "1"))
        volumes.append(
            Volume(
                name=name,
                type=vol.findtext("typeStr", ""),
                status=vol.findtext("statusStr", ""),
                replica=_int(vol.findtext("replicaCount")),
                arbiter=_int(vol.findtext("arbiterCount")),
                brick_count=_int(vol.findtext("brickCount")),
                options={
                    o.findtext("name", ""): o.findtext("value", "")
                    for o in vol.iterfind("./options/option")
                },
                bricks=bricks,
            )
        )
    return volumes


def apply_status(volume: Volume, root: ET.Element) -> None:
    """Fill online, port, pid, device, filesystem and sizes from `volume status VOL detail`."""
    by_name = {b.name: b for b in volume.bricks}
    for node in root.iterfind("./volStatus/volumes/volume/node"):
        brick = by_name.get(f"{node.findtext('hostname')}:{node.findtext('path')}")
        if brick is None:
            continue  # self-heal daemons and other processes
        brick.online = node.findtext("status") == "1"
        port = node.findtext("port") or ""
        brick.port = port if port not in {"N/A", "0"} else ""
        pid = _int(node.findtext("pid"))
        brick.pid = pid if pid > 0 else 0
        brick.device = node.findtext("device") or ""
        brick.filesystem = node.findtext("fsName") or ""
        brick.size = _int(node.findtext("sizeTotal"))
        brick.free = _int(node.findtext("sizeFree"))


def apply_heal(volume: Volume, root: ET.Element, split_brain: bool = False) -> None:
    by_name = {b.name: b for b in volume.bricks}
    for node in root.iterfind("./healInfo/bricks/brick"):
        brick = by_name.get(node.findtext("name") or "")
        if brick is None:
            continue
        entries = node.findtext("numberOfEntries")
        count = _int(entries) if entries and entries.isdigit() else None
        if split_brain:
            brick.split_brain = count
        else:
            brick.heal_pending = count
            brick.heal_status = (node.findtext("status") or "").lower()


def parse_peers(root: ET.Element) -> list[Peer]:
    peers = []
    for p in root.iterfind("./peerStatus/peer"):
        peers.append(
            Peer(
                hostname=p.findtext("hostname", ""),
                uuid=p.findtext("uuid", ""),
                connected=p.findtext("connected") == "1",
                state=p.findtext("stateStr")
                or ("local" if p.findtext("hostname") == "localhost" else ""),
            )
        )
    return peers


def collect(runner: Runner, heal: bool = True) -> GlusterState:
    """Everything the Gluster view shows, for the host behind runner. Blocking."""
    state = GlusterState(runner.host)
    try:
        state.volumes = parse_info(_xml(runner, "volume", "info"))
        state.peers = parse_peers(_xml(runner, "pool", "list"))
        for vol in state.volumes:
            if vol.status.lower() != "started":
                continue
            apply_status(vol, _xml(runner, "volume", "status", vol.name, "detail"))
            if heal and vol.replica > 1:
                try:
                    apply_heal(vol, _xml(runner, "volume", "heal", vol.name, "info"))
                    apply_heal(
                        vol,
                        _xml(runner, "volume", "heal", vol.name, "info", "split-brain"),
                        split_brain=True,
                    )
                except GlusterError:
                    pass  # heal info needs the self-heal daemon; bricks still show
    except (GlusterError, RemoteError) as exc:
        state.error = str(exc)
    return state


def pools_by_volume(conn: Any) -> dict[str, list[str]]:
    """Run on the host worker: gluster volume name -> libvirt pools using it (gluster or
    netfs pools with a glusterfs source)."""
    found: dict[str, list[str]] = {}
    for pool in conn.listAllStoragePools(0):
        root = ET.fromstring(pool.XMLDesc(0))
        kind = root.get("type")
        source = root.find("source")
        if source is None:
            continue
        fmt = source.find("format")
        if kind == "gluster":
            volume = (source.findtext("name") or "").strip("/").split("/")[0]
        elif kind == "netfs" and fmt is not None and fmt.get("type") == "glusterfs":
            d = source.find("dir")
            volume = (d.get("path", "") if d is not None else "").strip("/")
        else:
            continue
        if volume:
            found.setdefault(volume, []).append(pool.name())
    return found
