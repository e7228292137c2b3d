"""Every key binding of the TUI, in one table shared by the app, its help and `tvirt keys`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    key: str
    action: str
    description: str
    where: str = "dashboard"


DASHBOARD_KEYS: tuple[Key, ...] = (
    Key("s", "vm('start')", "Start the selected or marked VMs"),
    Key("h", "vm('shutdown')", "Shut down (ask the guest OS)"),
    Key("R", "vm('reboot')", "Reboot"),
    Key("F", "vm('destroy')", "Force off (like pulling the plug)"),
    Key("p", "vm('suspend')", "Pause"),
    Key("u", "vm('resume')", "Resume a paused VM"),
    Key("t", "toggle_autostart", "Toggle autostart"),
    Key("D", "vm('delete')", "Delete (undefine) with an option to remove storage"),
    Key("space", "mark", "Mark or unmark the VM for a batch action"),
    Key("M", "clear_marks", "Clear all marks"),
    Key("slash", "focus_filter", "Filter VMs by text"),
    Key("f", "cycle_state_filter", "Cycle the state filter: all, running, shut off, paused, other"),
    Key("o", "cycle_sort", "Cycle the sort column"),
    Key("O", "reverse_sort", "Reverse the sort order"),
    Key("a", "add_connection", "Add a connection"),
    Key("X", "remove_connection", "Remove the selected host's connection"),
    Key("c", "console", "Open the selected VM's serial console in a tab"),
    Key("g", "display", "Open the selected VM's live graphical display in a tab"),
    Key("i", "vm_details", "Show live graphs of the selected VM (Enter works too)"),
    Key("r", "reread_row", "Read the VM's row again, with a change not shown yet"),
    Key("n", "new_vm", "New VM wizard on the selected host"),
    Key("e", "vm_hardware", "VM details: hardware, snapshots, clone, XML"),
    Key("N", "networks", "Virtual networks of the selected host"),
    Key("S", "storage", "Storage pools and volumes of the selected host"),
    Key("tab", "focus_next", "Move focus to the next pane"),
    Key("G", "gluster", "Gluster view of the selected host: volumes, bricks, heal, peers"),
    Key("m", "migrate", "Migrate the selected VM to another connected host"),
    Key("C", "cluster", "Cluster overview: every host's VMs, pools, bricks; volumes' health"),
)

# The Hosts panel, while it has the focus (Tab): at fifty hosts, find the few that matter.
HOSTS_KEYS: tuple[Key, ...] = (
    Key("slash", "filter", "Filter the hosts by label, URI, state or error text",
        "Hosts panel"),
    Key("z", "fold", "Fold the connected hosts into one line; the others come first",
        "Hosts panel"),
    Key("escape", "leave", "Clear the hosts filter and unfold; if none, back to the VMs",
        "Hosts panel"),
)

APP_KEYS: tuple[Key, ...] = (
    Key("question_mark", "help", "Show this list of keys", "everywhere"),
    Key("L", "event_log", "Event log: every result and state change, to review",
        "everywhere"),
    Key("ctrl+p", "command_palette", "Command palette: every action by name", "everywhere"),
    Key("q", "quit", "Quit", "everywhere"),
    Key("ctrl+q", "quit", "Quit, also where a text field takes q as a letter", "everywhere"),
    Key("P", "toggle_stats", "Pause or resume live stats and graphs", "everywhere"),
    Key("plus", "faster_stats", "Sample stats more often (10, 5, 2, 1 s)", "everywhere"),
    Key("minus", "slower_stats", "Sample stats less often (1, 2, 5, 10 s)", "everywhere"),
    Key("f2", "read_header", "Read the column names and sort, or the status line",
        "everywhere"),
    Key("f3", "read_newest", "Read the newest entry of the event log (any key goes back)",
        "everywhere"),
    Key("escape", "dismiss", "Close a dialog or the help screen", "dialogs"),
)


# The confirmation dialog's own keys, on top of the dialog keys above.
CONFIRM_KEYS: tuple[Key, ...] = (
    Key("y", "confirm", "Yes: go ahead", "confirmations"),
    Key("enter", "enter", "Yes, or press the focused button", "confirmations"),
    Key("n", "cancel", "No: change nothing", "confirmations"),
)


# The VM details screen (live graphs); the stats keys above work there too.
DETAIL_KEYS: tuple[Key, ...] = (
    Key("r", "reread", "Read the numbers again (screen-reader mode shows them when asked)",
        "VM details"),
    Key("escape", "dismiss", "Back to the dashboard", "VM details"),
)

# The stats intervals that + and - step through, in seconds.
STATS_STEPS: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0)


# Serial consoles. While one is attached every other key goes to the guest.
CONSOLE_KEYS: tuple[Key, ...] = (
    Key("ctrl+]", "detach", "Detach from the console (the [console] escape setting)",
        "attached console"),
    Key("shift+pageup", "scroll_back", "Scroll back through the console's history",
        "attached console"),
    Key("shift+pagedown", "scroll_forward", "Scroll forward again", "attached console"),
    Key("ctrl+pageup", "previous_tab", "Previous console tab", "consoles"),
    Key("ctrl+pagedown", "next_tab", "Next console tab", "consoles"),
    Key("escape", "dashboard", "Back to the dashboard (consoles stay open)", "consoles"),
    Key("r", "reattach", "Reattach to the console", "detached console"),
    Key("T", "take_over", "Take the console over from another client", "detached console"),
    Key("s", "save_transcript", "Save the console's transcript to a file", "detached console"),
    Key("k", "ctrl_alt_del", "Send Ctrl+Alt+Del to the VM's keyboard", "detached console"),
    Key("y", "sysrq", "Send SysRq plus the next letter typed", "detached console"),
    Key("g", "display", "Open the VM's live graphical display in a tab",
        "detached console"),
    Key("x", "close_tab", "Close this console tab", "detached console"),
    Key("pageup", "scroll_back", "Scroll back", "detached console"),
    Key("pagedown", "scroll_forward", "Scroll forward", "detached console"),
)


# The live graphical display (g on the dashboard or a detached console; tvirt display VM).
# Keys go to tvirt until i hands them to the guest; then every key goes to the guest but
# the console escape key (Ctrl+] unless the [console] escape setting says otherwise).
DISPLAY_KEYS: tuple[Key, ...] = (
    Key("ctrl+]", "release", "Give the keys back to tvirt (the [console] escape setting)",
        "display, keys to the guest"),
    Key("i", "capture", "Send every key to the guest (Escape included) until Ctrl+]",
        "graphical display"),
    Key("k", "special_keys", "Keys a terminal cannot send: Ctrl+Alt+Del, Ctrl+Alt+F1..F7, "
        "SysRq, Escape", "graphical display"),
    Key("t", "type_text", "Type a text into the guest, key by key (pasting works too)",
        "graphical display"),
    Key("c", "serial_console", "Open this VM's serial console instead", "graphical display"),
    Key("x", "close_tab", "Close this display tab", "graphical display"),
    Key("ctrl+pageup", "previous_tab", "Previous display tab", "graphical displays"),
    Key("ctrl+pagedown", "next_tab", "Next display tab", "graphical displays"),
    Key("escape", "back", "Back (the displays stay open, their pictures stop)",
        "graphical displays"),
)


# A running migration's progress screen (m on the dashboard, then its form).
MIGRATION_KEYS: tuple[Key, ...] = (
    Key("escape", "cancel", "Cancel the migration: libvirt aborts it and the VM stays",
        "migration"),
    Key("c", "cancel", "Cancel the migration, as Escape does", "migration"),
)


# The Gluster view and its wizards (disk wipe, bricks and volume).
GLUSTER_KEYS: tuple[Key, ...] = (
    Key("r", "refresh", "Refresh the Gluster view now", "Gluster view"),
    Key("w", "wipe_wizard", "Disk wipe wizard for this host", "Gluster view"),
    Key("b", "brick_wizard", "Brick and volume wizard for this host", "Gluster view"),
    Key("escape", "back", "Back to the dashboard", "Gluster view"),
)
# The cluster overview (C on the dashboard).
CLUSTER_KEYS: tuple[Key, ...] = (
    Key("r", "refresh", "Refresh the cluster overview now", "cluster overview"),
    Key("escape", "back", "Back to the dashboard", "cluster overview"),
)
WIZARD_KEYS: tuple[Key, ...] = (
    Key("escape", "back", "Previous step, or close the wizard", "disk wizards"),
    Key("enter", "select", "Choose the highlighted row or setting, or go on", "disk wizards"),
    Key("space", "mark", "Mark or unmark a disk for a brick", "disk wizards"),
    Key("U", "undo", "Undo what a failed wizard made", "disk wizards"),
)


# Every form and wizard with fields (screens/form.py): the new-VM wizard, the storage
# wizards and the small forms of the hardware, networks and storage screens. One
# behaviour everywhere: the first field has the focus, Enter advances, a refusal keeps
# what was typed, and choices are lists (arrows choose).
FORM_KEYS: tuple[Key, ...] = (
    Key("enter", "advance",
        "Next field; from the last one, the next step (checked first) or go ahead",
        "forms and wizards"),
    Key("ctrl+b", "back", "Previous step of a wizard", "forms and wizards"),
    Key("ctrl+s", "create", "Create now, on a wizard's summary (also from its XML editor)",
        "forms and wizards"),
    Key("escape", "cancel", "Cancel: change nothing", "forms and wizards"),
)

# VM details with hardware and snapshots (screens/vm_hardware.py).
HARDWARE_KEYS: tuple[Key, ...] = (
    Key("m", "memory", "Change the memory (live where possible)", "VM hardware"),
    Key("M", "max_memory", "Change the maximum memory (in the config)", "VM hardware"),
    Key("v", "vcpus", "Change the number of vCPUs", "VM hardware"),
    Key("a", "add_disk", "Add a disk (a volume's or file's path)", "VM hardware"),
    Key("d", "remove_device", "Remove the selected disk or NIC (asks first)", "VM hardware"),
    Key("c", "media", "Change or eject the selected CD drive's media", "VM hardware"),
    Key("w", "add_nic", "Add a NIC on a network or bridge", "VM hardware"),
    Key("b", "boot_order", "Edit the boot order", "VM hardware"),
    Key("x", "xml", "View and edit the XML", "VM hardware"),
    Key("C", "clone", "Clone the VM (it must be shut off)", "VM hardware"),
    Key("S", "snapshot", "Take a snapshot", "VM hardware"),
    Key("r", "revert", "Revert to the selected snapshot (asks first)", "VM hardware"),
    Key("D", "delete_snapshot", "Delete the selected snapshot (asks first)", "VM hardware"),
    Key("escape", "dismiss", "Back to the dashboard", "VM hardware"),
)

# The XML editor of the hardware screen (x there).
XML_KEYS: tuple[Key, ...] = (
    Key("ctrl+s", "save", "Define the edited XML as the VM's config", "XML editor"),
    Key("escape", "back", "Back to the hardware screen; asks first if edits are unsaved",
        "XML editor"),
)

# The networks screen (screens/networks.py).
NETWORK_KEYS: tuple[Key, ...] = (
    Key("s", "start", "Start the selected network", "networks"),
    Key("h", "stop", "Stop the selected network (asks first)", "networks"),
    Key("t", "autostart", "Toggle the selected network's autostart", "networks"),
    Key("n", "define", "Define a NAT or isolated network", "networks"),
    Key("escape", "dismiss", "Back to the dashboard", "networks"),
)


# The storage view (S on the dashboard). Pool keys act on the highlighted pool, volume keys
# on the highlighted volume, wherever the focus is.
STORAGE_KEYS: tuple[Key, ...] = (
    Key("s", "pool('start')", "Start the pool", "storage"),
    Key("h", "pool('stop')", "Stop the pool", "storage"),
    Key("r", "pool('refresh')", "Refresh the pool (rescan its volumes)", "storage"),
    Key("t", "pool('autostart')", "Toggle the pool's autostart", "storage"),
    Key("X", "pool('delete')", "Delete (undefine) the pool, with confirmation", "storage"),
    Key("N", "define_pool", "Define a new pool: dir, logical, disk, netfs, gluster", "storage"),
    Key("n", "new_volume", "New volume: a step-by-step wizard", "storage"),
    Key("z", "volume('resize')", "Resize the volume (grow; shrinking asks again)", "storage"),
    Key("C", "volume('clone')", "Clone the volume", "storage"),
    Key("D", "volume('delete')", "Delete the volume, with confirmation", "storage"),
    Key("W", "volume('wipe')", "Wipe the volume's data, with confirmation", "storage"),
    Key("U", "volume('upload')", "Upload a local file into the volume", "storage"),
    Key("d", "volume('download')", "Download the volume into a local file", "storage"),
    Key("ctrl+c", "cancel_transfer", "Cancel the running upload or download", "storage"),
    Key("escape", "back", "Back to the dashboard", "storage"),
    Key("tab", "focus_next", "Move between the pools and the volumes", "storage"),
)


def all_keys() -> tuple[Key, ...]:
    return (
        APP_KEYS + DASHBOARD_KEYS + HOSTS_KEYS + DETAIL_KEYS + CONFIRM_KEYS + CONSOLE_KEYS
        + DISPLAY_KEYS + MIGRATION_KEYS + GLUSTER_KEYS + WIZARD_KEYS + FORM_KEYS + HARDWARE_KEYS
        + XML_KEYS + NETWORK_KEYS + STORAGE_KEYS + CLUSTER_KEYS
    )


def display(key: str) -> str:
    """Key names as a person types them."""
    return {
        "slash": "/",
        "question_mark": "?",
        "space": "Space",
        "plus": "+",
        "minus": "-",
    }.get(key, key)


# Dashboard actions that a read-only connection cannot carry out: every change, and the
# serial console, which libvirt refuses to read-only clients (as it refuses key presses and
# screenshots, so the graphical display too). In read-only mode they are hidden from the
# footer and marked in the help.
READ_WRITE_ACTIONS: frozenset[str] = frozenset(
    {
        "vm('start')",
        "vm('shutdown')",
        "vm('reboot')",
        "vm('destroy')",
        "vm('suspend')",
        "vm('resume')",
        "vm('delete')",
        "toggle_autostart",
        "new_vm",
        "console",
        "display",
        "migrate",
    }
)
READ_ONLY_MARK = "(not available read-only)"


def needs_write(action: str, parameters: tuple[object, ...] = ()) -> bool:
    """Whether an action (as Textual splits it: name and parameters) needs read-write."""
    if parameters:
        action = f"{action}({', '.join(repr(p) for p in parameters)})"
    return action in READ_WRITE_ACTIONS
