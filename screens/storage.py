"""The storage view of one host: its pools, the volumes of the highlighted pool, and actions.

Every read and change is an operation of tvirt.ops.storage (a Future, run on the host's
worker; an upload or download on a thread of its own), awaited here with
asyncio.wrap_future, so the screen never blocks. Results and refusals are sentences in the
message log below the tables (and the app's notifications).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import DataTable, Footer, Header, Log, Static

from tvirt import storage
from tvirt.errors import sentence
from tvirt.host import HostWorker
from tvirt.keys import STORAGE_KEYS
from tvirt.ops import storage as ops
from tvirt.ops.run import refused
from tvirt.progress import CancelToken, Event
from tvirt.sizes import SizeError, format_size, parse_size

from .base import TvirtScreen
from .dialogs import ConfirmDialog, Confirmed
from .form import Field, FormDialog
from .pool_wizard import PoolWizard
from .progress import ProgressEvent, ProgressPanel
from .reader import read_out
from .table import Table
from .threads import alive
from .volume_wizard import VolumeWizard
from .words import plural

if TYPE_CHECKING:
    from .app import TvirtApp

# One transfer at a time: the panel shows one, and Ctrl+C cancels the one.
BUSY = "An upload or download is running; wait for it to end, or press Ctrl+C to cancel it."
FOOTER_LABELS = {
    "pool('start')": "Start pool",
    "pool('stop')": "Stop pool",
    "new_volume": "New volume",
    "volume('delete')": "Delete volume",
    "back": "Back",
}
BAR_WIDTH = 12


def usage_bar(pool: storage.PoolInfo, spoken: bool = False) -> str:
    """A text bar and the percentage in words, so the number never depends on colour;
    the words alone where a screen reader reads them (its blocks mean nothing aloud)."""
    if not pool.capacity:
        return "unknown"
    if spoken:
        return f"{pool.used_fraction:.0%} used"
    filled = round(pool.used_fraction * BAR_WIDTH)
    return "█" * filled + "░" * (BAR_WIDTH - filled) + f" {pool.used_fraction:.0%} used"


def storage_bindings() -> list[BindingType]:
    return [
        Binding(
            k.key,
            k.action,
            FOOTER_LABELS.get(k.action, k.description),
            show=k.action in FOOTER_LABELS,
            tooltip=k.description,
            priority=k.key == "ctrl+c",
        )
        for k in STORAGE_KEYS
        if k.action != "focus_next"
    ]


def ask_dialog(
    title: str,
    text: str,
    placeholder: str,
    check: Callable[[str], str],
    value: str = "",
    choices: tuple[tuple[str, str], ...] = (),
) -> FormDialog:
    """One answer, checked by ``check`` (an error sentence, or "") while the dialog stays."""
    return FormDialog(
        title,
        [Field("Choose:" if choices else "Answer:", value, choices, placeholder, check)],
        text=text,
    )


def first(values: list[str] | None) -> str | None:
    """The one answer of an ask_dialog, or None when it was cancelled."""
    return None if values is None else values[0]


class StorageScreen(TvirtScreen[None]):
    BINDINGS = storage_bindings()
    DEFAULT_CSS = """
    StorageScreen #pools { height: 1fr; min-height: 6; border: round $primary; }
    StorageScreen #volumes { height: 2fr; border: round $primary; }
    StorageScreen #storage-status { height: auto; padding: 0 1; }
    StorageScreen #transfer { height: auto; display: none; padding: 0 1; }
    StorageScreen #transfer.busy { display: block; }
    StorageScreen #storage-log { height: 6; border: round $primary; }
    """

    def __init__(self, worker: HostWorker, label: str) -> None:
        super().__init__()
        self.worker = worker
        self.label = label
        self.pools: list[storage.PoolInfo] = []
        self.volumes: list[storage.VolumeInfo] = []
        self._shown_pool = ""
        self._transfer: CancelToken | None = None
        self.busy_text = ""  # what a long action is doing, shown with its seconds

    def compose(self) -> ComposeResult:
        yield Header()
        yield Table(
            id="pools", empty="No storage pools.", cursor_type="row", zebra_stripes=True)
        yield Table(
            id="volumes", empty="No volumes.", cursor_type="row", zebra_stripes=True)
        yield Static(id="storage-status")
        yield ProgressPanel("Ctrl+C cancels.", id="transfer")
        yield Log(id="storage-log", max_lines=300)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"Storage on {self.label}"
        pools = self.pool_table
        pools.border_title = f"Storage pools on {self.label}"
        pools.add_columns(
            "Pool", "Type", "State", "Autostart", "Usage", "Capacity", "Allocation", "Available"
        )
        vols = self.volume_table
        vols.border_title = "Volumes"
        vols.add_columns("Volume", "Format", "Capacity", "Allocation", "Used by", "Path")
        self.query_one("#storage-log", Log).border_title = "Messages"
        pools.focus()
        self.reload()

    # -- parts --------------------------------------------------------------
    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    @property
    def pool_table(self) -> DataTable[str]:
        return self.query_one("#pools", DataTable)

    @property
    def volume_table(self) -> DataTable[str]:
        return self.query_one("#volumes", DataTable)

    def selected_pool(self) -> storage.PoolInfo | None:
        row = self.pool_table.cursor_row
        return self.pools[row] if 0 <= row < len(self.pools) else None

    def selected_volume(self) -> storage.VolumeInfo | None:
        row = self.volume_table.cursor_row
        return self.volumes[row] if 0 <= row < len(self.volumes) else None

    def say(self, sentence: str, ok: bool = True) -> None:
        self.query_one("#storage-log", Log).write_line(sentence if ok else f"Error: {sentence}")
        say = getattr(self.app, "say", None)
        if say is not None:
            say(sentence, ok=ok)

    # -- loading ------------------------------------------------------------
    @work(exclusive=True, group="storage-load")
    async def reload(self, keep_volume: str = "") -> None:
        try:
            pools = await asyncio.wrap_future(ops.list_pools(self.worker))
        except Exception as exc:
            self.say(f"Could not list the pools of {self.label}: {sentence(exc)}", ok=False)
            return
        chosen = self.selected_pool()
        table = self.pool_table
        self.pools = pools
        name = chosen.name if chosen else (pools[0].name if pools else "")
        self._shown_pool = name if any(p.name == name for p in pools) else ""
        table.clear()
        for p in pools:
            table.add_row(
                p.name,
                p.type,
                p.state,
                "on" if p.autostart else "off",
                usage_bar(p, getattr(self.app, "screen_reader", False)),
                format_size(p.capacity),
                format_size(p.allocation),
                format_size(p.available),
                key=p.name,
            )
        if chosen is not None:
            for i, p in enumerate(pools):
                if p.name == chosen.name:
                    table.move_cursor(row=i)
        await self.load_volumes(keep_volume)

    async def load_volumes(self, keep: str = "") -> None:
        """Fetch first, then swap the rows in one go: the table is never seen half-empty."""
        pool = self.selected_pool()
        table = self.volume_table
        self._shown_pool = pool.name if pool else ""
        volumes: list[storage.VolumeInfo] = []
        if pool is not None and pool.active:
            try:
                volumes = await asyncio.wrap_future(ops.list_volumes(self.worker, pool.name))
            except Exception as exc:
                self.say(sentence(exc), ok=False)
        if self._shown_pool != (pool.name if pool else ""):
            return  # the highlight moved on meanwhile; that load fills the table
        table.border_title = f"Volumes of {pool.name}" if pool else "Volumes"
        self.volumes = volumes
        table.clear()
        for v in volumes:
            table.add_row(
                v.name,
                v.format or v.type,
                format_size(v.capacity),
                format_size(v.allocation),
                ", ".join(v.used_by) or "no VM",
                v.path,
                key=v.name,
            )
        for i, v in enumerate(volumes):
            if v.name == keep:
                table.move_cursor(row=i)
        self._status()

    def _status(self) -> None:
        pool = self.selected_pool()
        if pool is None:
            text = f"{self.label} has no storage pools. Press N to define one."
        elif not pool.active:
            text = f"Pool {pool.name} is {pool.state}: press s to start it and see its volumes."
        else:
            text = (
                f"Pool {pool.name}: {pool.type}, {pool.state}, {pool.usage_text}, "
                f"{format_size(pool.available)} available, {plural(len(self.volumes), 'volume')}."
            )
        if self.busy_text:
            text = self.busy_text
        self.query_one("#storage-status", Static).update(Content(text))

    @on(DataTable.RowHighlighted, "#pools")
    async def _pool_moved(self) -> None:
        pool = self.selected_pool()
        if pool is not None and pool.name != self._shown_pool:
            await self.load_volumes()

    # -- guards -------------------------------------------------------------
    def _may_change(self, what: str) -> bool:
        """Read-only mode refuses before any question; so does a wipe under way."""
        refusal = refused(self.worker, what)
        if refusal is not None:
            self.say(str(refusal), ok=False)
            return False
        if self.busy_text:
            self.say(f"Wait: {self.busy_text}", ok=False)
            return False
        return True

    async def _run(self, result: Awaitable[str], keep: str = "") -> None:
        """Say how an operation ended, then show the pools and volumes as they are now."""
        try:
            message = await result
        except Exception as exc:
            self.say(sentence(exc), ok=False)
        else:
            self.say(message)
        self.reload(keep)

    # -- pool actions -------------------------------------------------------
    async def action_pool(self, name: str) -> None:
        pool = self.selected_pool()
        if pool is None:
            self.say("No pool is selected.", ok=False)
            return
        if not self._may_change(f"{name} pool {pool.name}"):
            return
        p, host = pool.name, self.worker
        if name == "start":
            await self._run(asyncio.wrap_future(ops.pool_start(host, p)))
        elif name == "stop":
            await self._run(asyncio.wrap_future(ops.pool_stop(host, p)))
        elif name == "refresh":
            await self._run(asyncio.wrap_future(ops.pool_refresh(host, p)))
        elif name == "autostart":
            await self._run(asyncio.wrap_future(ops.pool_autostart(host, p, not pool.autostart)))
        elif name == "delete":
            dialog = ConfirmDialog(
                f"Delete storage pool {p}?",
                [
                    f"{p} ({pool.type}, {pool.path or 'no local path'}), "
                    f"{plural(len(self.volumes), 'volume')}"
                ],
                "The pool is stopped and its definition removed. Its volumes and directory "
                "stay unless you tick the box, which removes the pool's storage itself.",
                "Yes, delete pool",
                offer_storage=True,
            )

            async def answered(answer: Confirmed | None) -> None:
                if answer is None:
                    self.say(f"Cancelled: kept pool {p}.")
                    return
                future = ops.pool_delete(host, p, delete_storage=answer.remove_storage)
                await self._run(asyncio.wrap_future(future))

            self.app.push_screen(dialog, answered)

    def action_define_pool(self) -> None:
        if not self._may_change("define a pool"):
            return

        def done(message: str | None) -> None:
            if message:
                self.say(message)
                self.reload()

        self.app.push_screen(PoolWizard(self.worker, [p.name for p in self.pools]), done)

    def action_new_volume(self) -> None:
        if not self._may_change("create a volume"):
            return
        running = [p for p in self.pools if p.active]
        if not running:
            self.say("No pool is running; start one (s) before creating a volume.", ok=False)
            return
        pool = self.selected_pool()

        def done(vol: storage.VolumeInfo | None) -> None:
            if vol is not None:
                self.say(
                    f"Created volume {vol.name} ({vol.format}, {format_size(vol.capacity)}) "
                    f"at {vol.path}."
                )
                self.reload(vol.name)

        wizard = VolumeWizard(self.worker, running, pool.name if pool else "")
        self.app.push_screen(wizard, done)

    # -- volume actions -----------------------------------------------------
    async def action_volume(self, name: str) -> None:
        vol = self.selected_volume()
        if vol is None:
            self.say("No volume is selected.", ok=False)
            return
        if name in ("upload", "download") and self._transfer is not None:
            self.say(BUSY, ok=False)
            return
        if name != "download" and not self._may_change(f"{name} volume {vol.name}"):
            return
        handler = getattr(self, f"_{name}")
        await handler(vol)

    async def _delete(self, vol: storage.VolumeInfo) -> None:
        users = ", ".join(vol.used_by)
        if vol.used_by:
            dialog = ConfirmDialog(
                f"Volume {vol.name} is a disk of {users}. Delete it anyway?",
                [f"{vol.name} ({vol.format}, {format_size(vol.capacity)}), {vol.path}"],
                f"{users} will lose this disk and may not start again. This cannot be undone.",
                "Yes, force delete",
            )
        else:
            dialog = ConfirmDialog(
                f"Delete volume {vol.name}?",
                [f"{vol.name} ({vol.format}, {format_size(vol.capacity)}), {vol.path}"],
                "Its data is removed from the pool. This cannot be undone.",
                "Yes, delete volume",
            )
        force = bool(vol.used_by)

        async def answered(answer: Confirmed | None) -> None:
            if answer is None:
                self.say(f"Cancelled: kept volume {vol.name}.")
                return
            future = ops.volume_delete(self.worker, vol.pool, vol.name, force=force)
            await self._run(asyncio.wrap_future(future))

        self.app.push_screen(dialog, answered)

    async def _wipe(self, vol: storage.VolumeInfo) -> None:
        if vol.used_by:
            self.say(
                f"Refused to wipe volume {vol.name}: it is a disk of {', '.join(vol.used_by)}.",
                ok=False,
            )
            return
        def check(text: str) -> str:
            return "" if text in storage.WIPE_ALGORITHMS else "Choose one of the listed ways."

        def answered(values: list[str] | None) -> None:
            algorithm = first(values)
            if algorithm is None:
                self.say(f"Cancelled: volume {vol.name} was not wiped.")
                return
            self._wipe_now(vol, algorithm)

        self.app.push_screen(
            ask_dialog(
                f"Wipe volume {vol.name}?",
                "Its data is overwritten and cannot be recovered. libvirt reports no "
                "progress, so tvirt shows how long it has been working. How to wipe:",
                "",
                check,
                "zero",
                tuple((a, a) for a in storage.WIPE_ALGORITHMS),
            ),
            answered,
        )

    @work(group="storage-long")
    async def _wipe_now(self, vol: storage.VolumeInfo, algorithm: str) -> None:
        wiping = asyncio.wrap_future(ops.volume_wipe(self.worker, vol.pool, vol.name, algorithm))
        started = time.monotonic()
        self.busy_text = f"Wiping {vol.name} ({algorithm}): still working, 0 s."
        self._status()
        while not wiping.done():
            await asyncio.sleep(0.5)
            self.busy_text = (
                f"Wiping {vol.name} ({algorithm}): still working, "
                f"{int(time.monotonic() - started)} s (libvirt reports no progress)."
            )
            self._status()
        self.busy_text = ""
        await self._run(wiping, vol.name)

    async def _resize(self, vol: storage.VolumeInfo) -> None:
        def check(text: str) -> str:
            try:
                parse_size(text)
            except SizeError as exc:
                return str(exc)
            return ""

        async def answered(values: list[str] | None) -> None:
            text = first(values)
            if text is None:
                self.say(f"Cancelled: volume {vol.name} was not resized.")
                return
            size = parse_size(text)
            if size >= vol.capacity:
                future = ops.volume_resize(self.worker, vol.pool, vol.name, size)
                await self._run(asyncio.wrap_future(future), vol.name)
                return
            dialog = ConfirmDialog(
                f"Shrink volume {vol.name} from {format_size(vol.capacity)} to "
                f"{format_size(size)}?",
                [f"{vol.name}, {vol.path}"],
                "Shrinking throws away the data beyond the new size; a filesystem or "
                "partition that reaches there is damaged.",
                "Yes, shrink",
            )

            async def shrink(answer: Confirmed | None) -> None:
                if answer is None:
                    self.say(f"Cancelled: volume {vol.name} keeps its size.")
                    return
                future = ops.volume_resize(self.worker, vol.pool, vol.name, size, shrink=True)
                await self._run(asyncio.wrap_future(future), vol.name)

            self.app.push_screen(dialog, shrink)

        self.app.push_screen(
            ask_dialog(
                f"Resize volume {vol.name}",
                f"It is {format_size(vol.capacity)} now. New capacity (10G, 512MiB, 1.5 TiB):",
                "20G",
                check,
            ),
            answered,
        )

    async def _clone(self, vol: storage.VolumeInfo) -> None:
        existing = {v.name for v in self.volumes}

        def check(text: str) -> str:
            try:
                storage.check_name(text.strip(), existing)
            except storage.StorageError as exc:
                return str(exc)
            return ""

        async def answered(values: list[str] | None) -> None:
            name = first(values)
            if name is None:
                self.say(f"Cancelled: volume {vol.name} was not cloned.")
                return

            async def clone() -> str:
                future = ops.volume_clone(self.worker, vol.pool, vol.name, name)
                new = await asyncio.wrap_future(future)
                return f"Cloned volume {vol.name} into {new.name}."

            await self._run(clone(), name)

        self.app.push_screen(
            ask_dialog(
                f"Clone volume {vol.name}", "Name of the copy:", "", check, f"{vol.name}-clone"
            ),
            answered,
        )

    async def _upload(self, vol: storage.VolumeInfo) -> None:
        def check(text: str) -> str:
            path = Path(text.strip()).expanduser()
            return "" if path.is_file() else f"{path} is not a file."

        def answered(values: list[str] | None) -> None:
            text = first(values)
            if text is not None:
                self._start_transfer(vol, Path(text).expanduser(), upload=True)

        self.app.push_screen(
            ask_dialog(
                f"Upload into volume {vol.name}",
                "Local file to write into the volume (its old contents are replaced). "
                "Ctrl+C cancels; a cancelled upload wipes the volume with zeros.",
                "/path/to/image",
                check,
            ),
            answered,
        )

    async def _download(self, vol: storage.VolumeInfo) -> None:
        def check(text: str) -> str:
            # As `tvirt vol download` refuses them: a file name, in a directory that exists.
            path = Path(text.strip()).expanduser()
            if not path.parent.is_dir():
                return f"{path.parent} is not a directory."
            if path.is_dir():
                return f"{path} is a directory; give a file name."
            return ""

        def answered(values: list[str] | None) -> None:
            text = first(values)
            if text is None:
                return
            path = Path(text).expanduser()
            if path.exists():
                self._overwrite(vol, path)
            else:
                self._start_transfer(vol, path, upload=False)

        self.app.push_screen(
            ask_dialog(
                f"Download volume {vol.name}",
                "Local file to write (replaced only once the whole volume has arrived). "
                "Ctrl+C cancels.",
                f"./{vol.name}",
                check,
            ),
            answered,
        )

    def _overwrite(self, vol: storage.VolumeInfo, path: Path) -> None:
        """A download never replaces a file without asking (the command's --force)."""

        def answered(answer: Confirmed | None) -> None:
            if answer is None:
                self.say(f"Nothing was downloaded; {path} was left as it was.")
            else:
                self._start_transfer(vol, path, upload=False)

        self.app.push_screen(
            ConfirmDialog(
                f"{path} exists. Overwrite it?",
                [f"{path}, {format_size(path.stat().st_size)}"],
                f"It is replaced by volume {vol.name} once the whole volume has arrived; a "
                "cancelled or failed download leaves it as it is.",
                "Yes, overwrite",
            ),
            answered,
        )

    def _start_transfer(self, vol: storage.VolumeInfo, path: Path, upload: bool) -> None:
        if self._transfer is not None:
            self.say(BUSY, ok=False)
            return
        # Taken at once, on the event loop: a second start is refused from here on.
        self._transfer = CancelToken()
        self._show_transfer(True)
        self._transfer_now(vol, path, upload, self._transfer)

    @work(group="storage-transfer")
    async def _transfer_now(
        self, vol: storage.VolumeInfo, path: Path, upload: bool, token: CancelToken
    ) -> None:
        """The operation runs the transfer on its own thread, one chunk per worker job."""

        panel = self.query_one("#transfer", ProgressPanel)

        def progress(event: Event) -> None:
            if not panel.drops(event):
                self.post_message(ProgressEvent(event))

        host = self.worker
        if upload:
            future = ops.upload(host, vol.pool, vol.name, path, progress=progress, transfer=token)
        else:
            future = ops.download(host, vol.pool, vol.name, path, progress=progress,
                                  transfer=token)
        try:
            size = format_size((await asyncio.wrap_future(future)).done)
        except asyncio.CancelledError:
            token.cancel()  # the app is quitting: the transfer stops and undoes too
            raise
        except Exception as exc:
            message, ok = sentence(exc), False
        else:
            ok = True
            message = (f"Uploaded {size} from {path} into {vol.name}." if upload
                       else f"Downloaded {size} of {vol.name} into {path}.")
        self._transfer = None
        if alive(self):
            self._show_transfer(False)
            self.say(message, ok)
            if self.is_current:
                # Screen-reader mode: the end of long work is heard, not only logged.
                read_out(self, message if ok else f"Error: {message}")

    def _show_transfer(self, on_: bool) -> None:
        self.query_one("#transfer").set_class(on_, "busy")

    def on_progress_event(self, message: ProgressEvent) -> None:
        self.query_one("#transfer", ProgressPanel).show(message.event)

    def action_cancel_transfer(self) -> None:
        if self._transfer is None:
            self.say("No upload or download is running.", ok=False)
            return
        self._transfer.cancel()
        self.say("Cancelling the transfer...")

    def action_back(self) -> None:
        if self._transfer is not None:
            self.say("A transfer is running; press Ctrl+C to cancel it first.", ok=False)
            return
        self.dismiss(None)
