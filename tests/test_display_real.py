"""The live graphical display on the real TCG guest, locally and over qemu+ssh://.

The tiny guest's image keeps its shell on ttyS0; here the same kernel and initramfs boot
with the VGA text console as /dev/console (`console=ttyS0 console=tty0`, the last one
wins) and busybox's shell as the first process (`rdinit=/bin/sh`), so a shell prompt is
on the VGA screen and the PS/2 keyboard (i8042 + atkbd, built into the Debian cloud
kernel) types into it. No image change: other tests' guests boot as before. The guest
boots once for the module.

A command is typed with keys (sendKey through the app), and the frame the app drew is
decoded and read in the 9x16-pixel cells of the 80x25 text mode: which text rows have
lit pixels, and whether the glyph typed in the command line is the glyph echoed below.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import cast

import libvirt
import pytest
from PIL.Image import Image
from test_tui_dashboard import SIZE, table
from test_tui_dashboard import select as select_row
from textual.pilot import Pilot

from conftest import Testbed, guest_xml
from tui_helpers import until
from tvirt.screens.app import TvirtApp
from tvirt.screens.display import DisplayPane, DisplayScreen

pytestmark = pytest.mark.real

CELL_W, CELL_H = 9, 16  # VGA text mode: 720x400 pixels, 80x25 cells
LIT = 100  # grey level above which a pixel is text, not background
READY = b"Run /bin/sh as init process"


@pytest.fixture(scope="module")
def vga_guest(testbed: Testbed) -> Iterator[str]:
    """The tiny guest with a VNC display and a shell on its VGA console, running."""
    name = f"tvirt-test-vga-{os.getpid()}"
    xml = (
        guest_xml(name, testbed.guest_kernel, testbed.guest_initrd)
        .replace("console=ttyS0 panic=1", "console=ttyS0 console=tty0 rdinit=/bin/sh panic=1")
        .replace(
            "<devices>",
            "<devices><graphics type='vnc' autoport='yes' listen='127.0.0.1'/>"
            "<video><model type='vga'/></video>",
        )
    )
    conn = libvirt.open(testbed.qemu_uri)
    dom = conn.defineXML(xml)
    try:
        dom.create()
        _wait_for_shell(conn, dom)
        yield name
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        conn.close()


def _wait_for_shell(conn: libvirt.virConnect, dom: libvirt.virDomain) -> None:
    """The kernel says on the serial port too when it starts the shell."""
    stream = conn.newStream(0)
    dom.openConsole(None, stream, 0)
    seen = bytearray()
    done = threading.Event()

    def read() -> None:
        try:
            while READY not in seen:
                data = stream.recv(4096)
                if not isinstance(data, bytes) or not data:
                    break
                seen.extend(data)
        except libvirt.libvirtError:
            pass
        done.set()

    threading.Thread(target=read, daemon=True).start()
    started = done.wait(240)
    try:
        stream.abort()
    except libvirt.libvirtError:
        pass
    assert started and READY in seen, f"the guest did not start its shell: {bytes(seen[-300:])!r}"


def lit_rows(picture: Image) -> set[int]:
    """The text rows with any lit pixel."""
    grey = picture.convert("L")
    rows = set()
    for row in range(picture.size[1] // CELL_H):
        band = grey.crop((0, row * CELL_H, picture.size[0], (row + 1) * CELL_H))
        if band.getextrema()[1] > LIT:
            rows.add(row)
    return rows


def glyph(picture: Image, row: int, column: int) -> bytes:
    """One cell's pixels as lit or not."""
    box = (column * CELL_W, row * CELL_H, (column + 1) * CELL_W, (row + 1) * CELL_H)
    cell = picture.convert("L").crop(box)
    return bytes(1 if value > LIT else 0 for value in cell.tobytes())


async def type_keys(pilot: Pilot[int], text: str) -> None:
    """Press each character's key as a terminal would send it."""
    names = {" ": "space", "-": "minus", ";": "semicolon", "\n": "enter"}
    for ch in text:
        await pilot.press(names.get(ch, ch))


async def open_display(pilot: Pilot[int], app: TvirtApp, name: str) -> DisplayPane:
    await until(pilot, lambda: any(vm.name == name for vm in table(app).vms.values()),
                "the guest listed", timeout=60)
    select_row(app, name)
    await pilot.press("g")
    await until(pilot, lambda: isinstance(app.screen, DisplayScreen), "the display screen")
    # The tab is added once the screen's tab list is composed (later on a loaded machine).
    await until(pilot, lambda: cast(DisplayScreen, app.screen).active_pane() is not None,
                "the display tab")
    screen = app.screen
    assert isinstance(screen, DisplayScreen)
    pane = screen.active_pane()
    assert pane is not None
    await until(pilot, lambda: pane.picture is not None, "the first picture", 60)
    return pane


def drawn(pane: DisplayPane) -> Image:
    assert pane.picture is not None
    return pane.picture


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_keys_typed_in_the_display_reach_the_vga_console(
    where: str, testbed: Testbed, vga_guest: str
) -> None:
    uri = testbed.qemu_uri if where == "local" else testbed.ssh_uri
    app = TvirtApp(uris=[uri], stats=False)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_display(pilot, app, vga_guest)
        assert drawn(pane).size == (720, 400)
        assert (pane.pacer.width, pane.pacer.height) == (720, 400)
        await pilot.press("i")  # keys go to the guest from here on
        assert pane.capturing
        # Quiet the kernel on this console, then an empty screen: the prompt on row 0.
        await type_keys(pilot, "dmesg -n 1; clear\n")
        await until(pilot, lambda: lit_rows(drawn(pane)) == {0}, "the cleared screen", 60)
        await type_keys(pilot, "echo ")
        for key in ("A", "B", "exclamation_mark", "enter"):  # shifted keys
            await pilot.press(key)
        # The command on row 0, its answer on row 1, the next prompt on row 2.
        await until(pilot, lambda: lit_rows(drawn(pane)) == {0, 1, 2}, "the answer", 60)
        picture = drawn(pane)
        # "/ # echo AB!": A is in column 9 of row 0; the guest echoed "AB!" at column 0.
        for typed, echoed in ((9, 0), (10, 1), (11, 2)):
            assert glyph(picture, 0, typed) == glyph(picture, 1, echoed), (typed, echoed)
        assert glyph(picture, 1, 0) != glyph(picture, 1, 1)  # A is not B
        assert not any(glyph(picture, 1, 3))  # nothing after "AB!"
        assert pane.keys_sent >= len("dmesg -n 1; clear\necho AB!\n")
        # Escape goes to the guest while captured (the display stays); Ctrl+] gives the
        # keys back, and then Escape leaves.
        await pilot.press("escape")
        assert isinstance(app.screen, DisplayScreen) and pane.capturing
        await pilot.press("ctrl+right_square_bracket")
        assert not pane.capturing
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DisplayScreen), "left the display")
