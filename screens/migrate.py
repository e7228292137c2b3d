"""Migrating the selected VM (m on the dashboard): a form, a confirmation, then a
progress screen whose Escape cancels; the result goes to the event log.

The migration holds the source host's worker, so its progress and its cancel go through
a second worker on the source (`tvirt.ops.migrate.watcher`), started off the event loop.
The app owns the run (an app worker), so closing the progress screen never leaves a
migration unwatched; `screens/moves.py` keeps the VM's row in place as it changes host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from tvirt import progress
from tvirt.errors import TvirtError
from tvirt.errors import sentence as words
from tvirt.host import HostWorker
from tvirt.keys import MIGRATION_KEYS
from tvirt.model import HostInfo, HostState, VMInfo, VMState
from tvirt.ops import migrate as ops
from tvirt.readonly import refusal

from .base import TvirtModal
from .dialogs import ConfirmDialog, Confirmed, quit_bindings
from .form import Field, FormDialog
from .progress import ProgressPanel

if TYPE_CHECKING:
    from .app import TvirtApp

# Seconds between two progress reads.
EVERY = 1.0
# Seconds between two cancels asked before libvirt had begun the job.
RETRY = 0.2
LIVE = "live"
PAUSED = "offline"
SHARED = "shared"
COPY = "copy"


def destinations(vm: VMInfo, hosts: Iterable[HostInfo]) -> list[tuple[str, str]]:
    """The connected hosts other than the VM's own, as (host id, label), by label."""
    found = [(h.host_id, h.label) for h in hosts
             if h.state is HostState.CONNECTED and h.host_id != vm.host_id]
    return sorted(found, key=lambda pair: pair[1].lower())


def refused(vm: VMInfo | None, readonly: bool, choices: list[tuple[str, str]],
            busy: bool = False) -> str:
    """Why the VM cannot be migrated from here, as one sentence; "" when it can."""
    if vm is None:
        return "No VM is selected to migrate."
    if readonly:
        return refusal(f"migrate {vm.name}")
    if busy:
        return f"{vm.name} is already being migrated."
    if not choices:
        return (f"There is no other connected host to migrate {vm.name} to; "
                "add one with a first.")
    return ""


def fields(vm: VMInfo, choices: list[tuple[str, str]]) -> list[Field]:
    """Where to, how, and the disks; a shut-off VM moves its definition only."""
    running = vm.state is not VMState.SHUTOFF
    how = ((LIVE, "live: it keeps running while its memory is copied"),
           (PAUSED, "offline: it pauses while it moves")) if running else (
           (PAUSED, "offline: its definition only (it is shut off)"),)
    disks = ((SHARED, "shared: they are on storage both hosts see"),
             (COPY, "copy them (the destination needs the same storage pools)")) if running \
        else ((SHARED, "not copied: a shut-off VM moves its definition only"),)
    return [
        Field("Destination host", choices[0][0], tuple(choices)),
        Field("How", how[0][0], how),
        Field("Disks", SHARED, disks),
    ]


class MigrateDialog(FormDialog):
    """The migration's choices; answered with Enter on each, cancelled with Escape."""

    def __init__(self, vm: VMInfo, choices: list[tuple[str, str]], source: str) -> None:
        super().__init__(
            f"Migrate {vm.name}",
            fields(vm, choices),
            text=f"From {source} to another connected host.",
            hint="Arrows choose, Enter: next, then go ahead.  Escape: cancel.",
        )
        self.vm = vm
        self.destinations = choices


def ask_migration(app: TvirtApp, vm: VMInfo | None) -> None:
    """m on the dashboard: refuse with a sentence, or the form, then the confirmation."""
    choices = destinations(vm, app.hosts.values()) if vm is not None else []
    why = refused(vm, app.readonly, choices, vm is not None and vm.uuid in app.moves)
    if why or vm is None:
        app.say(why, ok=False)
        return
    source = app.hosts[vm.host_id].label if vm.host_id in app.hosts else vm.host_id
    labels = dict(choices)

    def chosen(values: list[str] | None) -> None:
        if values is None:
            app.say(f"Cancelled: did not migrate {vm.name}.")
            return
        dest, how, disks = values
        live, copy = how == LIVE, disks == COPY
        manner = ("live" if live else "offline") + (", copying its disks" if copy else "")
        dialog = ConfirmDialog(
            f"Migrate {vm.name} to {labels[dest]}?",
            [f"{vm.name}: from {source} to {labels[dest]} ({manner})"],
            "It leaves this host: its definition moves to the destination."
            + (" Its disks are copied there." if copy else ""),
            "Yes, migrate",
        )

        def confirmed(answer: Confirmed | None) -> None:
            if answer is None:
                app.say(f"Cancelled: did not migrate {vm.name}.")
                return
            start(app, vm, dest, labels[dest], source, live=live, copy=copy)

        app.push_screen(dialog, confirmed)

    app.push_screen(MigrateDialog(vm, choices, source), chosen)


def start(app: TvirtApp, vm: VMInfo, dest: str, label: str, source: str, *,
          live: bool, copy: bool) -> None:
    worker = app.manager.workers.get(vm.host_id)
    if worker is None or app.hosts.get(dest) is None:
        app.say(f"Could not migrate {vm.name}: a host is no longer connected.", ok=False)
        return
    migration = Migration(app, worker, vm, dest, label, source, live=live, copy=copy)
    app.push_screen(MigrationScreen(migration))
    app.run_worker(migration.run(), group="migrate", exit_on_error=False)


class Migration:
    """One migration the app started: its job, its second worker, its progress."""

    def __init__(self, app: TvirtApp, worker: HostWorker, vm: VMInfo, dest: str, label: str,
                 source: str, *, live: bool, copy: bool) -> None:
        self.app, self.worker, self.vm = app, worker, vm
        self.dest, self.label, self.source = dest, label, source
        self.live, self.copy = live, copy
        self.watcher: HostWorker | None = None
        self.job: Future[str] | None = None
        self.screen: MigrationScreen | None = None
        self.cancelled = False

    def _show(self, event: progress.Event) -> None:
        # The screen forgets itself here as it closes (Escape), so no removed widget is
        # asked for; the run goes on and tells the outcome in the event log.
        if self.screen is not None and self.screen.is_mounted:
            self.screen.query_one(ProgressPanel).show(event)

    async def run(self) -> None:
        app, vm = self.app, self.vm
        app.moves.begin(vm, self.dest)
        ok, sentence = False, ""
        try:
            dest = app.manager.workers.get(self.dest)
            if self.copy and dest is not None:
                problem = await asyncio.to_thread(
                    ops.storage_problem, self.worker, vm, dest, self.label)
                if problem:
                    raise TvirtError(problem)
            self.watcher = await asyncio.to_thread(ops.watcher, self.worker)
            if self.cancelled:  # before it began: nothing to abort
                raise TvirtError("cancelled")
            self.job = job = ops.migrate(self.worker, vm, self.dest, live=self.live,
                              copy_storage=self.copy, dest_label=self.label)
            waited = asyncio.wrap_future(job)
            while not job.done():
                await asyncio.wait([waited], timeout=EVERY)
                if not job.done():
                    await self._read_progress()
            sentence, ok = await waited, True
        except Exception as exc:  # every failure ends in a sentence, never a lost run
            sentence = (f"Cancelled: {vm.name} was not migrated and stays on {self.source}."
                        if self.cancelled else f"Could not migrate {vm.name}: {words(exc)}")
        finally:
            dropped = app.moves.end(vm.uuid, ok)
            if dropped is not None:
                app.move_dropped(dropped)
            if self.watcher is not None:
                await asyncio.to_thread(self.watcher.stop)
        if self.screen is not None:
            self.screen.dismiss()
            self.screen = None
        app.say(sentence, ok=ok or self.cancelled)

    async def _read_progress(self) -> None:
        if self.watcher is None:
            return
        try:
            now = await asyncio.wrap_future(ops.progress(self.watcher, self.vm.uuid))
        except TvirtError:
            return  # best effort: the migration goes on
        if now is not None:
            self._show(now)

    async def cancel(self) -> None:
        """Abort through the second worker; the run then says the VM stayed. Asked
        before libvirt has a job to abort (it is starting), the abort is asked again."""
        if self.cancelled:
            return
        self.cancelled = True
        while self.watcher is not None and self.job is not None and not self.job.done():
            try:
                if await asyncio.wrap_future(ops.abort(self.watcher, self.vm)):
                    return
            except TvirtError as exc:
                self.cancelled = False
                self.app.say(f"Could not cancel the migration of {self.vm.name}: {exc}",
                             ok=False)
                return
            await asyncio.sleep(RETRY)


def migration_bindings() -> list[BindingType]:
    return [
        *(Binding(k.key, k.action, k.description, show=False) for k in MIGRATION_KEYS),
        *quit_bindings(),
    ]


class MigrationScreen(TvirtModal[None]):
    """The running migration: a bar and its words (data, rate, remaining). Escape or c
    cancels it and closes; the outcome is told in the event log either way."""

    BINDINGS = migration_bindings()

    def __init__(self, migration: Migration) -> None:
        super().__init__(classes="dialog")
        self.migration = migration
        migration.screen = self

    def compose(self) -> ComposeResult:
        m = self.migration
        manner = ("live" if m.live else "offline") + (", copying its disks" if m.copy else "")
        with Vertical(classes="dialog-box"):
            yield Static(Content(f"Migrating {m.vm.name} from {m.source} to {m.label} "
                                 f"({manner})"), classes="dialog-title")
            yield ProgressPanel(id="migration")
            yield Static(Content("Escape or c: cancel the migration (the VM stays where it "
                                 "is).  The result goes to the event log."),
                         classes="dialog-keys")

    def on_mount(self) -> None:
        self.query_one(ProgressPanel).show(progress.Started(self.migration.vm.name, "migrated"))

    def reader_target(self) -> Widget | None:
        """Screen-reader mode: nothing here takes the focus; the cursor sits on the
        progress line, the one line that changes (at most every few seconds)."""
        found = self.query(ProgressPanel)
        return found.first() if found else None

    def on_unmount(self) -> None:
        self.migration.screen = None

    async def action_cancel(self) -> None:
        self.migration.screen = None
        self.app.run_worker(self.migration.cancel(), group="migrate", exit_on_error=False)
        self.migration.app.note(f"Cancelling the migration of {self.migration.vm.name}.")
        self.dismiss()
