"""The main screen: hosts on the left, every VM on the right, messages below."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Input, Log

from tvirt.actions import Action
from tvirt.history import Metric
from tvirt.keys import APP_KEYS, DASHBOARD_KEYS, needs_write
from tvirt.model import VMInfo
from tvirt.readonly import refusal
from tvirt.stats import StatsSnapshot

from .base import TvirtScreen
from .dialogs import AddConnectionDialog, ConfirmDialog, Confirmed
from .footer import SteadyFooter
from .host_list import HOST_TREND_WIDTH, HostFilter, HostList, host_stats_lines
from .steady_static import SteadyStatic
from .vm_table import VMTable
from .words import host_counts, plural, target_lines, vm_counts

if TYPE_CHECKING:
    from .app import TvirtApp

# Short footer labels; the other keys are listed by ? and the command palette.
FOOTER_LABELS = {
    "vm('start')": "Start",
    "vm('shutdown')": "Shut down",
    "vm('destroy')": "Force off",
    "vm('delete')": "Delete",
    "console": "Console",
    "mark": "Mark",
    "focus_filter": "Filter",
    "add_connection": "Add host",
}

# Why each destructive action deserves a second thought.
_WARNINGS = {
    Action.SHUTDOWN: "The guest operating system is asked to shut down.",
    Action.REBOOT: "The guest operating system is asked to restart.",
    Action.FORCE_OFF: "This is like pulling the power plug: unsaved data in the guest is lost.",
    Action.DELETE: "The VM definition is removed. Its disks stay unless you tick the box.",
}


# The app's Help and Quit, repeated here so that they come first in the footer: the app's own
# come after the screen's and fell off the right edge at 80 and 100 columns.
_FIRST_IN_FOOTER: list[BindingType] = [
    Binding(
        k.key, f"app.{k.action}", {"help": "Help", "quit": "Quit"}[k.action], tooltip=k.description
    )
    for k in APP_KEYS
    if k.action in ("help", "quit") and k.key != "ctrl+q"
]


def dashboard_bindings() -> list[BindingType]:
    return _FIRST_IN_FOOTER + [
        Binding(
            k.key,
            k.action,
            FOOTER_LABELS.get(k.action, k.description),
            show=k.action in FOOTER_LABELS,
            tooltip=k.description,
        )
        for k in DASHBOARD_KEYS
    ]


class FilterInput(Input):
    """The text filter; escape or enter hands the keys back to the table."""

    BINDINGS = [Binding("escape", "leave", "Back to the table", show=False)]

    def action_leave(self) -> None:
        self.screen.query_one(VMTable).focus()

    def on_input_submitted(self) -> None:
        self.action_leave()


class DashboardScreen(TvirtScreen[None]):
    BINDINGS = dashboard_bindings()
    # Below 100 columns the host list narrows, so the VM table keeps room for the name,
    # the state and the mark (tvirt.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    def __init__(self) -> None:
        super().__init__()
        # Hosts whose stats arrived while another screen hid this one.
        self.stale_stats: set[str] = set()
        # The message log is on screen: lines go straight to it (before: TvirtApp.unlogged).
        self.log_ready = False
        self._status_pending = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="hosts-pane"):
                yield HostFilter(placeholder="Filter hosts", id="host-filter", compact=True)
                hosts = HostList(id="hosts")
                hosts.tooltip = "Hosts: one entry per connection, with its state in words"
                yield hosts
            with Vertical(id="vms-pane"):
                # The filter and the view's words on lines of their own, so neither runs
                # into the other however narrow the pane is.
                with Vertical(id="filter-bar"):
                    yield FilterInput(
                        placeholder="Filter by name or host (press /)",
                        id="filter",
                        compact=True,
                    )
                    yield SteadyStatic(id="view")
                yield VMTable(id="vms")
        yield SteadyStatic(id="status")
        log = Log(id="log", max_lines=500)
        log.tooltip = "Messages: results and state changes; press L to review them"
        yield log
        yield SteadyFooter()

    def on_mount(self) -> None:
        self.table.history = self.tvirt.history
        self.query_one("#hosts-pane").border_title = "Hosts"
        self.query_one("#vms-pane").border_title = "Virtual machines"
        self.query_one("#log").border_title = "Messages"
        for line in self.tvirt.unlogged:
            self.log_line(line)
        self.tvirt.unlogged.clear()
        self.log_ready = True
        self.table.focus()
        self.refresh_status()
        if self.tvirt.readonly:
            self._hide_read_write_keys()

    def _hide_read_write_keys(self) -> None:
        """Read-only: the footer offers only what can be done (the help marks the rest).
        The keys stay bound, so pressing one still says why it is refused; check_action
        would hide them too, but then a press would pass in silence."""
        table = self._bindings.key_to_bindings
        for key, bindings in table.items():
            table[key] = [replace(b, show=False) if needs_write(b.action) else b for b in bindings]
        self.refresh_bindings()

    # -- parts --------------------------------------------------------------
    @property
    def tvirt(self) -> TvirtApp:
        return cast("TvirtApp", self.app)

    @property
    def table(self) -> VMTable:
        return self.query_one(VMTable)

    @property
    def host_list(self) -> HostList:
        return self.query_one(HostList)

    def refresh_status(self) -> None:
        """The counts line and the filter/sort line, in words, once the messages already
        queued are handled: counting 10000 VMs after every one of fifty hosts' updates
        was most of the app's work while they listed."""
        if not self._status_pending:
            self._status_pending = True
            self.call_later(self._show_status)

    def _show_status(self) -> None:
        self._status_pending = False
        table = self.table
        parts = [vm_counts(table.vms.values()), host_counts(self.tvirt.hosts.values())]
        status = "; ".join(parts)
        if table.row_count != len(table.vms):
            status += f". Showing {table.row_count} of {plural(len(table.vms), 'VM')}"
        if table.marks:
            status += f". {len(table.marks)} marked"
        unread = sum(1 for vm in table.vms.values() if vm.vcpus is None)
        if unread:
            read = len(table.vms) - unread
            status += f"; reading vCPUs and memory, {read} of {len(table.vms)}"
        status += f"; {self.tvirt.stats_words()}"
        self.query_one("#status", SteadyStatic).show(status + ".")
        self.query_one("#view", SteadyStatic).show(table.describe_view())

    # -- live stats -----------------------------------------------------------
    def show_stats(self, snap: StatsSnapshot) -> None:
        """Redraw what one host's tick changed: its VMs' CPU cells and its host entry."""
        history = self.tvirt.history
        self.table.show_stats(snap, history)
        cpu = history.host_values(snap.host_id, Metric.CPU, last=HOST_TREND_WIDTH)
        self.host_list.show_stats(snap.host_id, host_stats_lines(snap.host, cpu))

    def on_screen_resume(self) -> None:
        latest = self.tvirt.latest
        for host_id in sorted(self.stale_stats):
            if host_id in latest:
                self.show_stats(latest[host_id])
        self.stale_stats.clear()
        self.table.show_stale(every=True)  # screen-reader mode: rows held while away
        self.refresh_status()

    def action_vm_details(self) -> None:
        vm = self.table.vm_at_cursor()
        if vm is None:
            self.tvirt.say("No VM is selected to show.", ok=False)
            return
        self.tvirt.show_vm_details(vm)

    def action_reread_row(self) -> None:
        """r: the VM's row again, with a change held back from the cursor's line (screen-
        reader mode); elsewhere the row is always current and this only re-reads it."""
        if self.table.reread() is None:
            self.tvirt.say("No VM is selected to read.", ok=False)

    def action_gluster(self) -> None:
        from .gluster_view import open_gluster

        open_gluster(self.tvirt, self.selected_host_id())

    def action_cluster(self) -> None:
        from .cluster_view import ClusterScreen

        self.app.push_screen(ClusterScreen())

    # -- new VM, hardware details, networks (screens/create_wizard.py etc.) --
    def action_new_vm(self) -> None:
        from .create_wizard import open_wizard

        open_wizard(self.tvirt, self.selected_host_id())

    def action_vm_hardware(self) -> None:
        from .vm_hardware import open_hardware

        open_hardware(self.tvirt, self.table.vm_at_cursor())

    def action_migrate(self) -> None:
        from .migrate import ask_migration

        ask_migration(self.tvirt, self.table.vm_at_cursor())

    def action_networks(self) -> None:
        from .networks import open_networks

        open_networks(self.tvirt, self.selected_host_id())

    def log_line(self, sentence: str) -> None:
        self.query_one(Log).write_line(sentence)

    # -- VM actions ---------------------------------------------------------
    def action_vm(self, name: str) -> None:
        self.request(Action.from_name(name), self.table.targets())

    async def action_console(self) -> None:
        """Open the serial console of the VM under the cursor in its own tab."""
        from .console import open_console

        vm = self.table.vm_at_cursor()
        if vm is None:
            self.tvirt.say("No VM is selected to open a console for.", ok=False)
            return
        if self.tvirt.readonly:  # the command palette can still ask for it
            self.tvirt.say(
                f"The console of {vm.name} cannot open read-only: libvirt lets only "
                "read-write connections attach to consoles; restart tvirt without "
                "--readonly to use it.",
                ok=False,
            )
            return
        await open_console(self.tvirt, vm)

    async def action_display(self) -> None:
        """Open the live graphical display of the VM under the cursor in its own tab."""
        from .display import READONLY_DISPLAY, open_display

        vm = self.table.vm_at_cursor()
        if vm is None:
            self.tvirt.say("No VM is selected to show the display of.", ok=False)
            return
        if self.tvirt.readonly:  # the command palette can still ask for it
            self.tvirt.say(READONLY_DISPLAY.format(name=vm.name), ok=False)
            return
        await open_display(self.tvirt, vm)

    def action_toggle_autostart(self) -> None:
        targets = self.table.targets()
        # One direction for the whole batch: on, unless every target is on already.
        off = bool(targets) and all(vm.autostart for vm in targets)
        self.request(Action.AUTOSTART_OFF if off else Action.AUTOSTART_ON, targets)

    def request(self, action: Action, targets: list[VMInfo]) -> None:
        """Refuse, confirm or perform an action on the targets."""
        app = self.tvirt
        if not targets:
            app.say(f"No VM is selected to {action.verb}.", ok=False)
            return
        names = ", ".join(target_lines(targets, self.table.labels))
        if app.readonly:
            app.say(refusal(f"{action.verb} {names}"), ok=False)
            return
        if not action.destructive:
            app.perform(action, targets)
            return
        what = plural(len(targets), "VM") if len(targets) > 1 else targets[0].name
        dialog = ConfirmDialog(
            f"{action.verb.capitalize()} {what}?",
            target_lines(targets, self.table.labels),
            _WARNINGS.get(action, ""),
            f"Yes, {action.verb}",
            offer_storage=action is Action.DELETE,
        )

        def answered(answer: Confirmed | None) -> None:
            if answer is None:
                app.say(f"Cancelled: did not {action.verb} {names}.")
                return
            app.perform(action, targets, remove_storage=answer.remove_storage)

        self.app.push_screen(dialog, answered)

    def action_mark(self) -> None:
        if self.table.toggle_mark() is None:
            self.tvirt.say("No VM is selected to mark.", ok=False)
        self.refresh_status()

    def action_clear_marks(self) -> None:
        count = self.table.clear_marks()
        self.tvirt.say(f"Cleared {plural(count, 'mark')}.")
        self.refresh_status()

    # -- filtering and sorting ----------------------------------------------
    def action_focus_filter(self) -> None:
        self.query_one(FilterInput).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.table.set_text_filter(event.value)
        self.refresh_status()

    def action_cycle_state_filter(self) -> None:
        self.table.cycle_state_filter()
        self.refresh_status()

    def action_cycle_sort(self) -> None:
        self.table.cycle_sort()
        self.refresh_status()

    def action_reverse_sort(self) -> None:
        self.table.reverse_sort()
        self.refresh_status()

    @on(DataTable.HeaderSelected)
    def _header_sorted(self) -> None:
        self.refresh_status()

    def action_focus_next(self) -> None:
        self.focus_next()

    # -- connections --------------------------------------------------------
    def action_add_connection(self) -> None:
        app = self.tvirt

        def answered(uri: str | None) -> None:
            if uri is not None:
                app.add_connection(uri)

        self.app.push_screen(AddConnectionDialog(app.is_connected), answered)

    def selected_host_id(self) -> str | None:
        """The host under the host list's highlight, or else the selected VM's host."""
        if not self.host_list.has_focus:
            vm = self.table.vm_at_cursor()
            if vm is not None:
                return vm.host_id
        return self.host_list.selected_host_id()

    def action_storage(self) -> None:
        """The storage view of the selected host."""
        from .storage import StorageScreen

        app = self.tvirt
        host_id = self.selected_host_id()
        host = app.hosts.get(host_id or "")
        worker = app.manager.workers.get(host_id or "")
        if host is None or worker is None:
            app.say("No host is selected to show its storage.", ok=False)
            return
        if worker.info.state.word != "connected":
            app.say(f"{host.label} is not connected, so its storage cannot be shown.", ok=False)
            return
        self.app.push_screen(StorageScreen(worker, host.label))

    def action_remove_connection(self) -> None:
        app = self.tvirt
        host_id = self.selected_host_id()
        host = app.hosts.get(host_id or "")
        if host_id is None or host is None:
            app.say("No connection is selected to remove.", ok=False)
            return
        count = sum(1 for vm in self.table.vms.values() if vm.host_id == host_id)
        dialog = ConfirmDialog(
            f"Remove the connection to {host.label}?",
            [f"{host.label} ({host.uri}), {plural(count, 'VM')}"],
            "Its VMs leave this list; the VMs themselves are not touched.",
            "Yes, remove",
        )

        def answered(answer: Confirmed | None) -> None:
            if answer is None:
                app.say(f"Cancelled: kept the connection to {host.label}.")
                return
            app.remove_connection(host_id)

        self.app.push_screen(dialog, answered)
