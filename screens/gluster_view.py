"""The Gluster view of one host: volumes, bricks (with heal counts) and peers.

It refreshes on its own slower tick: an async worker awaits tvirt.ops.gluster.collect
(the `gluster --xml` calls on their own thread, the pools on each volume from the host's
worker), then posts a GlusterArrived message. Collections never overlap: a refresh asked
while one runs is run once right after it. Every state is a word.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from tvirt import gluster
from tvirt.errors import TvirtError
from tvirt.keys import GLUSTER_KEYS
from tvirt.ops import gluster as gluster_ops
from tvirt.ops.hostcmd import CommandHost
from tvirt.ops.run import refused

from .quiet_rows import sentence
from .refreshed import RefreshedScreen
from .table import Table
from .words import plural, size

if TYPE_CHECKING:
    from .app import TvirtApp

GLUSTER_INTERVAL = 10.0  # seconds; slower than the stats tick, gluster calls are heavy


Collect = Callable[[CommandHost], Future[gluster.GlusterState]]


class GlusterArrived(Message):
    def __init__(self, state: gluster.GlusterState, tick: int) -> None:
        super().__init__()
        self.state = state
        self.tick = tick


def _bindings() -> list[BindingType]:
    short = {
        "refresh": "Refresh",
        "wipe_wizard": "Wipe disks",
        "brick_wizard": "New volume",
        "back": "Back",
    }
    return [
        Binding(k.key, k.action, short[k.action], show=True, tooltip=k.description)
        for k in GLUSTER_KEYS
    ]


class GlusterScreen(RefreshedScreen):
    DEFAULT_CSS = """
    GlusterScreen DataTable { height: auto; max-height: 40%; }
    GlusterScreen .gluster-title { text-style: bold; margin-top: 1; }
    """
    BINDINGS = _bindings()

    def __init__(
        self,
        ops: CommandHost,
        interval: float = GLUSTER_INTERVAL,
        collect: Collect = gluster_ops.collect,
    ) -> None:
        super().__init__(
            interval,
            {"gluster-volumes": "volume", "gluster-bricks": "brick", "gluster-peers": "peer"},
        )
        self.ops = ops
        self.collect = collect  # recorded facts in the snapshot tests
        self.state: gluster.GlusterState | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Gluster on {self.ops.label}: loading", id="gluster-status")
        yield Static("Volumes", classes="gluster-title")
        yield Table(
            id="gluster-volumes", empty="No Gluster volumes.", cursor_type="row",
            zebra_stripes=True,
        )
        yield Static("Bricks", classes="gluster-title")
        yield Table(
            id="gluster-bricks", empty="No bricks.", cursor_type="row", zebra_stripes=True)
        yield Static("Peers", classes="gluster-title")
        yield Table(
            id="gluster-peers", empty="No peers.", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        vols = self.query_one("#gluster-volumes", DataTable)
        vols.add_columns("Volume", "State", "Type", "Replica", "Pools", "Options of note")
        bricks = self.query_one("#gluster-bricks", DataTable)
        bricks.add_columns(
            "Brick",
            "State",
            "Volume",
            "Port",
            "PID",
            "Device",
            "FS",
            "Size",
            "Free",
            "Heal",
            "Split",
        )
        self.query_one("#gluster-peers", DataTable).add_columns("Peer", "State", "UUID")
        self.start_ticking()

    @work(exit_on_error=False, group="gluster")
    async def _collect(self, tick: int) -> None:
        try:
            state = await asyncio.wrap_future(self.collect(self.ops))
        except TvirtError as exc:  # shown as the view's error, like a gluster failure
            state = gluster.GlusterState(self.ops.label, error=str(exc))
        finally:
            self.collecting = False
        self.post_message(GlusterArrived(state, tick))
        self.collected()

    def on_gluster_arrived(self, message: GlusterArrived) -> None:
        asked = self.arrived(message.tick)
        if asked is None:
            return  # a slow, older refresh finishing late: never show stale facts
        self.state = message.state
        self._show(message.state, asked)

    def _show(self, state: gluster.GlusterState, asked: bool = True) -> None:
        status = self.query_one("#gluster-status", Static)
        every = f"every {self.interval:g} s" if self.interval > 0 else "on r"
        offline = sum(1 for b in state.bricks() if not b.online)
        summary = (
            f"{plural(len(state.volumes), 'volume')}, {plural(len(state.bricks()), 'brick')}, "
            f"{offline} offline"
        )
        reader = getattr(self.app, "screen_reader", False)
        words = (
            f"Gluster on {self.ops.label}: "
            + (f"error: {state.error}" if state.error else summary)
            + f"; refreshed {every}"
            # A screen reader would hear the line again at every tick: no counter there.
            + ("" if reader else f", refresh {self.ticks_done}")
        )
        if str(status.content) != words:  # a tick that changed nothing draws nothing
            status.update(words)
        vol_rows: dict[str, tuple[str, ...]] = {}
        for v in state.volumes:
            opts = ", ".join(f"{k}={val}" for k, val in v.notable.items())
            replica = f"{v.replica}" + (f" (arbiter {v.arbiter})" if v.arbiter else "")
            vol_rows[v.name] = (
                v.name,
                v.state,
                v.type.lower(),
                replica,
                ", ".join(v.pools) or "none",
                opts or "none",
            )
        brick_rows: dict[str, tuple[str, ...]] = {}
        for b in state.bricks():
            brick_rows[b.name] = (
                b.name + (" (arbiter)" if b.arbiter else ""),
                b.state,
                b.volume,
                b.port or "none",
                str(b.pid) if b.pid else "none",
                b.device or "unknown",
                b.filesystem or "unknown",
                size(b.size) if b.size else "unknown",
                size(b.free) if b.size else "unknown",
                _count(b.heal_pending),
                _count(b.split_brain),
            )
        peer_rows = {
            p.uuid or p.hostname: (p.hostname, p.word + (f", {p.state}" if p.state else ""), p.uuid)
            for p in state.peers
        }
        rows: dict[str, Mapping[str, tuple[str, ...]]] = {
            "gluster-volumes": vol_rows, "gluster-bricks": brick_rows, "gluster-peers": peer_rows
        }
        changes, held = self.quiet.show(rows, asked=asked)
        if changes and reader:
            cast("TvirtApp", self.app).note(sentence(f"Gluster on {self.ops.label}", changes, held))

    def refused(self, what: str) -> bool:
        """Both wizards only exist to change disks: in read-only mode they do not open, as
        the new-VM wizard does not (their own last steps refuse as well)."""
        refusal = refused(self.ops, what)
        if refusal is not None:
            cast("TvirtApp", self.app).say(str(refusal), ok=False)
            return True
        return False

    def action_wipe_wizard(self) -> None:
        from .wipe_wizard import WipeWizard

        if not self.refused("wipe a disk"):
            self.app.push_screen(WipeWizard(self.ops))

    def action_brick_wizard(self) -> None:
        from .brick_wizard import BrickWizard

        if not self.refused("create bricks and a volume"):
            hosts = command_hosts(self.app, self.ops)
            self.app.push_screen(BrickWizard(self.ops, hosts=hosts if len(hosts) > 1 else None))

    def action_back(self) -> None:
        self.dismiss(None)


def _count(value: int | None) -> str:
    return "unknown" if value is None else str(value)


def command_hosts(app: Any, first: CommandHost) -> list[CommandHost]:
    """The app's connected qemu hosts as CommandHosts, the view's own host first (the
    brick wizard's choice of hosts)."""
    from tvirt.ops.hostcmd import for_uri
    from tvirt.remote import RemoteError
    from tvirt.uri import parse_uri

    found = [first]
    for uri, worker in app.manager.workers.items():
        parsed = parse_uri(uri)
        if parsed.demo or uri == first.uri:
            continue
        try:
            found.append(for_uri(parsed, worker, app.readonly))
        except RemoteError:
            continue  # no way to run commands there: not a brick host
    return found


def open_gluster(app: Any, host_id: str | None) -> None:
    """Push the Gluster view for a host of the app (the first real host if none chosen)."""
    from tvirt.ops.hostcmd import for_uri
    from tvirt.remote import RemoteError
    from tvirt.uri import parse_uri

    workers = app.manager.workers
    candidates = [h for h in ([host_id] if host_id else []) + list(workers) if h in workers]
    real = [h for h in candidates if not parse_uri(h).demo]
    if not real:
        app.say("Gluster needs a qemu host; demo connections have no Gluster.", ok=False)
        return
    try:
        host = for_uri(parse_uri(real[0]), workers[real[0]], app.readonly)
    except RemoteError as exc:
        app.say(str(exc), ok=False)
        return
    app.push_screen(GlusterScreen(host))
