"""`tvirt display VM`: the VM's live graphical display, full-screen in the terminal.

The VM is found (and read-only mode refused) here, like every plain command; then the
app starts on that VM's host alone with the display open, and Escape ends it. Inside,
i sends the keys to the guest and Ctrl+] gives them back, as in the app's display tab.
"""

from __future__ import annotations

import argparse

from tvirt.cli import plain
from tvirt.cli.plumbing import (
    EXIT_FAILED,
    EXIT_OK,
    CLIError,
    connect,
    one_vm,
    readonly,
    refuse_readonly,
)

RENDERERS = ("auto", "kitty", "sixel", "halfblocks", "unicode")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser(
        "display",
        help="show a VM's graphical display live and type into it (screenshots and "
        "sendKey over the libvirt connection: no VNC port, no tunnel)",
        description="Show a VM's graphical display full-screen. i sends the keys to the "
        "guest, the console escape key (Ctrl+] by default) gives them back, k offers "
        "Ctrl+Alt+Del and other keys a terminal cannot send, Escape leaves.",
    )
    cmd.add_argument("vm")
    cmd.add_argument("--host", help="host label, URI or hostname when names clash")
    cmd.add_argument(
        "--renderer",
        choices=RENDERERS,
        default="auto",
        help="how to draw the picture: auto (the best the terminal answers for), kitty "
        "graphics, sixel, halfblocks or unicode",
    )
    # The app draws on the terminal itself (no plain-mode filter on its output).
    cmd.set_defaults(run=run, raw_output=True)


def run(args: argparse.Namespace) -> int:
    why = plain.reason()
    if why:
        raise CLIError(
            f"tvirt display draws the screen in the terminal, and there is none ({why}); "
            f"tvirt console {args.vm} shows the serial console as plain text.",
            EXIT_FAILED,
        )
    refuse_readonly(args, readonly(args), f"show the display of {args.vm} (libvirt takes "
                    "screenshots and sends keys only on read-write connections)")
    manager, inventory = connect(args)
    try:
        vm = one_vm(inventory, args.vm, args.host)
        host = inventory.hosts.get(vm.host_id)
        uri = host.uri if host else vm.host_id
    finally:
        manager.stop()
    # Imported here: the plain commands never load textual.
    from tvirt.screens.app import run_app

    code: int = run_app(
        connect=[uri],
        readonly=False,
        screen_reader=args.screen_reader,
        theme=args.theme,
        display=(vm.uuid, args.renderer),
    )
    return code or EXIT_OK
