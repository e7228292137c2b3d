"""The host pane: one entry per connection, its state as a word and what it runs.

At fifty hosts the panel narrows: a filter (/ in the panel) keeps the hosts whose label,
URI, state or error holds the text, and folding (z) puts the hosts that are not connected
first and the connected ones into one summary line.
"""

from __future__ import annotations

import contextlib

from textual.binding import Binding
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from tvirt.keys import HOSTS_KEYS
from tvirt.model import HostInfo, HostState
from tvirt.stats import HostRates

from .sparkline import sparkline
from .words import host_lines, host_stats_line, plural

HOST_TREND_WIDTH = 20  # points of host CPU history in the host list
# Above this many hosts each entry is one line (label, state word, VMs, CPU): six lines a
# host made fifty hosts 300 lines of panel, and redrawing it on every tick cost CPU.
COMPACT_ABOVE = 8
# The summary entry of folded connected hosts. Host ids are URIs, so never this.
FOLDED_ID = "folded connected hosts"


def host_stats_lines(rates: HostRates | None, cpu: list[float | None]) -> tuple[str, ...]:
    """The live lines of a host entry: numbers first, then its CPU history as a sparkline."""
    trend = sparkline(cpu, HOST_TREND_WIDTH, low=0.0, high=100.0)
    return (host_stats_line(rates), f"CPU history {trend}")


# What a connected host shows before its first tick: the same lines, all unknown.
NO_STATS = host_stats_lines(None, [])


def _prompt(host: HostInfo, stats: tuple[str, ...] = ()) -> Content:
    # Content, not str: a str would be parsed as markup, and error text is arbitrary.
    title, *rest = host_lines(host)
    if host.state is HostState.CONNECTED:
        rest += stats or NO_STATS
    # The trailing newline leaves a blank line between hosts.
    return Content.assemble((title, "bold"), *(f"\n{line}" for line in rest), "\n")


def _compact(host: HostInfo, stats: tuple[str, ...]) -> Content:
    """One line: 'node7 connected, 200 VMs, CPU 3.1%'; an error follows its state word."""
    parts = [host.state.word]
    if host.state is HostState.CONNECTED:
        parts.append(plural(host.vm_count, "VM"))
        # The stats line starts with "CPU 12.3%" (words.host_stats_line).
        parts.append((stats or NO_STATS)[0].partition(",")[0])
    elif host.error:
        parts.append(host.error)
    return Content.assemble((host.label, "bold"), " ", ", ".join(parts))


def _matches(host: HostInfo, text: str) -> bool:
    words = (host.label, host.uri, host.state.word, host.error, host.hostname)
    return any(text in word.lower() for word in words)


class HostFilter(Input):
    """The hosts filter, shown above the panel once / is pressed there."""

    BINDINGS = [Binding("escape", "clear", "Clear the filter", show=False)]

    def _panel(self) -> HostList:
        return self.screen.query_one(HostList)

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()  # the VM filter's handler listens for its own input only, but be sure
        self._panel().set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._panel().focus()

    def reader_header(self) -> str:
        """F2 in screen-reader mode: how many hosts the filter leaves."""
        return self._panel().reader_header()

    def action_clear(self) -> None:
        self.value = ""
        self.remove_class("-shown")
        self._panel().focus()


class HostList(OptionList):
    """Entries are keyed by host_id and replaced in place when a host changes; a filter
    or folding rebuilds the list when it changes which hosts show."""

    BINDINGS = [Binding(k.key, k.action, k.description, show=False) for k in HOSTS_KEYS]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hosts: dict[str, HostInfo] = {}
        # Live stats lines per host (numbers, then a CPU sparkline); shown while connected.
        self._stats: dict[str, tuple[str, ...]] = {}
        self.text_filter = ""
        self.folded = False
        # The entries shown, in order, while a filter or folding is on.
        self._shown: list[str] = []
        # The entry highlighted before the last rebuild, kept while a filter shows none.
        self._kept: str | None = None

    @property
    def one_line(self) -> bool:
        return len(self._hosts) > COMPACT_ABOVE

    @property
    def narrowed(self) -> bool:
        return bool(self.text_filter) or self.folded

    def _entry(self, host: HostInfo) -> Content:
        stats = self._stats.get(host.host_id, ())
        return _compact(host, stats) if self.one_line else _prompt(host, stats)

    def show_host(self, host: HostInfo) -> None:
        was_compact = self.one_line
        self._hosts[host.host_id] = host
        if self.narrowed:
            if self._layout() != self._shown or self.one_line != was_compact:
                self._rebuild()
            elif host.host_id in self._shown:
                self.replace_option_prompt(host.host_id, self._entry(host))
            elif FOLDED_ID in self._shown:
                self.replace_option_prompt(FOLDED_ID, self._summary())
            return
        if self.one_line != was_compact:
            self._redraw_all()
        prompt = self._entry(host)
        try:
            self._replace_entry(host.host_id, prompt)
        except OptionDoesNotExist:
            self.add_option(Option(prompt, id=host.host_id))
            if self.highlighted is None:
                self.highlighted = 0

    def _replace_entry(self, host_id: str, prompt: Content) -> None:
        """A host's new entry. OptionList.replace_option_prompt redraws the whole panel;
        a one-line entry keeps its height, so only its own line is drawn, and nothing
        when the part the panel shows is the same (its end, the CPU figure of a compact
        entry, is often cut off by the ellipsis): a real host's tick sent the whole
        panel to the terminal every 2 s though nothing on it moved."""
        index = self.get_option_index(host_id)
        option = self.get_option_at_index(index)
        old = option.prompt
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        if not self.one_line or width <= 0 or not isinstance(old, Content):
            self.replace_option_prompt(host_id, prompt)
            return
        option._set_prompt(prompt)
        self._option_render_cache.clear()  # keyed by the option, not by its prompt
        shown, was = prompt.truncate(width, ellipsis=True), old.truncate(width, ellipsis=True)
        if (shown.plain, shown.spans) != (was.plain, was.spans):
            self.refresh_lines(self._index_to_line[index])

    def show_stats(self, host_id: str, lines: tuple[str, ...]) -> None:
        """Replace a host's stats lines; redraws only if what it shows changed (a compact
        entry shows no CPU history, so a tick that only moves it redraws nothing)."""
        before = self._stats.get(host_id)
        if before == lines:
            return
        self._stats[host_id] = lines
        if self.one_line and before and before[0] == lines[0]:
            return
        host = self._hosts.get(host_id)
        if host is None or host.state is not HostState.CONNECTED:
            return
        if self.narrowed and host_id not in self._shown:
            return  # folded or filtered out: nothing on screen moves
        self.show_host(host)

    def remove_host(self, host_id: str) -> None:
        was_compact = self.one_line
        self._hosts.pop(host_id, None)
        self._stats.pop(host_id, None)
        if self.narrowed:
            self._rebuild()
            return
        try:
            self.remove_option(host_id)
        except OptionDoesNotExist:
            return
        if self.one_line != was_compact:
            self._redraw_all()

    def _redraw_all(self) -> None:
        """Every entry again, in the other layout (the host count crossed COMPACT_ABOVE)."""
        # One line means one line: a long label ends in an ellipsis instead of wrapping.
        self.set_class(self.one_line, "-one-line")
        for host_id, host in self._hosts.items():
            with contextlib.suppress(OptionDoesNotExist):
                self.replace_option_prompt(host_id, self._entry(host))

    def selected_host_id(self) -> str | None:
        option = self.highlighted_option
        if option is None or option.id == FOLDED_ID:
            return None
        return option.id

    def select_host(self, host_id: str) -> None:
        try:
            self.highlighted = self.get_option_index(host_id)
        except OptionDoesNotExist:
            return

    # -- filter and folding ---------------------------------------------------
    def set_filter(self, text: str) -> None:
        self.text_filter = text.strip().lower()
        self._rebuild()

    def set_folded(self, folded: bool) -> None:
        self.folded = folded
        self._rebuild()

    def action_fold(self) -> None:
        self.set_folded(not self.folded)

    def action_filter(self) -> None:
        box = self.screen.query_one(HostFilter)
        box.add_class("-shown")
        box.focus()

    def action_leave(self) -> None:
        """Escape: clear the filter and unfold; with neither on, back to the VM table."""
        if not self.narrowed:
            from .vm_table import VMTable

            self.screen.query_one(VMTable).focus()
            return
        box = self.screen.query_one(HostFilter)
        box.value = ""  # its Changed message clears self.text_filter too
        box.remove_class("-shown")
        self.text_filter = ""
        self.set_folded(False)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_id == FOLDED_ID:
            event.stop()
            self.set_folded(False)

    def describe(self) -> str:
        """The panel's title: how many hosts show, and why not all."""
        if not self.narrowed:
            return "Hosts"
        shown = sum(1 for host_id in self._shown if host_id != FOLDED_ID)
        why = [f"filter {self.text_filter!r}"] if self.text_filter else []
        if self.folded:
            why.append("connected folded")
        return f"Hosts, {shown} of {len(self._hosts)} ({', '.join(why)})"

    def reader_header(self) -> str:
        """F2 in screen-reader mode: the panel's title, which its border (not drawn in
        that mode) carries for everyone else."""
        if self.narrowed:
            return f"{self.describe()}."
        return f"Hosts: all {len(self._hosts)} shown."

    def _layout(self) -> list[str]:
        """The entries a filter and folding leave, in order: when folded, the hosts that
        are not connected first (they need a look), then one line for the rest."""
        hosts = [h for h in self._hosts.values() if _matches(h, self.text_filter)]
        if not self.folded:
            return [h.host_id for h in hosts]
        waiting = [h.host_id for h in hosts if h.state is not HostState.CONNECTED]
        connected = len(hosts) - len(waiting)
        return waiting + ([FOLDED_ID] if connected else [])

    def _folded_hosts(self) -> list[HostInfo]:
        return [
            h for h in self._hosts.values()
            if h.state is HostState.CONNECTED and _matches(h, self.text_filter)
        ]

    def _summary(self) -> Content:
        hosts = self._folded_hosts()
        vms = sum(h.vm_count for h in hosts)
        count = plural(len(hosts), "connected host")
        return Content.assemble((count, "bold"), f", {plural(vms, 'VM')} (z or Enter shows them)")

    def _rebuild(self) -> None:
        """The entries again, for a new filter or folding; the highlight stays on its
        host (or summary line) where it still shows."""
        option = self.highlighted_option
        if option is not None:
            self._kept = option.id
        # A filter that left no host ends with the highlight back on the host it was on.
        keep = self._kept
        layout = self._layout()
        self.clear_options()
        self.add_options(
            Option(self._summary() if key == FOLDED_ID else self._entry(self._hosts[key]), id=key)
            for key in layout
        )
        self._shown = layout
        self.set_class(self.one_line, "-one-line")
        if layout:
            self.highlighted = layout.index(keep) if keep in layout else 0
            # Once laid out: a list that was empty had no height to scroll in yet, and the
            # highlight (the screen-reader cursor) would sit below the panel's edge.
            self.call_after_refresh(self.scroll_to_highlight)
        if isinstance(self.parent, Widget):
            self.parent.border_title = self.describe()
