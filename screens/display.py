"""The live graphical display of VMs, one tab each, over the libvirt connection alone:
screenshots drawn with textual-image (Kitty graphics or Sixel where the terminal has
them, half blocks otherwise) and keys sent with sendKey.

Keys go to tvirt (Escape leaves) until i hands them to the guest; from then on every key
goes to the guest, Escape included, except the console escape key (Ctrl+] unless the
config says otherwise), which gives them back. k offers the keys a terminal cannot send.
The picture is polled at the pace of tvirt.display.Pacer, one screenshot per worker job,
and only while its tab is the one shown.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from concurrent.futures import Future
from itertools import count
from typing import TYPE_CHECKING, Any, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Vertical
from textual.content import Content
from textual.geometry import Offset
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, OptionList, Static, TabbedContent, TabPane

from tvirt import config
from tvirt.console import escape_key_name, escape_label
from tvirt.display import Box, Pacer, fit
from tvirt.errors import sentence
from tvirt.keymap import SPECIAL_KEYS, SYSRQ_LETTERS, Chord, key_chord, sysrq_chord, text_chords
from tvirt.keys import DISPLAY_KEYS
from tvirt.model import VMInfo
from tvirt.ops import display as display_ops
from tvirt.screenshot import Frame, decode, scale

from .base import TvirtModal, tabs_composed
from .dialogs import dialog_bindings
from .tabbed import TabsScreen

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

    from .app import TvirtApp

SCREEN_NAME = "displays"
READONLY_DISPLAY = (
    "The display of {name} cannot open read-only: libvirt takes screenshots and sends "
    "keys only on read-write connections; restart tvirt without --readonly to use it."
)
# After a failed screenshot (the VM stopped, the host went away), try again this often.
RETRY = 2.0
_ids = count(1)


def renderers() -> dict[str, type[Widget]]:
    """The image widgets by name. `auto` is textual-image's choice from the terminal's
    answers at import (see `detect`), half blocks when there is no terminal."""
    from textual_image.renderable import Image as best
    from textual_image.renderable import UnicodeImage as unicode_renderable
    from textual_image.widget import HalfcellImage, Image, SixelImage, TGPImage, UnicodeImage

    auto: type[Widget] = HalfcellImage if best is unicode_renderable else Image
    return {
        "auto": auto,
        "kitty": TGPImage,
        "sixel": SixelImage,
        "halfblocks": HalfcellImage,
        "unicode": UnicodeImage,
    }


def pixels_per_cell(image: Widget, cell: tuple[int, int]) -> tuple[int, int]:
    """The picture pixels one cell of this image widget shows: half blocks two (one above
    the other), unicode one, Kitty and Sixel the terminal cell's own pixels."""
    from textual_image.widget import HalfcellImage, UnicodeImage

    if isinstance(image, HalfcellImage):
        return 1, 2
    if isinstance(image, UnicodeImage):
        return 1, 1
    return cell


def detect() -> None:
    """Ask the terminal what it can draw. Only possible before Textual takes the terminal,
    so the app and `tvirt display` call this before they run."""
    import textual_image.widget  # noqa: F401 - its import asks the terminal


class DisplayPane(Vertical):
    """One VM's display: a status line, the key line, and the picture."""

    DEFAULT_CSS = """
    DisplayPane { height: 1fr; }
    DisplayPane .display-status { height: 1; }
    DisplayPane .display-keys { height: auto; }
    DisplayPane .display-area { height: 1fr; align: center middle; }
    DisplayPane .display-area:focus { background: $boost; }
    """

    BINDINGS = [
        Binding(k.key, k.action, k.description, show=k.key in ("i", "k", "t", "c"))
        for k in DISPLAY_KEYS
        if k.where == "graphical display"
    ]

    class KeysFailed(Message):
        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(
        self,
        vm: VMInfo,
        host_label: str,
        escape: str,
        pane_id: str,
        renderer: str,
        *,
        poll: bool = True,
    ) -> None:
        super().__init__(id=pane_id)
        # poll=False: only frames handed to take() are shown. The snapshot tests show
        # recorded frames of the real guest, which no libvirt driver they run on can send.
        self.poll = poll
        self.vm = vm
        self.host_label = host_label
        self.escape = escape
        self.escape_key = escape_key_name(escape)
        self.renderer = renderer
        self.capturing = False
        self.problem = ""  # why there is no picture now, in one sentence
        self.pacer = Pacer(time.monotonic())
        self.picture: Picture | None = None  # the latest drawn, as the guest sent it
        self.painted = 0  # pictures the screen has drawn (intermediate ones may be dropped)
        self._painting = False  # a picture is handed over and not yet on the screen
        self._newest: tuple[Picture, Picture] | None = None  # waits for that to end
        self.keys_sent = 0
        self._sysrq_pending = False
        self._wake = asyncio.Event()
        self.area = DisplayArea(self, id=f"{pane_id}-area", classes="display-area")
        self.image: Widget | None = None

    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    @property
    def screen_reader(self) -> bool:
        return bool(getattr(self.app, "screen_reader", False))

    def compose(self) -> ComposeResult:
        yield Static(id=f"{self.id}-status", classes="display-status")
        yield Static(id=f"{self.id}-keys", classes="display-keys")
        with self.area:
            if self.screen_reader:
                yield Static(Content(self.spoken()), id=f"{self.id}-words")
            else:
                self.image = renderers()[self.renderer]()
                yield Center(self.image)

    def spoken(self) -> str:
        # The first line is what the cursor sits on: what this is and the way to text.
        return (
            f"Graphical display of {self.vm.name} on {self.host_label}: a picture, not "
            "shown. Press c for the serial console.\n"
            "A screen reader cannot read a picture, so it is not drawn here and nothing "
            "changes on this page. The serial console is text; t types a text into the "
            "guest, k sends keys a terminal cannot (Ctrl+Alt+Del, SysRq); F2 reads the "
            "status line."
        )

    def reader_header(self) -> str:
        """F2 in screen-reader mode: the status line, which is not repeated."""
        parts = ("status", "keys")
        return " ".join(str(self.query_one(f"#{self.id}-{p}", Static).content) for p in parts)

    def on_mount(self) -> None:
        self.show_status()
        if self.poll and not self.screen_reader:  # nothing animates in screen-reader mode
            self.run_worker(self._poll(), group="display", exit_on_error=False)

    # -- the picture ------------------------------------------------------------
    def shown(self) -> bool:
        """Whether this tab is the one on screen now (else nothing is polled)."""
        screen = self.screen
        if self.app.screen is not screen or not isinstance(screen, DisplayScreen):
            return False
        return screen.tabs.active == f"tab-{self.id}"

    def wake(self) -> None:
        self._wake.set()

    async def _poll(self) -> None:
        while True:
            if not self.shown():
                self._wake.clear()
                await self._wake.wait()
                continue
            started = time.monotonic()
            delay = await self._one_frame(started)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _one_frame(self, started: float) -> float:
        """Take one screenshot and show it; the seconds until the next."""
        worker = self.tvirt.manager.workers.get(self.vm.host_id)
        if worker is None:
            return self._failed(f"{self.host_label} is not connected.")
        try:
            frame = await asyncio.wrap_future(display_ops.frame(worker, self.vm.uuid))
        except Exception as exc:  # the operation's sentence (the VM stopped, ...)
            return self._failed(sentence(exc))
        now = time.monotonic()
        await self.take(frame, now)
        return self.pacer.wait(started, time.monotonic())

    async def take(self, frame: Frame, now: float) -> None:
        """A frame arrived at `now`: decode and draw it if it is new, and say the figures."""
        self.problem = ""
        if self.pacer.frame(frame.digest, frame.size, now):
            try:
                # Off the event loop and off the host's worker: decoding, and scaling
                # to the pixels the tab shows, which leaves the renderer little to do.
                picture, scaled = await asyncio.to_thread(self._prepare, frame, self._box())
            except Exception as exc:
                self._failed(sentence(exc))
                return
            self.draw(picture, scaled)
        self.show_status(now)

    def _failed(self, why: str) -> float:
        self.problem = f"No picture: {why}"
        self.show_status()
        return RETRY

    def _box(self) -> Box:
        """On the event loop: the cells the picture may take, a cell's pixels, and the
        pixels one cell shows with this renderer."""
        from textual_image._terminal import get_cell_size

        cell = get_cell_size()
        size = (cell.width, cell.height)
        per_cell = (1, 1) if self.image is None else pixels_per_cell(self.image, size)
        return Box(self.area.size.width, self.area.size.height, size, per_cell)

    @staticmethod
    def _prepare(frame: Frame, box: Box) -> tuple[Picture, Picture]:
        """In a thread: the picture as sent, and scaled to the box's pixels."""
        picture = decode(frame)
        return picture, scale(picture, box.pixels(*picture.size))

    def draw(self, picture: Picture, scaled: Picture | None = None) -> None:
        """Show a picture (scaled: the same at the pixels the tab shows). While the screen
        has not yet drawn the one before, only the newest waits; those between are
        dropped, so a fast-changing guest never queues drawing on the event loop."""
        if self._painting:
            self._newest = (picture, scaled or picture)
            return
        self.picture = picture
        self.pacer.sized(*picture.size)
        if self.image is None:
            return
        self._size_image()
        self._painting = True
        self.image.image = scaled or picture  # type: ignore[attr-defined]
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self._painting = False
        self.painted += 1
        if self._newest is not None:
            picture, scaled = self._newest
            self._newest = None
            self.draw(picture, scaled)

    async def _rescale(self) -> None:
        """The tab changed size: the picture shown, scaled again for it."""
        picture = self.picture
        if picture is None or self.image is None:
            return
        scaled = await asyncio.to_thread(scale, picture, self._box().pixels(*picture.size))
        if picture is self.picture:
            self.draw(picture, scaled)

    def _size_image(self) -> None:
        if self.image is None or self.picture is None:
            return
        from textual_image._terminal import get_cell_size

        columns, rows = fit(
            *self.picture.size, self.area.size.width, self.area.size.height, get_cell_size()
        )
        if columns and rows:
            self.image.styles.width = columns
            self.image.styles.height = rows

    def on_resize(self) -> None:
        self._size_image()
        if self.picture is not None:
            self.run_worker(self._rescale(), group="display-scale", exclusive=True,
                            exit_on_error=False)

    # -- words ------------------------------------------------------------------
    def show_status(self, now: float | None = None) -> None:
        where = f"{self.vm.name} on {self.host_label}"
        figures = self.pacer.rates(time.monotonic() if now is None else now).words()
        status = self.problem or figures
        if self.screen_reader:
            status = self.problem or "Not polled in screen-reader mode."
        self.query_one(f"#{self.id}-status", Static).update(
            Content(f"Display of {where}: {status}")
        )
        esc = escape_label(self.escape)
        if self._sysrq_pending:
            keys = f"SysRq: press the command letter ({SYSRQ_LETTERS}), or Escape."
        elif self.capturing:
            keys = f"Keys go to {self.vm.name}, Escape included. {esc} gives them back."
        else:
            keys = (
                "Keys: i send keys to the guest, k special keys, t type a text, "
                "c serial console, x close this tab, Escape back."
            )
        self.query_one(f"#{self.id}-keys", Static).update(Content(keys))

    # -- keys -------------------------------------------------------------------
    def send(self, chords: list[Chord]) -> None:
        """Press the chords on the guest's keyboard, in order (one worker job per batch;
        jobs of one host run in the order queued)."""
        worker = self.tvirt.manager.workers.get(self.vm.host_id)
        if worker is None:
            self.post_message(self.KeysFailed(f"{self.host_label} is not connected."))
            return
        for batch in display_ops.batches(chords):
            future = display_ops.send_chords(worker, self.vm.uuid, self.vm.name, batch)
            future.add_done_callback(self._sent)
        self.pacer.key(time.monotonic())
        self.wake()

    def _sent(self, future: Future[int]) -> None:
        """On the host's worker thread: count, or hand the failure to the pane."""
        try:
            self.keys_sent += future.result()
        except Exception as exc:
            self.post_message(self.KeysFailed(sentence(exc)))

    def on_display_pane_keys_failed(self, message: KeysFailed) -> None:
        self.tvirt.say(f"Keys not sent to {self.vm.name}: {message.reason}", ok=False)

    def guest_key(self, event: events.Key) -> bool:
        """A key while capturing: True if the pane took it (sent or released)."""
        if self._sysrq_pending:
            self._sysrq_pending = False
            chord = sysrq_chord(event.key)
            if chord is not None:
                self.send([chord])
            self.show_status()
            return True
        if not self.capturing:
            return False
        if event.key == self.escape_key:
            self.action_release()
            return True
        chord = key_chord(event.key, event.character)
        if chord is not None:
            self.send([chord])
        return True

    def type_text(self, text: str) -> None:
        chords, skipped = text_chords(text)
        if chords:
            self.send(chords)
        if skipped:
            self.tvirt.say(
                f"Left out {skipped!r}: no key on a US keyboard types it.", ok=False
            )

    def action_capture(self) -> None:
        self.capturing = True
        self.area.focus()
        self.show_status()

    def action_release(self) -> None:
        self.capturing = False
        self.show_status()

    def action_special_keys(self) -> None:
        def chosen(index: int | None) -> None:
            if index is None:
                return
            if index == len(SPECIAL_KEYS):
                self._sysrq_pending = True
                self.area.focus()
                self.show_status()
                return
            label, chord = SPECIAL_KEYS[index]
            self.send([chord])
            self.tvirt.say(f"Sent {label} to {self.vm.name}.")

        self.app.push_screen(SpecialKeysDialog(self.vm.name), chosen)

    def action_type_text(self) -> None:
        def typed(text: str | None) -> None:
            if text:
                self.type_text(text)

        self.app.push_screen(TypeTextDialog(self.vm.name), typed)

    async def action_serial_console(self) -> None:
        from .console import open_console

        await open_console(self.tvirt, self.vm)

    def action_close_tab(self) -> None:
        screen = self.screen
        if isinstance(screen, DisplayScreen):
            screen.close_pane(self)


class DisplayArea(Widget):
    """Where the picture is, and what has the focus: while the pane captures, every key
    it receives goes to the guest (bindings never see it)."""

    def __init__(self, pane: DisplayPane, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pane = pane
        self.can_focus = True

    def reader_offset(self) -> Offset | None:
        """Screen-reader mode: the first line of the words that stand for the picture."""
        words = self.query(Static)
        return words.first().content_region.offset if words else self.content_region.offset

    def reader_header(self) -> str:
        return self.pane.reader_header()

    async def on_key(self, event: events.Key) -> None:
        if self.pane.guest_key(event):
            event.stop()
            event.prevent_default()

    def on_paste(self, event: events.Paste) -> None:
        if self.pane.capturing and event.text:
            event.stop()
            self.pane.type_text(event.text)


class SpecialKeysDialog(TvirtModal[int | None]):
    """The keys a terminal cannot send, as a list: Enter sends the highlighted one."""

    BINDINGS = [*dialog_bindings()]

    def __init__(self, name: str) -> None:
        super().__init__(classes="dialog")
        self.vm_name = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(
                Content(f"Send a key to {self.vm_name}: Enter sends, Escape closes."),
                classes="dialog-title",
            )
            yield OptionList(
                *(label for label, _chord in SPECIAL_KEYS),
                "SysRq + a letter (typed next)",
                id="special-keys",
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)


class TypeTextDialog(TvirtModal[str | None]):
    """A line of text to type into the guest, key by key (Enter at the end is not sent:
    add it with the special keys or by typing)."""

    BINDINGS = [*dialog_bindings()]

    def __init__(self, name: str) -> None:
        super().__init__(classes="dialog")
        self.vm_name = name

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(
                Content(
                    f"Type into {self.vm_name}: Enter types the text and presses Enter; "
                    "Escape closes."
                ),
                classes="dialog-title",
            )
            yield Input(id="type-text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value + "\n")


class DisplayScreen(TabsScreen[DisplayPane]):
    """Every open graphical display, one tab each."""

    pane_type = DisplayPane

    BINDINGS = [
        Binding(k.key, k.action, k.description, show=k.key == "escape", priority=k.key != "escape")
        for k in DISPLAY_KEYS
        if k.where == "graphical displays"
    ]

    def __init__(
        self, escape: str, renderer: str = "auto", *, leave_quits: bool = False,
        poll: bool = True,
    ) -> None:
        super().__init__()
        self.escape = escape
        self.renderer = renderer
        self.poll = poll
        self.leave_quits = leave_quits  # `tvirt display`: Escape ends the command

    def compose(self) -> ComposeResult:
        yield Header()
        yield TabbedContent(id="display-tabs")
        yield Footer()

    async def open(self, vm: VMInfo, host_label: str) -> DisplayPane:
        pane = self.panes.get(vm.key)
        if pane is None:
            await tabs_composed(self.tabs)
            pane_id = f"display-{next(_ids)}"
            pane = DisplayPane(
                vm, host_label, self.escape, pane_id, self.renderer, poll=self.poll
            )
            self.panes[vm.key] = pane
            await self.tabs.add_pane(TabPane(f"{vm.name} ({host_label})", pane,
                                             id=f"tab-{pane_id}"))
        self.tabs.active = f"tab-{pane.id}"
        pane.area.focus()
        pane.wake()
        return pane

    def close_pane(self, pane: DisplayPane) -> None:
        self.panes.pop(pane.vm.key, None)
        self.tabs.remove_pane(f"tab-{pane.id}")
        if not self.panes:
            self.action_back()


    def focus_target(self, pane: DisplayPane) -> Widget:
        return pane.area

    def on_tabbed_content_tab_activated(self) -> None:
        self.focus_pane()
        pane = self.active_pane()
        if pane is not None:
            pane.wake()

    def on_screen_resume(self) -> None:
        for pane in self.panes.values():
            pane.wake()

    def action_back(self) -> None:
        if self.app.screen is not self:
            return
        if self.leave_quits:
            self.app.exit()
        else:
            self.app.pop_screen()



async def open_display(app: TvirtApp, vm: VMInfo, *, leave_quits: bool = False) -> DisplayPane:
    """Show the displays screen with this VM's tab."""
    if not app.is_screen_installed(SCREEN_NAME):
        escape = app.settings.console_escape if app.settings else config.DEFAULT_CONSOLE_ESCAPE
        screen = DisplayScreen(
            escape, app.display_renderer, leave_quits=leave_quits, poll=app.display_poll
        )
        app.install_screen(screen, SCREEN_NAME)
    screen = cast(DisplayScreen, app.get_screen(SCREEN_NAME))
    if app.screen is not screen:
        await app.push_screen(screen)
    host = app.hosts.get(vm.host_id)
    return await screen.open(vm, host.label if host else vm.host_id)

