"""The Textual app: owns the host manager and turns its updates into screen changes."""

from __future__ import annotations

import asyncio
import sys

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tvirt import config
from tvirt.actions import Action
from tvirt.keys import APP_KEYS
from tvirt.manager import HostManager, choose_uris
from tvirt.model import HostInfo, HostState, VMInfo
from tvirt.themes import DEFAULT_THEME, STYLESHEET, register_themes
from tvirt.updates import Update
from tvirt.uri import URIError

from .commands import TvirtCommands
from .dashboard import DashboardScreen
from .help import HelpScreen
from .messages import (
    ActionFinished,
    DomainGone,
    DomainsArrived,
    DomainUpdated,
    HostUpdated,
    message_for,
)

EXIT_USAGE = 2
# Short footer labels. The footer always shows the palette key on its right edge.
_APP_FOOTER = {"help": "Help", "command_palette": "Commands", "quit": "Quit"}
_SHOWN = {"help", "quit"}


def app_bindings() -> list[BindingType]:
    return [
        Binding(
            k.key,
            k.action,
            _APP_FOOTER.get(k.action, k.description),
            show=k.action in _SHOWN,
            tooltip=k.description,
        )
        for k in APP_KEYS
        if k.where == "everywhere"
    ]


class TvirtApp(App[int]):
    TITLE = "tvirt"
    CSS_PATH = str(STYLESHEET)
    BINDINGS = app_bindings()
    COMMANDS = App.COMMANDS | {TvirtCommands}

    def __init__(
        self,
        uris: list[str],
        readonly: bool = False,
        uri_source: str = "",
        *,
        theme: str = "",
        settings: config.Config | None = None,
    ) -> None:
        super().__init__()
        # Where added and removed connections are remembered; None (tests) remembers nothing.
        self.settings = settings
        self.uris = list(uris)
        self.readonly = readonly
        self.uri_source = uri_source
        self.hosts: dict[str, HostInfo] = {}
        # Hosts the user removed: their worker may still report while it stops.
        self._removed: set[str] = set()
        self.messages: list[str] = []
        self.manager = HostManager(self._sink, readonly=readonly)
        self.dashboard = DashboardScreen()
        names = register_themes(self)
        self.theme = theme if theme in names else DEFAULT_THEME
        mode = "read-only: every change is refused" if readonly else "read-write"
        source = f"; hosts from {uri_source}" if uri_source else ""
        self.sub_title = f"{mode}{source}"

    def get_default_screen(self) -> Screen[None]:
        return self.dashboard

    def on_ready(self) -> None:
        # Connect once the dashboard exists, so every update has somewhere to go.
        for uri in self.uris:
            self.add_connection(uri, quiet=True)

    async def on_unmount(self) -> None:
        # Workers may be mid-call on a slow host; wait for them off the event loop.
        await asyncio.to_thread(self.manager.stop)

    def _sink(self, update: Update) -> None:
        """Called on worker threads; post_message is thread-safe."""
        self.post_message(message_for(update))

    # -- updates from the workers -------------------------------------------
    def _wanted(self, host_id: str) -> bool:
        """Drop late reports: from a removed host, or while the app shuts down."""
        # is_running turns false as shutdown begins, before the screens lose their widgets.
        return host_id not in self._removed and self.is_running and self.dashboard.is_mounted

    def on_host_updated(self, message: HostUpdated) -> None:
        host = message.host
        if not self._wanted(host.host_id):
            return
        self.hosts[host.host_id] = host
        self.dashboard.host_list.show_host(host)
        self.dashboard.table.set_host_label(host.host_id, host.label)
        self.dashboard.refresh_status()

    def on_domains_arrived(self, message: DomainsArrived) -> None:
        if not self._wanted(message.host_id):
            return
        self.dashboard.table.replace_host(message.host_id, message.vms)
        self.dashboard.refresh_status()

    def on_domain_updated(self, message: DomainUpdated) -> None:
        if not self._wanted(message.vm.host_id):
            return
        self.dashboard.table.upsert(message.vm)
        self.dashboard.refresh_status()

    def on_domain_gone(self, message: DomainGone) -> None:
        if not self._wanted(message.host_id):
            return
        self.dashboard.table.remove_vm(message.key)
        self.dashboard.refresh_status()

    def on_action_finished(self, message: ActionFinished) -> None:
        if not self._wanted(message.result.host_id):
            return
        self.say(message.result.message, ok=message.result.ok)

    # -- what the dashboard asks for ----------------------------------------
    def say(self, sentence: str, *, ok: bool = True) -> None:
        """Every result or error: a notification plus a line in the message log."""
        self.messages.append(sentence)
        # The title says "Error" in words; the severity colour alone would not.
        self.notify(
            sentence,
            title="" if ok else "Error",
            severity="information" if ok else "error",
            markup=False,
        )
        self.dashboard.log_line(sentence if ok else f"Error: {sentence}")

    def perform(self, action: Action, vms: list[VMInfo], *, remove_storage: bool = False) -> None:
        """Queue an action on each VM's worker; ActionDone brings back the result."""
        if self.readonly:
            self.say(f"Read-only mode: did not {action.verb} anything.", ok=False)
            return
        for vm in vms:
            worker = self.manager.workers.get(vm.host_id)
            if worker is None:
                self.say(f"Could not {action.verb} {vm.name}: its host is not connected.",
                         ok=False)
                continue
            worker.act(action, vm.uuid, remove_storage=remove_storage)

    def is_connected(self, uri: str) -> bool:
        return uri in self.manager.workers

    def add_connection(self, uri: str, *, quiet: bool = False) -> None:
        """Open a URI; a bad one becomes a failed host entry (at start) or a sentence."""
        try:
            worker = self.manager.add(uri)
        except URIError as exc:
            if quiet:
                # From the command line or config: keep it visible in the host list.
                self._show_host(HostInfo(uri, uri, uri, HostState.FAILED, error=str(exc)))
            else:
                self.say(f"Not added: {exc}", ok=False)
            return
        self._removed.discard(worker.host_id)
        if worker.host_id not in self.hosts:
            self._show_host(worker.info)
        if not quiet:
            self.say(f"Connecting to {worker.info.label}.")
            self._remember(worker.host_id, keep=True)

    def _remember(self, uri: str, *, keep: bool) -> None:
        """Record an added or removed connection in the config file (mode 0600, no secrets)."""
        if self.settings is None:
            return
        uris = [u for u in self.settings.uris if u != uri]
        if keep:
            uris.append(uri)
        if uris == self.settings.uris:
            return
        self.settings.uris = uris
        try:
            path = config.save(self.settings)
        except OSError as exc:
            self.say(f"Could not save the connection list: {exc.strerror}.", ok=False)
            return
        self.say(f"Saved the connection list to {path}.")

    def _show_host(self, host: HostInfo) -> None:
        self.hosts[host.host_id] = host
        self.dashboard.host_list.show_host(host)
        self.dashboard.refresh_status()

    def remove_connection(self, host_id: str) -> None:
        host = self.hosts.pop(host_id, None)
        self._removed.add(host_id)
        self.dashboard.table.remove_host(host_id)
        self.dashboard.host_list.remove_host(host_id)
        self.dashboard.refresh_status()
        # timeout=0: never join the worker here; it may be inside a slow call.
        self.manager.remove(host_id, timeout=0)
        label = host.label if host else host_id
        self.say(f"Removed the connection to {label}.")
        self._remember(host_id, keep=False)

    # -- app-wide keys ------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def run_app(connect: list[str], readonly: bool) -> int:
    """Entry point for `tvirt` without a command."""
    try:
        cfg = config.load()
    except config.ConfigError as exc:
        print(f"tvirt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    uris, source = choose_uris(connect, cfg)
    app = TvirtApp(
        uris,
        readonly=readonly or cfg.readonly,
        uri_source=source,
        theme=cfg.theme,
        settings=cfg,
    )
    app.run()
    return app.return_code or 0
