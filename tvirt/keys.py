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
    Key("S", "storage", "Storage pools and volumes of the selected host"),
    Key("tab", "focus_next", "Move focus to the next pane"),
)

APP_KEYS: tuple[Key, ...] = (
    Key("question_mark", "help", "Show this list of keys", "everywhere"),
    Key("ctrl+p", "command_palette", "Command palette: every action by name", "everywhere"),
    Key("q", "quit", "Quit", "everywhere"),
    Key("escape", "dismiss", "Close a dialog or the help screen", "dialogs"),
)


# The confirmation dialog's own keys, on top of the dialog keys above.
CONFIRM_KEYS: tuple[Key, ...] = (
    Key("y", "confirm", "Yes: go ahead", "confirmations"),
    Key("enter", "enter", "Yes, or press the focused button", "confirmations"),
    Key("n", "cancel", "No: change nothing", "confirmations"),
)


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
    Key("g", "screenshot", "Show a screenshot of the VM's graphical display",
        "detached console"),
    Key("x", "close_tab", "Close this console tab", "detached console"),
    Key("pageup", "scroll_back", "Scroll back", "detached console"),
    Key("pagedown", "scroll_forward", "Scroll forward", "detached console"),
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

# The storage wizards' own keys, on top of the dialog keys.
STORAGE_WIZARD_KEYS: tuple[Key, ...] = (
    Key("enter", "next", "Next step (checks this one first); on the summary, create",
        "storage wizards"),
    Key("ctrl+b", "back", "Previous step", "storage wizards"),
)


def all_keys() -> tuple[Key, ...]:
    return (
        APP_KEYS + DASHBOARD_KEYS + CONFIRM_KEYS + CONSOLE_KEYS + STORAGE_KEYS
        + STORAGE_WIZARD_KEYS
    )


def display(key: str) -> str:
    """Key names as a person types them."""
    return {"slash": "/", "question_mark": "?", "space": "Space"}.get(key, key)
