"""The cluster overview (C): every host on one line (state, VMs by state, pools' usage,
bricks, Gluster peer) and every Gluster volume's health, refreshed on its own tick.

An async worker awaits tvirt.ops.cluster.overview (libvirt jobs on the hosts' workers,
`gluster --xml` on a thread of its own), so nothing blocks the event loop; collections
never overlap (a refresh asked meanwhile runs once after), and a late one is dropped.
A change of a word (a host lost, a brick offline, heal pending, quorum) is a line in the
event log, once, not on every tick. Every state is a word.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from tvirt import cluster
from tvirt.errors import TvirtError
from tvirt.keys import CLUSTER_KEYS
from tvirt.ops import cluster as cluster_ops
from tvirt.ops.hostcmd import CommandHost

from .quiet_rows import sentence
from .refreshed import RefreshedScreen
from .table import Table
from .words import plural

if TYPE_CHECKING:
    from .app import TvirtApp

CLUSTER_INTERVAL = 10.0  # seconds: heal info and volume status are heavy on the hosts

Collect = Callable[[Sequence[CommandHost]], Future[cluster.Overview]]
Hosts = Callable[[], list[CommandHost]]


class OverviewArrived(Message):
    def __init__(self, view: cluster.Overview, tick: int) -> None:
        super().__init__()
        self.view = view
        self.tick = tick


def _bindings() -> list[BindingType]:
    short = {"refresh": "Refresh", "back": "Back"}
    return [Binding(k.key, k.action, short[k.action], show=True, tooltip=k.description)
            for k in CLUSTER_KEYS]


def host_cells(host: cluster.HostOverview) -> tuple[str, ...]:
    """One host's row, one line however many hosts: every cell a word, so a lost host
    reads as lost without colour; why it is lost comes last, where a long reason fits."""
    lost = host.state == "lost"
    vms = ", ".join(f"{n} {word}" for word, n in host.vms.items() if n) or "none"
    pools = "; ".join(f"{p.name} {p.percent}" for p in host.pools) or "none"
    bricks = "; ".join(f"{b.volume} {b.words}" for b in host.bricks) or "none"
    return (host.label, host.state, "unknown" if lost else vms, bricks, host.peer or "none",
            "unknown" if lost else pools, host.error or "")


def volume_cells(vol: cluster.VolumeHealth) -> tuple[str, ...]:
    heal = "unknown" if vol.heal_pending is None else str(vol.heal_pending)
    return (vol.name, vol.status, f"{vol.bricks_up} of {vol.bricks_total}",
            f"{vol.replica}", vol.quorum, heal)


def app_hosts(app: Any) -> list[CommandHost]:
    """The app's hosts as the overview sees them, in label order."""
    workers = app.manager.workers
    hosts = [cluster_ops.host_for(uri, worker, app.readonly) for uri, worker in workers.items()]
    return sorted(hosts, key=lambda h: h.label)


class ClusterScreen(RefreshedScreen):
    DEFAULT_CSS = """
    ClusterScreen #cluster-hosts { height: auto; max-height: 60%; }
    ClusterScreen #cluster-volumes { height: auto; max-height: 30%; }
    ClusterScreen .cluster-title { text-style: bold; margin-top: 1; }
    """
    BINDINGS = _bindings()

    def __init__(
        self,
        hosts: Hosts | None = None,
        interval: float = CLUSTER_INTERVAL,
        collect: Collect = cluster_ops.overview,
    ) -> None:
        super().__init__(interval, {"cluster-hosts": "host", "cluster-volumes": "volume"})
        self.hosts = hosts
        self.collect = collect  # fixed facts in the snapshot test
        self.view: cluster.Overview | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Cluster overview: loading", id="cluster-status")
        yield Static("Hosts", classes="cluster-title")
        yield Table(
            id="cluster-hosts", empty="No hosts.", cursor_type="row", zebra_stripes=True)
        yield Static("Gluster volumes", classes="cluster-title")
        yield Table(
            id="cluster-volumes", empty="No Gluster volumes.", cursor_type="row",
            zebra_stripes=True,
        )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cluster-hosts", DataTable).add_columns(
            "Host", "State", "VMs", "Bricks", "Gluster peer", "Pools used", "Why")
        self.query_one("#cluster-volumes", DataTable).add_columns(
            "Volume", "State", "Bricks up", "Replica", "Quorum", "Heal pending")
        self.start_ticking()

    @work(exit_on_error=False, group="cluster")
    async def _collect(self, tick: int) -> None:
        hosts = self.hosts() if self.hosts is not None else app_hosts(self.app)
        try:
            view = await asyncio.wrap_future(self.collect(hosts))
        except TvirtError as exc:  # shown on the status line, like a gluster failure
            view = cluster.Overview((), gluster_error=str(exc))
        finally:
            self.collecting = False
        self.post_message(OverviewArrived(view, tick))
        self.collected()

    def on_overview_arrived(self, message: OverviewArrived) -> None:
        asked = self.arrived(message.tick)
        if asked is None:
            return  # an older, slower refresh: never show stale facts
        tvirt = cast("TvirtApp", self.app)
        for line in cluster.changes(self.view, message.view):
            tvirt.note(f"Cluster: {line}")
        self.view = message.view
        self._show(message.view, asked)

    def _show(self, view: cluster.Overview, asked: bool = True) -> None:
        lost = sum(1 for h in view.hosts if h.state == "lost")
        offline = sum(1 for h in view.hosts for b in h.bricks if not b.online)
        every = f"every {self.interval:g} s" if self.interval > 0 else "on r"
        gluster = (f"Gluster: {view.gluster_error}" if view.gluster_error
                   else f"Gluster asked on {view.gluster_host}" if view.gluster_host
                   else "no Gluster volumes")
        # A screen reader hears the line again whenever it changes: no counter there, so
        # a tick that changed nothing writes nothing.
        reader = getattr(self.app, "screen_reader", False)
        count = "" if reader else f", refresh {self.ticks_done}"
        status = self.query_one("#cluster-status", Static)
        words = (f"Cluster overview: {plural(len(view.hosts), 'host')}, {lost} lost, "
                 f"{plural(offline, 'brick')} offline; {gluster}; refreshed {every}{count}")
        if str(status.content) != words:  # a tick that changed nothing draws nothing
            status.update(words)
        changes, held = self.quiet.show({
            "cluster-hosts": {h.uri or h.label: host_cells(h) for h in view.hosts},
            "cluster-volumes": {v.name: volume_cells(v) for v in view.volumes},
        }, asked=asked)
        if changes and reader:
            cast("TvirtApp", self.app).note(sentence("Cluster overview", changes, held))

    def action_back(self) -> None:
        self.dismiss(None)
