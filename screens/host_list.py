"""The host pane: one entry per connection, its state as a word and what it runs."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from tvirt.model import HostInfo, HostState
from tvirt.stats import HostRates

from .sparkline import sparkline
from .words import host_lines, host_stats_line

HOST_TREND_WIDTH = 20  # points of host CPU history in the host list


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


class HostList(OptionList):
    """Entries are keyed by host_id and replaced in place when a host changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._hosts: dict[str, HostInfo] = {}
        # Live stats lines per host (numbers, then a CPU sparkline); shown while connected.
        self._stats: dict[str, tuple[str, ...]] = {}

    def show_host(self, host: HostInfo) -> None:
        self._hosts[host.host_id] = host
        prompt = _prompt(host, self._stats.get(host.host_id, ()))
        try:
            self.replace_option_prompt(host.host_id, prompt)
        except OptionDoesNotExist:
            self.add_option(Option(prompt, id=host.host_id))
            if self.highlighted is None:
                self.highlighted = 0

    def show_stats(self, host_id: str, lines: tuple[str, ...]) -> None:
        """Replace a host's stats lines; redraws only if they changed."""
        if self._stats.get(host_id) == lines:
            return
        self._stats[host_id] = lines
        host = self._hosts.get(host_id)
        if host is not None and host.state is HostState.CONNECTED:
            self.show_host(host)

    def remove_host(self, host_id: str) -> None:
        self._hosts.pop(host_id, None)
        self._stats.pop(host_id, None)
        try:
            self.remove_option(host_id)
        except OptionDoesNotExist:
            return

    def selected_host_id(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None else None

    def select_host(self, host_id: str) -> None:
        try:
            self.highlighted = self.get_option_index(host_id)
        except OptionDoesNotExist:
            return
