"""The VM details screen: live graphs of one VM, each with its numbers beside it as text.

Graphs are textual-plotext plots (real axes with labels and units, which textual's
Sparkline widget has not). Every graph has a text panel beside it with the current value
and the minimum, average and maximum over the history window, so the screen also reads
as plain text. The screen only redraws while it is the active screen.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option
from textual_plotext import PlotextPlot

from tvirt.history import Metric, StatsHistory, Summary
from tvirt.keys import DETAIL_KEYS
from tvirt.stats import StatsSnapshot

from .base import TvirtScreen
from .words import percent, plural, rate, size

if TYPE_CHECKING:
    from .app import TvirtApp

# (unit, bytes) from the largest down: a graph's axis uses the largest that fits its peak.
_BINARY_UNITS = (("GiB", 1024.0**3), ("MiB", 1024.0**2), ("KiB", 1024.0), ("B", 1.0))


@dataclass(frozen=True)
class Graph:
    """One graphed quantity: where its numbers come from and how they read."""

    id: str
    title: str
    metric: Metric
    kind: str  # "percent", "bytes" (from KiB) or "rate" (bytes per second)
    fallback: Metric | None = None  # used when `metric` has never been known
    fallback_title: str = ""


GRAPHS: tuple[Graph, ...] = (
    Graph("cpu", "CPU use", Metric.CPU, "percent"),
    Graph(
        "memory",
        "Memory used (guest)",
        Metric.MEMORY_USED,
        "bytes",
        fallback=Metric.MEMORY_RSS,
        fallback_title="Memory (host RSS)",
    ),
    Graph("disk-read", "Disk read", Metric.DISK_READ, "rate"),
    Graph("disk-write", "Disk write", Metric.DISK_WRITE, "rate"),
    Graph("net-rx", "Network received", Metric.NET_RX, "rate"),
    Graph("net-tx", "Network sent", Metric.NET_TX, "rate"),
)


def formatter(kind: str) -> Callable[[float | None], str]:
    """How one number of this kind reads as text."""
    if kind == "percent":
        return percent
    if kind == "bytes":
        return lambda kib: size(kib * 1024.0 if kib is not None else None)
    return rate


def summary_line(title: str, kind: str, summary: Summary | None) -> str:
    """The same numbers on one line, for screen-reader mode's list."""
    fmt = formatter(kind)
    s = summary or Summary(None, None, None, None, 0)
    return (
        f"{title}: now {fmt(s.current)}, min {fmt(s.minimum)}, "
        f"average {fmt(s.average)}, max {fmt(s.maximum)}"
    )


def summary_text(title: str, kind: str, summary: Summary | None) -> str:
    """The text beside a graph: current value, then min, avg and max over the window."""
    fmt = formatter(kind)
    s = summary or Summary(None, None, None, None, 0)
    return "\n".join(
        (
            title,
            f"now {fmt(s.current)}",
            f"min {fmt(s.minimum)}",
            f"avg {fmt(s.average)}",
            f"max {fmt(s.maximum)}",
        )
    )


def axis_unit(kind: str, values: list[float | None]) -> tuple[str, float]:
    """The y-axis label and the divisor that turns stored values into that unit."""
    if kind == "percent":
        return "%", 1.0
    factor = 1024.0 if kind == "bytes" else 1.0  # memory is stored in KiB
    peak = max((v * factor for v in values if v is not None), default=0.0)
    unit, scale = next(((u, b) for u, b in _BINARY_UNITS if peak >= b), ("B", 1.0))
    return (f"{unit}/s" if kind == "rate" else unit), scale / factor


def nice_top(peak: float) -> float:
    """The y-axis top: the peak rounded up to 1, 2 or 5 times a power of ten (at least 1),
    so the axis has two short labels that never run into each other."""
    if peak <= 1.0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(peak))
    return next(step * power for step in (1.0, 2.0, 5.0, 10.0) if step * power >= peak)


def window_words(seconds: float) -> str:
    """'10 min ago' or '118 s ago': the left end of the time axis, in whole numbers."""
    if seconds >= 120:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds:.0f} s ago"


def segments(xs: list[float], ys: list[float | None]) -> list[tuple[list[float], list[float]]]:
    """Runs of known points; a gap (unknown point) breaks the line instead of bridging it."""
    runs: list[tuple[list[float], list[float]]] = []
    current: tuple[list[float], list[float]] = ([], [])
    for x, y in zip(xs, ys, strict=True):
        if y is None:
            if current[0]:
                runs.append(current)
            current = ([], [])
            continue
        current[0].append(x)
        current[1].append(y)
    if current[0]:
        runs.append(current)
    return runs


class GraphPanel(Horizontal):
    """A plot with its numbers beside it."""

    def __init__(self, graph: Graph) -> None:
        super().__init__(id=f"graph-{graph.id}", classes="graph-panel")
        self.graph = graph
        self.line = graph.title

    def compose(self) -> ComposeResult:
        yield PlotextPlot(classes="graph-plot")
        yield Static(classes="graph-numbers")

    def show(self, history: StatsHistory, key: str, times: list[float]) -> None:
        graph, metric, title = self.graph, self.graph.metric, self.graph.title
        summary = history.vm_summary(key, metric)
        if graph.fallback is not None and (summary is None or not summary.known):
            fallback = history.vm_summary(key, graph.fallback)
            if fallback is not None and fallback.known:
                metric, title, summary = graph.fallback, graph.fallback_title, fallback
        values = history.vm_values(key, metric)
        self.line = summary_line(title, graph.kind, summary)
        self.query_one(".graph-numbers", Static).update(
            Content(summary_text(title, graph.kind, summary))
        )
        # The VM's newest point lines up with the host's newest time.
        shown = times[-len(values) :] if values and times else []
        xs = [t - shown[-1] for t in shown]
        ys = values[-len(xs) :] if xs else []
        unit, scale = axis_unit(graph.kind, ys)
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_figure()
        # No plot title: the numbers beside the plot start with it. Two ticks per axis,
        # with short labels (the top one with the unit): plotext's own ticks run together
        # in a small plot.
        for run_x, run_y in segments(xs, ys):
            plt.plot(run_x, [y / scale for y in run_y], marker="braille")
        top = 100.0 if graph.kind == "percent" else nice_top(
            max((y / scale for y in ys if y is not None), default=0.0)
        )
        plt.ylim(0, top)
        plt.yticks([0, top], ["0", f"{top:g} {unit}"])
        window = history.maxlen * history.interval
        left = -window if not xs else min(xs[0], -history.interval)
        plt.xlim(left, 0)
        plt.xticks([left, 0], [window_words(-left), "now"])
        plot.refresh()


class VMDetailScreen(TvirtScreen[None]):
    """Opened with Enter or i on a VM row; escape goes back to the dashboard."""

    # r matters in screen-reader mode only (the numbers as text); the help lists it, and
    # in the footer it pushed Escape, help and quit off an 80-column screen.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(k.key, k.action, k.description, show=k.action != "reread") for k in DETAIL_KEYS
    ]
    # Below 100 columns, one graph per row (two would leave each plot a dozen columns).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.host_id, _, self.uuid = key.rpartition("/")

    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="detail-title")
        # Graphs keep a readable height; a small terminal scrolls them (arrows, PgUp/PgDn).
        with VerticalScroll(id="graphs-scroll"):
            with Grid(id="graphs"):
                for graph in GRAPHS:
                    yield GraphPanel(graph)
        # Screen-reader mode shows the numbers instead of the graphs, one graph a line.
        yield OptionList(id="detail-numbers")
        yield Static(id="detail-status")
        yield Footer()

    def on_mount(self) -> None:
        # The graphs' scroll area has the focus, so arrows and PgUp/PgDn scroll at once.
        reader = getattr(self.app, "screen_reader", False)
        self.query_one("#graphs-scroll" if not reader else "#detail-numbers").focus()
        # Above the full stats limit only watched VMs get disk and network figures.
        self.tvirt.tiers.watch(self.key)
        self.redraw(asked=True)

    def on_unmount(self) -> None:
        self.tvirt.tiers.unwatch(self.key)

    def action_reread(self) -> None:
        self.redraw(asked=True)

    def on_screen_resume(self) -> None:
        self.redraw(asked=True)

    def show_stats(self, snap: StatsSnapshot) -> None:
        """A tick arrived; redraw only if it is this VM's host and this screen is shown."""
        if snap.host_id == self.host_id and self.is_current:
            self.redraw()

    def redraw(self, *, asked: bool = False) -> None:
        """Draw the numbers again. In screen-reader mode the list under the cursor changes
        only when asked (the screen opens, or r): a tick never rewrites the cursor line."""
        app = self.tvirt
        vm = app.dashboard.table.vms.get(self.key)
        label = app.dashboard.table.labels.get(self.host_id, self.host_id)
        if vm is None:
            title = f"This VM is no longer on {label}; its last numbers are shown."
        else:
            cpus = "vCPUs not read yet" if vm.vcpus is None else plural(vm.vcpus, "vCPU")
            title = f"{vm.name} on {label}: {vm.state.word}, {cpus}"
        self.query_one("#detail-title", Static).update(Content(title))
        times = app.history.host_times(self.host_id)
        for panel in self.query(GraphPanel):
            panel.show(app.history, self.key, times)
        if asked and app.screen_reader:
            numbers = self.query_one("#detail-numbers", OptionList)
            row = numbers.highlighted or 0
            numbers.set_options(Option(Content(p.line)) for p in self.query(GraphPanel))
            numbers.highlighted = row
        self.refresh_status()

    def refresh_status(self) -> None:
        app = self.tvirt
        window = app.history.maxlen * app.history.interval
        # What is limited comes first: the status line is one line, cut at the screen's edge.
        limited = app.tiers.words()
        words = (
            (f"{limited[0].upper()}{limited[1:]}; " if limited else "")
            + f"{app.stats_words()}; graphs cover the last {window / 60:g} min; "
            + "Escape: back to the dashboard"
        )
        self.query_one("#detail-status", Static).update(Content(words + "."))
