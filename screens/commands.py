"""Command palette entries: every action of tvirt.keys, found by its description."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from tvirt.keys import Key, all_keys, display

# The palette cannot usefully offer itself, and dialog keys only mean something in a dialog;
# the storage view's and wizards' keys act on that view's selection, so they stay there.
_NOT_OFFERED = {"command_palette", "dismiss"}
_NOT_OFFERED_WHERE = {"confirmations", "storage", "forms and wizards"}


# Console keys act on the console tab under the keyboard; the palette runs elsewhere.
_NOT_OFFERED_IN = {
    "confirmations",
    "attached console",
    "detached console",
    "consoles",
    "Gluster view",
    "disk wizards",
    "VM hardware",
    "XML editor",
    "networks",
    "migration",
    "Hosts panel",  # the panel's own bindings: they act on the panel while it has focus
    "cluster overview",  # its refresh and Escape act on the overview screen
    "VM details",
    "graphical display",  # the display tab's keys act on the tab under the keyboard
    "graphical displays",
    "display, keys to the guest",
}


def offered_keys() -> list[Key]:
    return [
        k
        for k in all_keys()
        if k.action not in _NOT_OFFERED and k.where not in _NOT_OFFERED_IN | _NOT_OFFERED_WHERE
    ]


class TvirtCommands(Provider):
    """Runs dashboard actions on the dashboard even when opened from another screen."""

    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        return [
            (k.description, f"Key: {display(k.key)}", partial(self._run, k)) for k in offered_keys()
        ] + [
            (
                f"Theme: {name}",
                "Use this colour theme; tvirt remembers it in the config",
                partial(self._theme, name),
            )
            for name in self._themes()
        ] + [
            (
                "Full stats limit",
                "Above this many VMs, disk and network stats only for VMs whose details are open",
                self._stats_limit,
            ),
            (
                "SSH connection sharing",
                "Whether tvirt's commands on a host share one ssh connection; saved in the config",
                self._ssh_sharing,
            ),
        ]

    def _themes(self) -> list[str]:
        # tvirt's own themes and the user's theme files first, then Textual's.
        from tvirt.themes import theme_names

        own = theme_names()
        return own + sorted(n for n in self.app.available_themes if n not in own)

    def _theme(self, name: str) -> None:
        self.app.theme = name

    def _stats_limit(self) -> None:
        from .app import TvirtApp
        from .stats_limit import ask_limit

        if isinstance(self.app, TvirtApp):
            ask_limit(self.app)

    def _ssh_sharing(self) -> None:
        from .app import TvirtApp
        from .ssh_sharing import ask_sharing

        if isinstance(self.app, TvirtApp):
            ask_sharing(self.app)

    async def _run(self, key: Key) -> None:
        # Imported here: the dashboard module imports the app, which imports this one.
        from tvirt.screens.dashboard import DashboardScreen

        if key.where == "dashboard":
            for screen in reversed(self.app.screen_stack):
                if isinstance(screen, DashboardScreen):
                    await screen.run_action(key.action)
                    return
        await self.app.run_action(key.action)

    async def discover(self) -> Hits:
        for name, help_text, command in self._commands():
            yield DiscoveryHit(name, command, text=name, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, command in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), command, text=name, help=help_text)
