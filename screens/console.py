"""Serial consoles in the app: one tab per VM, across hosts.

While a console is attached every key goes to the guest, except the escape key (Ctrl+]
unless the config says otherwise), which detaches; Shift+PageUp/PageDown, which scroll
back; and Ctrl+PageUp/PageDown, which switch tabs. A detached console keeps its screen
and answers to the keys listed on its status line: reattach, take over, save the
transcript, special keys, close the tab, and Escape back to the dashboard.
"""

from __future__ import annotations

import asyncio
import threading
import time
import xml.etree.ElementTree as ET
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, cast

import platformdirs
from textual.actions import SkipAction
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Header, Static, TabbedContent, TabPane

from tvirt import config
from tvirt.console import (
    SYSRQ_KEYS,
    ConsoleBusy,
    ConsoleError,
    ConsoleSession,
    escape_key_name,
    escape_label,
    graphics_of,
)
from tvirt.errors import explain
from tvirt.keys import CONSOLE_KEYS
from tvirt.model import VMInfo
from tvirt.ops import console as console_ops
from tvirt.vmcreate import stall_hint

from .base import tabs_composed
from .dialogs import ConfirmDialog, Confirmed
from .footer import SteadyFooter
from .tabbed import TabsScreen
from .terminal import TerminalView

if TYPE_CHECKING:
    from .app import TvirtApp

SCREEN_NAME = "consoles"
# Seconds of silence on a just-attached text console before the pane says what to try.
STALL_AFTER = 20.0
# Guest output is fed to the emulator in pieces of SLICE bytes (about 40 lines, a few
# milliseconds of pyte), for at most TURN seconds per event-loop turn: a key typed during
# a flood waits for one turn at most, never for the backlog.
SLICE = 512
TURN = 0.008
_ids = count(1)


def transcript_dir() -> Path:
    return Path(platformdirs.user_state_dir("tvirt")) / "transcripts"


class ConsolePane(Vertical):
    """One VM's console: a status line, the display line, and the terminal."""

    BINDINGS = [
        Binding(k.key, k.action, k.description, show=k.key in ("r", "T", "s", "x"))
        for k in CONSOLE_KEYS
        if k.where == "detached console"
    ]

    class Output(Message):
        """Guest output waits in the pane's inbox (at most one of these is queued)."""

    class Ended(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, vm: VMInfo, host_label: str, escape: str, pane_id: str) -> None:
        super().__init__(id=pane_id)
        self.vm = vm
        self.host_label = host_label
        self.escape = escape
        self.state = "detached"
        self.last_reason = ""
        self._sysrq_pending = False
        self.has_graphics = False
        self.received = 0  # bytes from the guest since the last attach
        self.domain_type = ""  # kvm or qemu, from the XML, for the stall hint
        self.displays: list[str] = []  # the VM's graphical displays, described
        self._described = False  # the displays have been read
        self.session: ConsoleSession | None = None
        # Filled on libvirt's event thread, emptied a slice at a time on the event loop.
        self._inbox = bytearray()
        self._inbox_lock = threading.Lock()
        self._woken = False  # an Output message is queued or being handled
        self.terminal = TerminalView(self._send, escape_key_name(escape), id=f"{pane_id}-term")

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.id}-status", classes="console-status")
        yield Static(id=f"{self.id}-display", classes="console-display")
        yield self.terminal

    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    @property
    def status_text(self) -> str:
        return str(self.query_one(f"#{self.id}-status", Static).render())

    def on_mount(self) -> None:
        worker = self.tvirt.manager.workers.get(self.vm.host_id)
        if worker is not None:
            self.session = ConsoleSession(
                worker,
                self.vm.uuid,
                self.vm.name,
                self.host_label,
                self._arrived,
                lambda reason: self.post_message(self.Ended(reason)),
            )
        self._show_status()
        self.attach()

    def on_unmount(self) -> None:
        if self.session is not None:
            self.session.close()

    # -- status ---------------------------------------------------------------
    def _show_status(self, sentence: str = "") -> None:
        name = f"{self.vm.name} on {self.host_label}"
        esc = escape_label(self.escape)
        if self.state == "attached":
            text = (
                f"Attached to the console of {name}. {esc} detaches. "
                "Shift+PgUp/PgDn scrolls back, Ctrl+PgUp/PgDn switches tabs."
            )
        elif self.state == "attaching":
            text = f"Attaching to the console of {name}..."
        else:
            why = sentence or self.last_reason or f"Detached from the console of {name}."
            text = (
                f"{why} Keys: r reattach, T take over, s save the transcript, "
                "k Ctrl+Alt+Del, y SysRq, g graphical display, x close this tab, "
                "Escape back to the dashboard."
            )
        self.query_one(f"#{self.id}-status", Static).update(Content(text))
        self.query_one(f"#{self.id}-display", Static).update(Content(self.display_text()))
        self.terminal.attached = self.state == "attached"
        self.terminal.refresh()

    def display_text(self) -> str:
        """The graphical displays and how to see one, in words true for the state now:
        g works only while detached (attached, every key goes to the guest)."""
        if not self._described:
            return ""
        if not self.displays:
            return "No graphical display: this VM has only text."
        how = (
            f"To see it live, detach ({escape_label(self.escape)}) and press g."
            if self.state == "attached"
            else "g shows it live."
        )
        return f"{' '.join(self.displays)} {how}"

    def _send(self, data: bytes) -> bool:
        return self.session is not None and self.session.send(data)

    # -- attaching ------------------------------------------------------------
    def attach(self, force: bool = False) -> None:
        if self.state in ("attached", "attaching"):
            return
        if self.session is None:
            self._detached(f"{self.host_label} is not connected, so the console cannot open.")
            return
        self.state = "attaching"
        self._show_status()
        self.run_worker(self._open_console(force), group="console", exit_on_error=False)

    async def _open_console(self, force: bool) -> None:
        assert self.session is not None
        try:
            await asyncio.wrap_future(self.session.open(force=force))
        except ConsoleBusy as exc:
            self._detached(f"Not attached: {exc}")
            self._offer_takeover(str(exc))
            return
        except ConsoleError as exc:
            self._detached(str(exc))
            return
        except Exception as exc:  # Disconnected, or a libvirt error
            self._detached(f"Cannot open the console of {self.vm.name}: {explain(exc)}")
            return
        self.state = "attached"
        self.last_reason = ""
        self.received = 0
        self._show_status()
        self.terminal.focus()
        self.set_timer(STALL_AFTER, self.check_stalled)
        # Nothing is printed while no one listens, so ask the guest for a fresh prompt.
        self.session.send(b"\r")
        self.run_worker(self._describe_display(), group="console", exit_on_error=False)

    def _offer_takeover(self, sentence: str) -> None:
        dialog = ConfirmDialog(
            f"The console of {self.vm.name} is busy",
            [f"{self.vm.name} on {self.host_label}"],
            f"{sentence} Take over only if you know the other client can be cut off.",
            "Take over",
        )

        def answered(answer: Confirmed | None) -> None:
            if answer is None:
                self._detached(
                    f"Left the other client attached to {self.vm.name}; press T to take over."
                )
            else:
                self.attach(force=True)

        self.app.push_screen(dialog, answered)

    async def _describe_display(self) -> None:
        worker = self.tvirt.manager.workers.get(self.vm.host_id)
        if worker is None:
            return
        xml = await asyncio.wrap_future(console_ops.domain_xml(worker, self.vm.uuid))
        uri = worker.uri
        target = ""
        if uri.host:
            target = f"{uri.user + '@' if uri.user else ''}{uri.host}"
            if uri.port and uri.uses_ssh:
                target = f"-p {uri.port} {target}"
        self.domain_type = ET.fromstring(xml).get("type", "")
        displays = graphics_of(xml)
        self.has_graphics = bool(displays)
        self.displays = [g.describe(target) for g in displays]
        self._described = True
        self.query_one(f"#{self.id}-display", Static).update(Content(self.display_text()))

    def detach(self, sentence: str = "") -> None:
        if self.session is not None:
            self.session.close()
        self._detached(sentence or f"Detached from the console of {self.vm.name}.")

    def _detached(self, sentence: str) -> None:
        self.state = "detached"
        self.last_reason = sentence
        self._show_status(sentence)

    # -- from the session's threads -------------------------------------------
    def _arrived(self, data: bytes) -> None:
        """On libvirt's event thread: keep the bytes, and wake the pane unless it is
        awake already (a flood costs one message per slice, not one per read)."""
        with self._inbox_lock:
            self._inbox += data
            if self._woken:
                return
            self._woken = True
        self.post_message(self.Output())

    async def on_console_pane_output(self, _message: Output) -> None:
        """Feed slices for one turn, in arrival order; the rest waits behind whatever was
        queued meanwhile (a key's detach), and the loop gets a turn in between."""
        end = time.monotonic() + TURN
        more = True
        while more and time.monotonic() < end:
            with self._inbox_lock:
                chunk = bytes(self._inbox[:SLICE])
                del self._inbox[:SLICE]
                more = bool(self._inbox)
                self._woken = more
            if chunk:
                self.received += len(chunk)
                self.terminal.feed(chunk)
        if more:
            self.post_message(self.Output())
            await asyncio.sleep(0)

    def check_stalled(self) -> None:
        """STALL_AFTER seconds after attaching: if the guest has said nothing, say what to
        try (a kvm guest on a nested host spins with a blank console)."""
        if self.state != "attached" or self.received or self.has_graphics:
            return  # a graphical VM may well say nothing on its serial port
        self.query_one(f"#{self.id}-display", Static).update(
            Content(
                f"Nothing has come from {self.vm.name} on its serial console since attaching. "
                + stall_hint(self.domain_type)
            )
        )

    def on_console_pane_ended(self, message: Ended) -> None:
        if self.state != "attached":
            return
        # Through the inbox, so the line comes after every byte the guest sent before it.
        self._arrived(f"\r\n[tvirt] {message.reason}\r\n".encode())
        self._detached(message.reason)

    def on_terminal_view_escape_pressed(self) -> None:
        if self.state == "attached":
            self.detach()
        else:
            self.screen.leave()  # type: ignore[attr-defined]

    # -- keys of a detached console -------------------------------------------
    def action_reattach(self) -> None:
        self.attach()

    def action_take_over(self) -> None:
        self.attach(force=True)

    def action_save_transcript(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = transcript_dir() / f"{self.vm.name}-{stamp}.txt"
        try:
            self.terminal.save_transcript(path)
        except OSError as exc:
            self.tvirt.say(f"Could not save the transcript: {exc.strerror}.", ok=False)
            return
        self.tvirt.say(f"Saved the console transcript of {self.vm.name} to {path}.")

    def action_ctrl_alt_del(self) -> None:
        if self.session is not None:
            self.run_worker(self._special(self.session.send_ctrl_alt_del()), group="console")

    def action_sysrq(self) -> None:
        self._sysrq_pending = True
        self._show_status(f"SysRq: press the command letter ({SYSRQ_KEYS}), or Escape.")

    def on_key(self, event: object) -> None:
        from textual import events

        if not self._sysrq_pending or not isinstance(event, events.Key):
            return
        event.stop()
        event.prevent_default()
        self._sysrq_pending = False
        if event.key == "escape" or self.session is None:
            self._show_status()
            return
        self.run_worker(self._special(self.session.send_sysrq(event.key)), group="console")

    async def _special(self, future: object) -> None:
        from concurrent.futures import Future

        assert isinstance(future, Future)
        try:
            sentence = await asyncio.wrap_future(future)
        except Exception as exc:
            self.tvirt.say(explain(exc), ok=False)
            self._show_status()
            return
        self.tvirt.say(str(sentence))
        self._show_status()

    async def action_display(self) -> None:
        from .display import open_display

        await open_display(self.tvirt, self.vm)

    def action_scroll_back(self) -> None:
        self.terminal.scroll_page(True)

    def action_scroll_forward(self) -> None:
        self.terminal.scroll_page(False)

    def action_close_tab(self) -> None:
        self.screen.close_pane(self)  # type: ignore[attr-defined]


class ConsoleScreen(TabsScreen[ConsolePane]):
    """Every open console, one tab each."""

    pane_type = ConsolePane

    # Every key here is a priority binding: the app acts on it in its own queue, before
    # the key would wait in the terminal's and the pane's queues behind a flood's feed
    # turns. Escape steps aside (SkipAction) while a console is attached.
    BINDINGS = [
        Binding(k.key, k.action, k.description, show=k.key == "escape", priority=True)
        for k in CONSOLE_KEYS
        if k.where == "consoles"
    ]

    def __init__(self, escape: str) -> None:
        super().__init__()
        self.escape = escape
        # The configured escape key (Ctrl+] unless the config says otherwise), the same way.
        self._bindings.bind(escape_key_name(escape), "escape_key", show=False, priority=True)

    def compose(self) -> ComposeResult:
        yield Header()
        yield TabbedContent(id="console-tabs")
        yield SteadyFooter()

    def pane_for(self, vm: VMInfo) -> ConsolePane | None:
        return self.panes.get(vm.key)

    async def open(self, vm: VMInfo, host_label: str) -> ConsolePane:
        pane = self.panes.get(vm.key)
        if pane is None:
            await tabs_composed(self.tabs)
            pane_id = f"console-{next(_ids)}"
            pane = ConsolePane(vm, host_label, self.escape, pane_id)
            self.panes[vm.key] = pane
            tab = TabPane(f"{vm.name} ({host_label})", pane, id=f"tab-{pane_id}")
            await self.tabs.add_pane(tab)
        else:
            pane.attach()
        self.tabs.active = f"tab-{pane.id}"
        pane.terminal.focus()
        return pane

    def close_pane(self, pane: ConsolePane) -> None:
        pane.detach()
        self.panes.pop(pane.vm.key, None)
        self.tabs.remove_pane(f"tab-{pane.id}")
        if not self.panes:
            self.leave()

    def reader_header(self) -> str:
        """F2 in screen-reader mode: the active console's status line, read on demand
        rather than repeated on the guest's lines."""
        pane = self.active_pane()
        return pane.status_text if pane is not None else "No console is open."

    def focus_target(self, pane: ConsolePane) -> Widget:
        return pane.terminal

    def on_tabbed_content_tab_activated(self) -> None:
        self.focus_pane()

    def _typing_to(self) -> ConsolePane | None:
        """The active pane when keys belong to it: attached, or waiting for a SysRq letter."""
        pane = self.active_pane()
        if pane is not None and (pane.state == "attached" or pane._sysrq_pending):
            return pane
        return None

    def action_escape_key(self) -> None:
        """Ctrl+]: detach the active console at once; detached, back to the dashboard."""
        pane = self.active_pane()
        if pane is not None and pane._sysrq_pending:
            raise SkipAction()  # the pane's SysRq prompt takes the next key
        if pane is not None and pane.state == "attached":
            pane.detach()
        else:
            self.leave()

    def action_dashboard(self) -> None:
        if self._typing_to() is not None:
            raise SkipAction()  # Escape goes to the guest, or cancels the SysRq prompt
        self.leave()

    def leave(self) -> None:
        """Back to the dashboard; the consoles stay open."""
        if self.app.screen is self:
            self.app.pop_screen()



async def open_console(app: TvirtApp, vm: VMInfo) -> ConsolePane:
    """Show the consoles screen with this VM's tab, attaching (or reattaching) it."""
    if not app.is_screen_installed(SCREEN_NAME):
        escape = app.settings.console_escape if app.settings else config.DEFAULT_CONSOLE_ESCAPE
        app.install_screen(ConsoleScreen(escape), SCREEN_NAME)
    screen = cast(ConsoleScreen, app.get_screen(SCREEN_NAME))
    if app.screen is not screen:
        await app.push_screen(screen)
    host = app.hosts.get(vm.host_id)
    return await screen.open(vm, host.label if host else vm.host_id)
