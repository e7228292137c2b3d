"""The host pane: one entry per connection, its state as a word and what it runs."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from tvirt.model import HostInfo

from .words import host_lines


def _prompt(host: HostInfo) -> Content:
    # Content, not str: a str would be parsed as markup, and error text is arbitrary.
    title, *rest = host_lines(host)
    # The trailing newline leaves a blank line between hosts.
    return Content.assemble((title, "bold"), *(f"\n{line}" for line in rest), "\n")


class HostList(OptionList):
    """Entries are keyed by host_id and replaced in place when a host changes."""

    def show_host(self, host: HostInfo) -> None:
        prompt = _prompt(host)
        try:
            self.replace_option_prompt(host.host_id, prompt)
        except OptionDoesNotExist:
            self.add_option(Option(prompt, id=host.host_id))
            if self.highlighted is None:
                self.highlighted = 0

    def remove_host(self, host_id: str) -> None:
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
