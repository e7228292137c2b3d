"""The Textual app: owns the host manager and turns its updates into screen changes."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload
from weakref import WeakKeyDictionary, WeakSet

from rich.console import RenderableType
from textual import events
from textual.app import App, ScreenStackError
from textual.binding import Binding, BindingType
from textual.command import CommandPalette
from textual.driver import Driver
from textual.filter import Monochrome, NoColor
from textual.screen import ModalScreen, Screen, ScreenResultCallbackType, ScreenResultType
from textual.theme import Theme
from textual.widget import AwaitMount
from textual.widgets import DataTable, Input, OptionList

from tvirt import config
from tvirt.actions import Action
from tvirt.history import StatsHistory
from tvirt.keys import APP_KEYS, STATS_STEPS
from tvirt.manager import HostManager, choose_uris, local_default
from tvirt.model import HostInfo, HostState, VMInfo
from tvirt.ops import vms as vm_ops
from tvirt.readonly import refusal
from tvirt.recheck import recheck_words
from tvirt.stats import StatsSnapshot
from tvirt.themes import DEFAULT_THEME, STYLESHEET, register_themes, resolve, user_themes
from tvirt.tiers import DEFAULT_FULL_STATS_LIMIT, DEFAULT_TICK_BUDGET, StatsTiers
from tvirt.updates import Update
from tvirt.uri import URIError

from .base import Palette
from .commands import TvirtCommands
from .cursor import text_offset
from .dashboard import DashboardScreen
from .event_log import EventLogScreen
from .form import Choice
from .help import HelpScreen
from .messages import (
    ActionDone,
    DomainChanged,
    DomainRemoved,
    DomainsDetailed,
    DomainsListed,
    HostChanged,
    StatsArrived,
    message_for,
)
from .moves import Move, Moves
from .quit_guard import ask_before_quitting
from .reader import (
    READER_CLASS,
    ReadOut,
    header_words,
    pair_labels,
    skip_scroller,
    spoken_toggles,
    target,
)
from .stats_batch import BATCH_DELAY, StatsDue, StatsMailbox
from .vm_detail import VMDetailScreen
from .words import plural

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
            show=k.action in _SHOWN and k.key != "ctrl+q",
            tooltip=k.description,
            # ctrl+q first, before any widget: it is the quit key where q is typed as text.
            # F2 and F3 (screen-reader mode's reading keys) reach dialogs and consoles too.
            priority=k.key in ("ctrl+q", "f2", "f3"),
        )
        for k in APP_KEYS
        if k.where == "everywhere"
    ]


class TvirtApp(App[int]):
    TITLE = "tvirt"
    CSS_PATH = str(STYLESHEET)
    BINDINGS = app_bindings()
    COMMANDS = App.COMMANDS | {TvirtCommands}

    def get_driver_class(self) -> type[Driver]:
        """In a Linux terminal, the driver that hands a lone Escape on when it is due
        (screens/driver.py), not up to 100 ms later."""
        from textual.drivers.linux_driver import LinuxDriver

        from .driver import PromptDriver

        chosen = super().get_driver_class()
        return PromptDriver if chosen is LinuxDriver else chosen

    def __init__(
        self,
        uris: list[str],
        readonly: bool = False,
        uri_source: str = "",
        *,
        theme: str = "",
        settings: config.Config | None = None,
        screen_reader: bool = False,
        extra_themes: tuple[Theme, ...] | list[Theme] = (),
        interval: float = config.DEFAULT_INTERVAL,
        history_minutes: float = config.DEFAULT_HISTORY_MINUTES,
        full_stats_limit: int = DEFAULT_FULL_STATS_LIMIT,
        tick_budget: int = DEFAULT_TICK_BUDGET,
        stats: bool = True,
        default_uris: list[str] | None = None,
    ) -> None:
        super().__init__()
        # What a config without URIs stands for (the local libvirtd): adding a host to
        # such a config saves these too, so a plain start still opens them afterwards.
        self.default_uris = local_default() if default_uris is None else default_uris
        # Hosts added in this session that have not connected yet: saved once they do.
        self._unsaved: set[str] = set()
        self._unsaved_told: set[str] = set()
        # Live stats: one ticker per connected host (owned by the manager), feeding one
        # history. stats=False (snapshot tests) never starts a ticker, so tests can fill
        # the history by hand. Screen-reader mode starts paused: nothing moves by itself.
        self.stats_enabled = stats
        self.stats_interval = interval
        self.stats_paused = screen_reader
        self.history = StatsHistory(interval, window=history_minutes * 60.0)
        # Which VMs get disk, network and per-vCPU stats (every VM up to the limit).
        # Above tick_budget VMs in all, each VM is read once in several ticks.
        self.tiers = StatsTiers(full_stats_limit, tick_budget)
        self.latest: dict[str, StatsSnapshot] = {}
        self._every_shown = 1  # tiers.every() as the status lines last said it
        # Ticks wait here and reach the screens in batches (screens/stats_batch.py).
        self.stats_box = StatsMailbox()
        # Screen-reader mode: the terminal cursor follows the focus and highlight, and
        # nothing moves by itself (no animation, blinking, toasts or live graphs), so at
        # idle the app writes nothing. Widgets that redraw on a timer check this flag.
        self.screen_reader = screen_reader
        self._followed: WeakSet[Screen[object]] = WeakSet()
        if screen_reader:
            self.animation_level = "none"
            # One column, no borders, opaque dialogs: the rules under App.-screen-reader
            # in tvirt.tcss (screens/reader.py says why).
            self.add_class(READER_CLASS)
            spoken_toggles()
        if self.no_color:
            # Textual's NO_COLOR filter paints in shades of grey (256-colour codes);
            # NO_COLOR asks for no colour at all, so every colour becomes the
            # terminal's default. Selections show in reverse video instead (tvirt.tcss).
            self._filters = [f for f in self._filters if not isinstance(f, Monochrome)]
            if not any(isinstance(f, NoColor) for f in self._filters):
                self._filters.append(NoColor())
        # Sentences about the start (bad theme names, skipped theme files) for the log.
        self.startup_notes: list[str] = []
        # Where added and removed connections are remembered; None (tests) remembers nothing.
        self.settings = settings
        self.uris = list(uris)
        self.readonly = readonly
        self.uri_source = uri_source
        self.hosts: dict[str, HostInfo] = {}
        # Hosts the user removed: their worker may still report while it stops.
        self._removed: set[str] = set()
        self.messages: list[str] = []
        # Log lines that came before the dashboard could show them (a fast host connects
        # before the first screen has mounted); the dashboard writes them when it mounts.
        self.unlogged: list[str] = []
        self.quitting = False
        # Keys to hand to the current screen afresh (see on_key), and where keys went.
        self._held: list[events.Key] = []
        self._sent_to: WeakKeyDictionary[events.Key, Screen[object]] = WeakKeyDictionary()
        self.manager = HostManager(self._sink, readonly=readonly, progressive=True)
        self.manager.tiers = self.tiers
        # Migrations this app started, so the VM's row changes host in place.
        self.moves = Moves()
        self.dashboard = DashboardScreen()
        # The graphical display: how it draws (screens/display.py renderers), and the VM
        # whose display opens once listed (`tvirt display VM`; Escape there quits).
        self.display_renderer = "auto"
        self.display_wanted: str | None = None
        self.display_poll = True  # False: snapshot tests hand recorded frames in
        register_themes(self, extra_themes)
        wanted = resolve(theme)
        if wanted and wanted not in self.available_themes:
            self.startup_notes.append(
                f"There is no theme called {wanted!r}; using {DEFAULT_THEME}. "
                f"Themes: {', '.join(sorted(self.available_themes))}."
            )
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        mode = "read-only: every change is refused" if readonly else "read-write"
        source = f"; hosts from {uri_source}" if uri_source else ""
        self.sub_title = f"{mode}{source}"

    def get_default_screen(self) -> Screen[None]:
        return self.dashboard

    def on_mount(self) -> None:
        if self.screen_reader:
            self._show_terminal_cursor()
            # A dialog closing hands the focus back without a focus event: follow it.
            self.screen_change_signal.subscribe(self, self._screen_changed)
            # A safety net for moves no event reports (a page scrolled home after its
            # layout): look twice a second; nothing is drawn when the cursor is in place.
            self.set_interval(0.5, self.place_cursor)
            # After Ctrl+Z and fg the driver hides the cursor again.
            self.app_resume_signal.subscribe(self, lambda _app: self._show_terminal_cursor())
        # From here on a theme change (command palette) is remembered in the config.
        self.watch(self, "theme", self._remember_theme, init=False)

    def _show_terminal_cursor(self) -> None:
        """Textual hides the terminal cursor; braille displays and console screen readers
        follow it, so show it, as a steady (not blinking) block: CSI ?25h, CSI 2 SP q."""
        driver = self._driver
        if driver is not None and not self.is_headless:
            driver.write("\x1b[?25h\x1b[2 q")
            driver.flush()

    def _remember_theme(self, theme: str) -> None:
        if self.settings is None or self.settings.theme == theme:
            return
        self.settings.theme = theme
        path = self._save_settings("the theme")
        if path is not None:
            self.say(f"Theme {theme} saved to {path}.")

    def _save_settings(self, what: str) -> Path | None:
        """Write the config; a failure is one sentence on the status line, and None."""
        assert self.settings is not None
        try:
            return config.save(self.settings)
        except OSError as exc:
            self.say(f"Could not save {what}: {exc.strerror}.", ok=False)
            return None

    @property
    def _background_screens(self) -> list[Screen[object]]:
        """Screen-reader mode: every screen and dialog is opaque, so none shows through.
        Textual counts the screen right below the top one as visible anyway and repaints
        the whole top screen wherever that one changed: the dashboard under the Gluster
        view, its VM table updated by another host's event, redrew the screen at idle."""
        stack = self._screen_stack
        if getattr(self, "screen_reader", False) and stack and stack[-1].styles.background.a == 1:
            return []
        screens: list[Screen[object]] = super()._background_screens
        return screens

    # -- screen-reader mode: the terminal cursor follows the focus ----------
    def place_cursor(self) -> None:
        """Put the terminal cursor at the start of the focused item's text. Only a move
        is drawn, so calling it when nothing moved writes nothing (idle stays silent)."""
        if not self.screen_reader or self.quitting or not self._has_screen():
            return
        widget = target(self.screen, self.focused)
        if widget is None or not widget.is_mounted:
            return
        offset = text_offset(widget)
        # Textual's input sets cursor_position without drawing; what counts is where the
        # last update left the terminal's cursor (Textual's _previous_cursor_position).
        if offset is None or offset == self.cursor_position == self._previous_cursor_position:
            return
        self.cursor_position = offset
        # The cursor moves with the next screen update; make one for this widget.
        widget.refresh()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if self.screen_reader:
            if hasattr(event.widget, "cursor_blink"):
                event.widget.cursor_blink = False
            if skip_scroller(event.widget):
                # Tab stops only where the arrows move the cursor (screens/reader.py);
                # unless the screen has focused something else meanwhile.
                scroller = event.widget
                self.call_later(lambda: self.focused is scroller and self.screen.focus_next())
                return
            if isinstance(event.widget, (Input, Choice)):
                pair_labels(self.screen)
            self._place_after_layout()

    def on_idle(self) -> None:
        # Whatever moved the item (a list measured late, a scroll): follow it. Writes
        # nothing when the cursor is already there.
        if self.screen_reader:
            self.place_cursor()

    def on_command_palette_option_highlighted(
        self, _event: CommandPalette.OptionHighlighted
    ) -> None:
        if self.screen_reader:
            self.call_after_refresh(self.place_cursor)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        if self.screen_reader:
            self.call_after_refresh(self.place_cursor)

    def on_option_list_option_highlighted(self, _event: OptionList.OptionHighlighted) -> None:
        if self.screen_reader:
            self.call_after_refresh(self.place_cursor)

    def _screen_changed(self, screen: Screen[object]) -> None:
        # Rows arriving, a field moving beside its label: the item moved without a
        # focus or highlight change, so the cursor follows every layout of the screen.
        if screen not in self._followed:
            self._followed.add(screen)
            screen.screen_layout_refresh_signal.subscribe(self, self._laid_out)
        for widget in screen.query("*"):
            skip_scroller(widget)
        pair_labels(screen)
        self._place_after_layout()

    def _laid_out(self, screen: Screen[object]) -> None:
        # A label's words changed (a wizard's next step on the same field): pair again.
        pair_labels(screen)
        self.place_cursor()

    def _place_after_layout(self) -> None:
        """A new screen, or a field moved beside its label (pair_labels): the first
        refresh lays it out, the cursor goes there after the second. Checked once more a
        little later, for a page that a busy machine lays out in several turns: a check
        that finds the cursor in place writes nothing."""
        self.call_after_refresh(lambda: self.call_after_refresh(self.place_cursor))
        self.set_timer(0.3, self.place_cursor)
        self.set_timer(1.0, self.place_cursor)

    def on_ready(self) -> None:
        for note in self.startup_notes:
            self.note(note)
        # Connect once the dashboard exists, so every update has somewhere to go. All
        # at once where every URI is good: labelled together, fifty hosts to one name
        # are not relabelled (and the table re-sorted) as each one arrives.
        try:
            workers = self.manager.add_all(self.uris)
        except URIError:
            for uri in self.uris:
                self.add_connection(uri, quiet=True)
            return
        for worker in workers:
            self._show_host(worker.info)

    def exit(
        self,
        result: int | None = None,
        return_code: int = 0,
        message: RenderableType | None = None,
    ) -> None:
        self.quitting = True
        super().exit(result, return_code, message)

    if TYPE_CHECKING:  # App's own two forms, so that callers keep their result types

        @overload
        def push_screen(
            self,
            screen: Screen[ScreenResultType] | str,
            callback: ScreenResultCallbackType[ScreenResultType] | None = None,
            wait_for_dismiss: Literal[False] = False,
            *,
            mode: str | None = None,
        ) -> AwaitMount: ...

        @overload
        def push_screen(
            self,
            screen: Screen[ScreenResultType] | str,
            callback: ScreenResultCallbackType[ScreenResultType] | None = None,
            wait_for_dismiss: Literal[True] = True,
            *,
            mode: str | None = None,
        ) -> asyncio.Future[ScreenResultType]: ...

    def push_screen(
        self,
        screen: Screen[ScreenResultType] | str,
        callback: ScreenResultCallbackType[ScreenResultType] | None = None,
        wait_for_dismiss: bool = False,
        *,
        mode: str | None = None,
    ) -> AwaitMount | asyncio.Future[ScreenResultType]:
        """Once quitting, no screen is pushed: Textual, exiting, no longer composes it, and
        its on_mount's first query failed (a palette command chosen before ctrl+q pushed
        its confirmation after it: NoMatches '#confirm', found by tests/monkey.py)."""
        if wait_for_dismiss:
            return super().push_screen(screen, callback, True, mode=mode)
        if self.quitting:
            return AwaitMount(self.screen, [])
        return super().push_screen(screen, callback, False, mode=mode)

    async def on_event(self, event: events.Event) -> None:
        """Keys typed right after q ("qemu") are still queued when the app begins to exit.
        Their actions would push screens that Textual, exiting, no longer composes, and the
        screen's first query failed (NoMatches '#devices'): once quitting, input goes
        nowhere. Keys waiting to be handed on (see on_key) keep their place in line."""
        if isinstance(event, events.InputEvent) and not event.is_forwarded:
            if self.quitting or not self._has_screen():
                return
            if isinstance(event, events.Key):
                if self._held:
                    self._hold(event)
                    return
                self._sent_to[event] = self.screen
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        """A key reaches the app's bindings after its widget passed it up, and acts on the
        screen current *then*. Typed ahead (e x escape), escape went to the hardware
        screen's table, and arrived when the XML editor was current: it missed the
        editor's priority binding and was lost. A key sent to another screen than the
        current one is handed to the current one afresh, in order."""
        sent_to = self._sent_to.pop(event, None)
        if self.quitting or not self._has_screen():
            event.prevent_default()  # sent before q; the screens are going away
        elif self._held or sent_to not in (None, self.screen):
            event.prevent_default()
            self._hold(event)

    def _has_screen(self) -> bool:
        """False while the app shuts down and its screens are already gone."""
        try:
            return bool(self.screen_stack)
        except (KeyError, ScreenStackError):
            return False

    def _hold(self, key: events.Key) -> None:
        self._held.append(events.Key(key.key, key.character))
        if len(self._held) == 1:
            self.call_later(self._release)

    def _release(self) -> None:
        held, self._held = self._held, []
        for key in held:
            self.post_message(key)

    async def on_unmount(self) -> None:
        # Workers may be mid-call on a slow host; wait for them off the event loop.
        await asyncio.to_thread(self.manager.stop)

    def _sink(self, update: Update) -> None:
        """Called on worker threads; post_message is thread-safe."""
        self.post_message(message_for(update))

    def _on_stats(self, snap: StatsSnapshot) -> None:
        """A ticker's callback, on the host's worker thread.

        The history is fed here, not on the event loop: StatsHistory is thread-safe and
        add() is cheap, and this way every tick is recorded even when the UI falls behind
        and the redraws are batched: the mailbox wakes the event loop once for all the
        hosts that tick within BATCH_DELAY, not once a tick.
        """
        if snap.host_id in self._removed:
            return
        self.history.add(snap)
        if self.stats_box.put(snap):
            self.post_message(StatsDue())

    def on_stats_due(self, _message: StatsDue) -> None:
        self.set_timer(BATCH_DELAY, self._flush_stats, name="stats batch")

    def _flush_stats(self) -> None:
        self.show_stats(self.stats_box.take())

    # -- updates from the workers -------------------------------------------
    def _wanted(self, host_id: str) -> bool:
        """Drop late reports: from a removed host, or while the app shuts down."""
        # is_running turns false as shutdown begins, before the screens lose their widgets.
        return host_id not in self._removed and self.is_running and self.dashboard.is_mounted

    def on_host_changed(self, message: HostChanged) -> None:
        host = message.host
        if not self._wanted(host.host_id):
            return
        before = self.hosts.get(host.host_id)
        if before is not None and before.label != host.label and before.state is not (
            HostState.CONNECTING
        ):
            # Another host came or went, or this one told its hostname (tvirt.labels);
            # a host's first connect is no news: nothing was said under its old label.
            self.note(f"Host {before.label} is now called {host.label}.")
        if before is not None and before.state is not host.state:
            why = f" ({host.error})" if host.error else ""
            self.note(f"Host {host.label}: {before.state.word} -> {host.state.word}{why}")
        self.hosts[host.host_id] = host
        self.dashboard.host_list.show_host(host)
        self.dashboard.table.set_host_label(host.host_id, host.label)
        self.dashboard.refresh_status()
        if host.state is HostState.CONNECTED:
            self._watch_stats(host.host_id)
        if host.host_id in self._unsaved:
            self._settle_added(host)

    def _settle_added(self, host: HostInfo) -> None:
        """An added host is saved in the config only once it has connected; one that can
        never connect (a driver libvirt lacks) is refused and taken off the list."""
        if host.state is HostState.CONNECTED:
            self._unsaved.discard(host.host_id)
            self._remember(host.host_id, keep=True)
        elif host.state is HostState.FAILED:
            self._unsaved.discard(host.host_id)
            self._forget_host(host.host_id)
            self.say(f"Not added: {host.label}: {host.error}", ok=False)
        elif host.state is HostState.DISCONNECTED and host.host_id not in self._unsaved_told:
            self._unsaved_told.add(host.host_id)
            self.say(
                f"{host.label} did not connect ({host.error.rstrip('.')}); it is retried, "
                "and saved to the connection list only once it connects.",
                ok=False,
            )

    # -- live stats -----------------------------------------------------------
    def _watch_stats(self, host_id: str) -> None:
        """Start the host's ticker on its first connect; it survives reconnects."""
        if not self.stats_enabled or host_id not in self.manager.workers:
            return
        self.manager.watch_stats(
            host_id, self._on_stats, self.stats_interval, paused=self.stats_paused
        )

    def on_stats_arrived(self, message: StatsArrived) -> None:
        self.show_stats([message.snapshot])

    def show_stats(self, snaps: list[StatsSnapshot]) -> None:
        """Redraw what is on screen with these ticks (of different hosts)."""
        if self.stats_paused:
            return  # paused (P) after the tick was posted: the screens stay as they are
        snaps = [snap for snap in snaps if self._wanted(snap.host_id)]
        if not snaps:
            return
        for snap in snaps:
            self.latest[snap.host_id] = snap
        every = self.tiers.every()
        if every != self._every_shown:  # the status lines say how often figures refresh
            self._every_shown = every
            self.refresh_stats_status()
        # Only what is on screen redraws: the first full screen from the top of the stack
        # (a dialog leaves the screen under it visible). A hidden dashboard catches up from
        # self.latest when it is shown again; the details screen redraws on resume.
        base = next(
            (s for s in reversed(self.screen_stack) if not isinstance(s, ModalScreen)), None
        )
        for snap in snaps:
            if isinstance(base, VMDetailScreen):
                base.show_stats(snap)
            if base is self.dashboard:
                self.dashboard.show_stats(snap)
            else:
                self.dashboard.stale_stats.add(snap.host_id)

    def set_stats_paused(self, paused: bool) -> None:
        self.stats_paused = paused
        for ticker in self.manager.tickers.values():
            if paused:
                ticker.pause()
            else:
                ticker.resume()
        self.refresh_stats_status()

    def set_stats_interval(self, seconds: float) -> None:
        self.stats_interval = seconds
        self.history.set_interval(seconds)
        for ticker in self.manager.tickers.values():
            ticker.set_interval(seconds)
        self.refresh_stats_status()

    def stats_words(self) -> str:
        """'stats live, every 2 s' or 'stats paused' or 'stats off', for status lines."""
        if not self.stats_enabled:
            return "stats off"
        if self.stats_paused:
            return "stats paused (press P to resume)"
        slower = self.tiers.refresh_words(self.stats_interval)
        later = recheck_words(self.manager.rechecks)  # many VMs: rarer rechecks
        words = [f"stats live, every {self.stats_interval:g} s", slower, later]
        return "; ".join(w for w in words if w)

    def refresh_stats_status(self) -> None:
        if self.dashboard.is_mounted:
            self.dashboard.refresh_status()
        if isinstance(self.screen, VMDetailScreen):
            self.screen.refresh_status()

    async def action_quit(self) -> None:
        if not ask_before_quitting(self):
            self.exit()

    def action_toggle_stats(self) -> None:
        self.set_stats_paused(not self.stats_paused)
        self.note(f"Live stats {'paused' if self.stats_paused else 'resumed'}.")

    def action_faster_stats(self) -> None:
        faster = [s for s in STATS_STEPS if s < self.stats_interval]
        self._step_interval(faster[-1] if faster else None)

    def action_slower_stats(self) -> None:
        slower = [s for s in STATS_STEPS if s > self.stats_interval]
        self._step_interval(slower[0] if slower else None)

    def _step_interval(self, seconds: float | None) -> None:
        if seconds is None:
            self.note(f"Live stats stay at every {self.stats_interval:g} s (the limit).")
            self.refresh_stats_status()
            return
        self.set_stats_interval(seconds)
        self.note(f"Live stats now every {seconds:g} s.")

    def show_vm_details(self, vm: VMInfo) -> None:
        self.push_screen(VMDetailScreen(vm.key))

    def on_domains_listed(self, message: DomainsListed) -> None:
        if not self._wanted(message.host_id):
            return
        table = self.dashboard.table
        vms = self.moves.listed(message.host_id, message.vms)
        for vm in vms:
            self._note_change(table.vms.get(vm.key), vm)
        table.replace_host(message.host_id, vms)
        for vm in message.vms:
            self._settle_move(vm.uuid)
            if vm.uuid == self.display_wanted:
                self.display_wanted = None
                self.run_worker(self._open_display(vm))
        self.dashboard.refresh_status()

    async def _open_display(self, vm: VMInfo) -> None:
        from .display import open_display

        await open_display(self, vm, leave_quits=True)

    def on_domain_changed(self, message: DomainChanged) -> None:
        if not self._wanted(message.vm.host_id):
            return
        if message.incoming:
            self.moves.arriving(message.vm, self.dashboard.table.vms)
        if self.moves.changed(message.vm) is not None:
            self._settle_move(message.vm.uuid)  # held until the source lets it go
            return
        self._note_change(self.dashboard.table.vms.get(message.vm.key), message.vm)
        self.dashboard.table.upsert(message.vm)
        self.dashboard.refresh_status()

    def on_domains_detailed(self, message: DomainsDetailed) -> None:
        if not self._wanted(message.host_id):
            return
        self.dashboard.table.update_known(message.vms)
        self.dashboard.refresh_status()

    def on_domain_removed(self, message: DomainRemoved) -> None:
        if not self._wanted(message.host_id):
            return
        if self.moves.removed(message.host_id, message.uuid) is not None:
            self._settle_move(message.uuid)  # it moves: its row stays until it arrives
            return
        if message.key in self.dashboard.table.vms:
            self.note(f"{message.name} on {self._label(message.host_id)}: removed")
        self.dashboard.table.remove_vm(message.key)
        self.dashboard.refresh_status()

    def _settle_move(self, uuid: str) -> None:
        """Both hosts have told of a migration: the row changes host in one frame."""
        move = self.moves.settle(uuid)
        if move is None or move.arrived is None:
            return
        table = self.dashboard.table
        before = table.vms.get(move.source_key)
        table.move_vm(move.source_key, move.arrived)
        if before is not None:
            self.note(f"{before.name}: moved from {self._label(move.source)} to "
                      f"{self._label(move.dest)}")
        self.dashboard.refresh_status()

    def move_dropped(self, move: Move) -> None:
        """A migration failed or was cancelled: the row stays on the source. The
        destination's incoming copy is not shown: libvirt tears it down, and its removal
        may come after this. Only if the source let go of the VM meanwhile (a failure
        after its end) is its row removed."""
        if move.left:
            before = self.dashboard.table.vms.get(move.source_key)
            if before is not None:
                self.note(f"{before.name} on {self._label(move.source)}: removed")
            self.dashboard.table.remove_vm(move.source_key)
        self.dashboard.refresh_status()

    def on_action_done(self, message: ActionDone) -> None:
        if not self._wanted(message.result.host_id):
            return
        self.say(message.result.message, ok=message.result.ok)

    def _label(self, host_id: str) -> str:
        host = self.hosts.get(host_id)
        return host.label if host else host_id

    def _note_change(self, before: VMInfo | None, after: VMInfo) -> None:
        """A VM's state change, as a sentence in the event log."""
        if before is not None and before.state is not after.state:
            self.note(
                f"{after.name} on {self._label(after.host_id)}: "
                f"{before.state.word} -> {after.state.word}"
            )

    # -- what the dashboard asks for ----------------------------------------
    def note(self, sentence: str) -> None:
        """A state change or remark: the event log only, never a pop-up."""
        self.messages.append(sentence)
        self._to_message_log(sentence)

    def _to_message_log(self, line: str) -> None:
        if self.dashboard.log_ready:
            self.dashboard.log_line(line)
        else:
            self.unlogged.append(line)

    def say(self, sentence: str, *, ok: bool = True) -> None:
        """Every result or error: a notification plus a line in the message log."""
        self.messages.append(sentence)
        self._to_message_log(sentence if ok else f"Error: {sentence}")
        if self.screen_reader:
            # A toast would appear and vanish by itself; the log line is enough.
            return
        # The title says "Error" in words; the severity colour alone would not.
        self.notify(
            sentence,
            title="" if ok else "Error",
            severity="information" if ok else "error",
            markup=False,
        )

    def perform(self, action: Action, vms: list[VMInfo], *, remove_storage: bool = False) -> None:
        """Queue an action on each VM's worker; ActionDone brings back the result."""
        if self.readonly:
            self.say(refusal(f"{action.verb} {plural(len(vms), 'VM')}"), ok=False)
            return
        for vm in vms:
            worker = self.manager.workers.get(vm.host_id)
            if worker is None:
                self.say(f"Could not {action.verb} {vm.name}: its host is not connected.", ok=False)
                continue
            # Asked for: its row changes at once, under the cursor too (screen-reader mode).
            self.dashboard.table.asked.add(vm.key)
            # Not awaited: the worker reports the result (ActionDone) to every screen.
            vm_ops.act(worker, action, vm.uuid, remove_storage=remove_storage)

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
            self._unsaved.add(worker.host_id)

    def _remember(self, uri: str, *, keep: bool) -> None:
        """Record an added or removed connection in the config file (mode 0600, no secrets).

        The saved list is the config's own, never this session's -c URIs; a config without
        URIs stands for the local default, which is kept when a host is added to it."""
        if self.settings is None:
            return
        before = self.settings.uris or (self.default_uris if keep else [])
        uris = [u for u in before if u != uri]
        if keep:
            uris.append(uri)
        if uris == self.settings.uris:
            return
        self.settings.uris = uris
        path = self._save_settings("the connection list")
        if path is not None:
            self.say(f"Saved the connection list to {path}.")

    def _show_host(self, host: HostInfo) -> None:
        self.hosts[host.host_id] = host
        self.dashboard.host_list.show_host(host)
        self.dashboard.refresh_status()

    def remove_connection(self, host_id: str) -> None:
        host = self._forget_host(host_id)
        label = host.label if host else host_id
        self.say(f"Removed the connection to {label}.")
        if host_id not in self._unsaved:
            self._remember(host_id, keep=False)
        self._unsaved.discard(host_id)

    def _forget_host(self, host_id: str) -> HostInfo | None:
        host = self.hosts.pop(host_id, None)
        self._removed.add(host_id)
        self.dashboard.table.remove_host(host_id)
        self.dashboard.host_list.remove_host(host_id)
        self.latest.pop(host_id, None)
        self.history.forget_host(host_id)
        self.dashboard.refresh_status()
        # timeout=0: never join the worker here; it may be inside a slow call.
        self.manager.remove(host_id, timeout=0)
        return host

    # -- app-wide keys ------------------------------------------------------
    def action_command_palette(self) -> None:
        """Textual's palette, as Textual opens it, but one that dismisses only once."""
        if self.use_command_palette and not any(
            isinstance(screen, CommandPalette) for screen in self.screen_stack
        ):
            self.push_screen(Palette(id="--command-palette"))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_event_log(self) -> None:
        if not isinstance(self.screen, EventLogScreen):
            self.push_screen(EventLogScreen(self.messages))

    def action_read_header(self) -> None:
        """F2: the column names and sort (or a screen's status line), on a line of their
        own under the cursor; any key goes back."""
        if not isinstance(self.screen, ReadOut):
            self.push_screen(ReadOut([header_words(self.screen, self.focused)]))

    def action_read_newest(self) -> None:
        """F3: the event log's newest entry, for what changed without being asked."""
        if not isinstance(self.screen, ReadOut):
            newest = self.messages[-1] if self.messages else "No events yet."
            self.push_screen(ReadOut([f"Newest event: {newest}"]))


def screen_reader_source(flag: bool, cfg: config.Config) -> str:
    """Why screen-reader mode is on ("" when it is off): flag, then environment, then config."""
    if flag:
        return "--screen-reader"
    env = os.environ.get("TVIRT_SCREEN_READER", "").strip()
    if env.lower() in ("0", "no", "false", "off"):
        return ""
    if env:
        return f"TVIRT_SCREEN_READER={env}"
    if cfg.screen_reader:
        return f"the config file {cfg.path}"
    return ""


def run_app(
    connect: list[str],
    readonly: bool,
    *,
    screen_reader: bool = False,
    theme: str = "",
    interval: float | None = None,
    display: tuple[str, str] | None = None,
) -> int:
    """Entry point for `tvirt` without a command, and for `tvirt display` (display: the
    VM's UUID and the renderer; the app opens that VM's display and Escape ends it)."""
    try:
        cfg = config.load()
    except config.ConfigError as exc:
        print(f"tvirt: {exc}", file=sys.stderr)
        return EXIT_USAGE
    reader = screen_reader_source(screen_reader, cfg)
    if reader:
        # The first line, before the app takes the screen, so a screen reader speaks it.
        print(f"Screen-reader mode is on (from {reader}).", flush=True)
    extra, problems = user_themes(config.config_path().parent / "themes")
    uris, source = choose_uris(connect, cfg)
    app = TvirtApp(
        uris,
        readonly=readonly or cfg.readonly,
        uri_source=source,
        theme=theme or cfg.theme,
        settings=cfg,
        screen_reader=bool(reader),
        extra_themes=extra,
        interval=interval if interval is not None else cfg.interval,
        history_minutes=cfg.history_minutes,
        full_stats_limit=cfg.full_stats_limit,
        tick_budget=cfg.vms_per_tick,
    )
    notes = [f"{problem} It was skipped." for problem in problems] + app.startup_notes
    for note in notes:
        print(f"tvirt: {note}", file=sys.stderr, flush=True)
    app.startup_notes = notes
    if display is not None:
        app.display_wanted, app.display_renderer = display
    # The graphics the terminal can draw are asked before Textual takes the terminal.
    from .display import detect

    detect()
    app.run()
    return app.return_code or 0
