"""The help screen: every key binding, straight from tvirt.keys."""

from __future__ import annotations

from itertools import groupby

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tvirt.keys import READ_ONLY_MARK, Key, all_keys, display, needs_write

from .base import TvirtModal
from .dialogs import dialog_bindings

_WHERE = {
    "everywhere": "Everywhere",
    "dashboard": "On the dashboard",
    "Hosts panel": "In the Hosts panel (Tab from the VM table)",
    "VM details": "On the VM details screen",
    "storage": "In the storage view (S on the dashboard)",
    "forms and wizards": "In forms and wizards (new VM, new volume or pool, hardware changes)",
    "VM hardware": "On the VM hardware screen (e on the dashboard)",
    "XML editor": "In the XML editor (x on the VM hardware screen)",
    "networks": "On the networks screen (N on the dashboard)",
    "dialogs": "In dialogs and this help",
    "Gluster view": "In the Gluster view (G on the dashboard)",
    "disk wizards": "In the Gluster disk wizards (wipe, bricks)",
    "confirmations": "When asked to confirm",
    "migration": "While a migration runs (m on the dashboard)",
}


def every_key() -> tuple[Key, ...]:
    """Every key: tvirt.keys' table is the single source."""
    return all_keys()


def help_lines(keys: tuple[Key, ...], readonly: bool = False) -> list[str]:
    """One line per key, grouped by where the key works, in table order; in read-only
    mode the dashboard keys that need read-write say so."""
    order = list(_WHERE)
    keys = tuple(sorted(keys, key=lambda k: order.index(k.where) if k.where in order else 99))
    width = max(len(display(k.key)) for k in keys)
    lines: list[str] = []
    for where, group in groupby(keys, key=lambda k: k.where):
        if lines:
            lines.append("")
        lines.append(_WHERE.get(where, where.capitalize()))
        lines += [
            f"  {display(k.key):<{width}}  {k.description}"
            + (f" {READ_ONLY_MARK}" if readonly and _needs_write(k) else "")
            for k in group
        ]
    return lines


class HelpScreen(TvirtModal[None]):
    BINDINGS = [
        *dialog_bindings(),
        Binding("question_mark", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box help-box"):
            yield Static(Content("Keys"), classes="dialog-title")
            readonly = bool(getattr(self.app, "readonly", False))
            lines = help_lines(every_key(), readonly)
            if getattr(self.app, "screen_reader", False):
                # One line an item, so the arrows move the cursor from key to key.
                spoken = OptionList(
                    *(Option(Content(line.strip())) for line in lines if line.strip()),
                    id="help-keys",
                )
                spoken.tooltip = "Keys: every key binding, grouped by where it works"
                yield spoken
            else:
                keys = VerticalScroll(id="help-keys")
                keys.tooltip = "Keys: every key binding, grouped by where it works"
                with keys:
                    yield Static(Content("\n".join(lines)), id="help-text")
            yield Static(
                Content("Escape or ?: close this help.  q: quit tvirt."), classes="dialog-keys"
            )


def _needs_write(key: Key) -> bool:
    return key.where == "dashboard" and needs_write(key.action)
