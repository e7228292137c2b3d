"""The host pane: one entry per connection, its state as a word and what it runs."""

from __future__ import annotations

import contextlib

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from tvirt.model import HostInfo, HostState
from tvirt.stats import HostRates

from .sparkline import sparkline
from .words import host_lines, host_stats_line, plural

HOST_TREND_WIDTH = 20  # points of host CPU history in the host list
# Above this many hosts each entry is one line (label, state word, VMs, CPU): six lines a
# host made fifty hosts 300 lines of panel, and redrawing it on every tick cost CPU.
COMPACT_ABOVE = 8


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


class HostList(OptionList):
    """Entries are keyed by host_id and replaced in place when a host changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hosts: dict[str, HostInfo] = {}
        # Live stats lines per host (numbers, then a CPU sparkline); shown while connected.
        self._stats: dict[str, tuple[str, ...]] = {}

    @property
    def one_line(self) -> bool:
        return len(self._hosts) > COMPACT_ABOVE

    def _entry(self, host: HostInfo) -> Content:
        stats = self._stats.get(host.host_id, ())
        return _compact(host, stats) if self.one_line else _prompt(host, stats)

    def show_host(self, host: HostInfo) -> None:
        was_compact = self.one_line
        self._hosts[host.host_id] = host
        if self.one_line != was_compact:
            self._redraw_all()
        prompt = self._entry(host)
        try:
            self.replace_option_prompt(host.host_id, prompt)
        except OptionDoesNotExist:
            self.add_option(Option(prompt, id=host.host_id))
            if self.highlighted is None:
                self.highlighted = 0

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
        if host is not None and host.state is HostState.CONNECTED:
            self.show_host(host)

    def remove_host(self, host_id: str) -> None:
        was_compact = self.one_line
        self._hosts.pop(host_id, None)
        self._stats.pop(host_id, None)
        try:
            self.remove_option(host_id)
        except OptionDoesNotExist:
            return
        if self.one_line != was_compact:
            self._redraw_all()

    def _redraw_all(self) -> None:
        """Every entry again, in the other layout (the host count crossed COMPACT_ABOVE)."""
        for host_id, host in self._hosts.items():
            with contextlib.suppress(OptionDoesNotExist):
                self.replace_option_prompt(host_id, self._entry(host))

    def selected_host_id(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None else None

    def select_host(self, host_id: str) -> None:
        try:
            self.highlighted = self.get_option_index(host_id)
        except OptionDoesNotExist:
            return
