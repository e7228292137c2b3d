"""Serial consoles on the real TCG guest: in the app (locally and over ssh) and `tvirt console`.

The guest boots once for the module and is destroyed at the end. Its busybox shell sends
ESC[6n before each prompt; the terminal widget answers it.
"""

from __future__ import annotations

import os
import select
import subprocess
import termios
import threading
import time
from collections.abc import Iterator

import libvirt
import pytest
from test_tui_dashboard import SIZE, table, until
from test_tui_dashboard import select as select_row
from textual.widgets import Static

from conftest import Testbed, guest_xml
from tvirt.screens.app import TvirtApp
from tvirt.screens.console import ConsolePane, ConsoleScreen, ScreenshotScreen
from tvirt.screens.dashboard import DashboardScreen
from tvirt.screens.dialogs import ConfirmDialog

pytestmark = pytest.mark.real

TVIRT = "/tmp/venv/bin/tvirt"


class Guest:
    def __init__(self, uri: str, name: str) -> None:
        self.uri = uri
        self.name = name
        self.conn = libvirt.open(uri)

    @property
    def dom(self) -> libvirt.virDomain:
        return self.conn.lookupByName(self.name)

    def ensure_running(self) -> None:
        """Start the guest and wait for its shell, watching its console while it boots."""
        if self.dom.isActive():
            return
        dom = self.dom
        dom.create()
        stream = self.conn.newStream(0)
        dom.openConsole(None, stream, 0)
        booted = threading.Event()

        def read() -> None:
            seen = bytearray()
            try:
                while b"#" not in seen.partition(b"TVIRT-GUEST-READY")[2]:
                    data = stream.recv(4096)
                    if not isinstance(data, bytes) or not data:
                        break
                    seen += data
            except libvirt.libvirtError:
                pass
            try:
                stream.abort()
            except libvirt.libvirtError:
                pass
            booted.set()

        threading.Thread(target=read, daemon=True).start()
        assert booted.wait(60), "the guest did not boot to its shell within 60 s"

    def destroy(self) -> None:
        if self.dom.isActive():
            self.dom.destroy()


@pytest.fixture(scope="module")
def running(testbed: Testbed, guest: str) -> Iterator[Guest]:
    g = Guest(testbed.qemu_uri, guest)
    g.ensure_running()
    yield g
    g.destroy()
    g.conn.close()


def pane_of(app: TvirtApp) -> ConsolePane:
    screen = app.screen
    assert isinstance(screen, ConsoleScreen), screen
    pane = screen.active_pane()
    assert pane is not None
    return pane


def lines(pane: ConsolePane) -> list[str]:
    return [line.strip() for line in pane.terminal.text().splitlines()]


async def type_line(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*text, "enter")


async def open_console(pilot, app: TvirtApp, name: str) -> ConsolePane:  # type: ignore[no-untyped-def]
    await until(pilot, lambda: any(vm.name == name for vm in table(app).vms.values()),
                "the guest listed", timeout=60)
    select_row(app, name)
    await pilot.press("c")
    await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the console screen")
    pane = pane_of(app)
    await until(pilot, lambda: pane.state == "attached", "attached", 20)
    return pane


async def ask(pilot, pane: ConsolePane, expression: str, answer: str) -> None:  # type: ignore[no-untyped-def]
    """Type an arithmetic echo and wait for its answer. A guest that is still booting may
    scramble the first try with kernel messages, so it is retried a few times."""
    for attempt in range(4):
        await type_line(pilot, f"echo $(({expression}))")
        try:
            await until(pilot, lambda: answer in lines(pane), f"{answer} on screen",
                        20 if attempt == 3 else 5)
            return
        except AssertionError as exc:
            if attempt == 3:
                raise AssertionError(f"{exc}; the screen shows:\n{pane.terminal.text()}") \
                    from None


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_console_tab_echo_detach_reattach_busy_takeover(
    where: str, testbed: Testbed, running: Guest
) -> None:
    running.ensure_running()
    uri = testbed.qemu_uri if where == "local" else testbed.ssh_uri
    app = TvirtApp(uris=[uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        assert "Ctrl+]" in pane.status_text
        await ask(pilot, pane, "6*7", "42")

        # The escape key detaches and says so; keys no longer reach the guest.
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: pane.state == "detached", "detached")
        assert "Detached" in pane.status_text and "r reattach" in pane.status_text

        # Reattach without leaving the app.
        await pilot.press("r")
        await until(pilot, lambda: pane.state == "attached", "reattached", 20)
        await ask(pilot, pane, "7*8", "56")
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: pane.state == "detached", "detached again")

        # Another plain libvirt client holds the console: busy, then an explicit take-over.
        other = libvirt.open(testbed.qemu_uri)
        stream = other.newStream(0)
        other.lookupByName(running.name).openConsole(None, stream, 0)
        try:
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmDialog), "the busy dialog")
            dialog = app.screen
            assert isinstance(dialog, ConfirmDialog)
            assert "busy" in dialog.question and "Another client" in dialog.explanation
            assert dialog.confirm_label == "Take over"
            assert pane.state == "detached"  # nothing taken over before the answer
            await pilot.press("y")
            await until(pilot, lambda: pane.state == "attached", "taken over", 20)
            await ask(pilot, pane, "8*9", "72")
        finally:
            try:
                stream.abort()
            except libvirt.libvirtError:
                pass  # it was taken over
            other.close()
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: pane.state == "detached", "detached at the end")
        # SysRq through sendKey: y, then the command letter (h: help, harmless).
        await pilot.press("y")
        await until(pilot, lambda: "SysRq: press" in pane.status_text, "the SysRq prompt")
        await pilot.press("h")
        await until(pilot, lambda: any("SysRq h" in m for m in app.messages), "the SysRq result")
        assert any(m.startswith("Sent SysRq h") for m in app.messages), app.messages
        if where == "local":
            assert "No graphical display" in pane.query_one(
                f"#{pane.id}-display", Static).render().plain  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")


async def test_two_consoles_in_tabs_across_hosts(testbed: Testbed, running: Guest) -> None:
    """The same guest through two hosts (local and ssh): two tabs; one holds the console."""
    running.ensure_running()
    app = TvirtApp(uris=[testbed.qemu_uri, testbed.ssh_uri])
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: sum(vm.name == running.name for vm in table(app).vms.values())
                    == 2, "the guest on both hosts", 60)
        keys = [vm.key for vm in table(app).vms.values() if vm.name == running.name]
        screen_panes = []
        for key in keys:
            table(app).move_cursor(row=table(app).get_row_index(key))
            if not isinstance(app.screen, DashboardScreen):
                await pilot.press("ctrl+right_square_bracket")
                await until(pilot, lambda: pane_of(app).state == "detached", "detached")
                await pilot.press("escape")
                await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "dashboard")
            await pilot.press("c")
            await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "consoles")
            screen_panes.append(pane_of(app))
            await until(pilot, lambda: pane_of(app).state == "attached", "attached", 20)
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        assert len(screen.panes) == 2
        assert screen_panes[0] is not screen_panes[1]
        await ask(pilot, screen_panes[1], "5*5", "25")
        # Ctrl+PageUp switches to the other tab even while this one is attached.
        await pilot.press("ctrl+pageup")
        await until(pilot, lambda: screen.active_pane() is screen_panes[0], "the first tab")
        await pilot.press("ctrl+right_square_bracket")


async def test_guest_destroyed_while_attached(testbed: Testbed, running: Guest) -> None:
    running.ensure_running()
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        await ask(pilot, pane, "3*3", "9")
        running.destroy()
        await until(pilot, lambda: pane.state == "detached", "the console to close", 20)
        assert "the VM stopped" in pane.status_text
        assert "the VM stopped" in pane.terminal.text()
        # Still responsive: reattaching says why it cannot, and escape leads back.
        await pilot.press("r")
        await until(pilot, lambda: "not running" in pane.status_text, "the refusal", 20)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        # The guest starts again; the same tab reattaches without leaving the app.
        running.ensure_running()
        select_row(app, running.name)
        await pilot.press("c")
        await until(pilot, lambda: pane.state == "attached", "reattached", 20)
        await ask(pilot, pane, "4*4", "16")


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {needle!r} in {bytes(seen[-500:])!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                raise AssertionError(f"pty closed before {needle!r}: {bytes(seen)!r}") from None


def test_tvirt_console_command_in_a_pty(testbed: Testbed, running: Guest) -> None:
    running.ensure_running()
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen(
        [TVIRT, "-c", testbed.qemu_uri, "console", running.name],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
    )
    seen = bytearray()
    try:
        _read_until(master, b"Escape key: Ctrl+]", seen)
        # A guest still printing boot messages may scramble the first try: retry a little.
        for attempt in range(4):
            os.write(master, b"\recho $((6*7))\r")
            try:
                _read_until(master, b"\r\n42\r\n", seen, 20 if attempt == 3 else 5)
                break
            except AssertionError:
                if attempt == 3:
                    raise
        # Raw mode while attached: no local echo from the pty; the guest echoes.
        assert not termios.tcgetattr(slave)[3] & termios.ECHO
        assert b"\x1b[?1049h" not in seen  # no alternate screen
        os.write(master, b"\x1d")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        after = termios.tcgetattr(slave)
        os.close(master)
        os.close(slave)
    assert after[3] == before[3], "the terminal's local modes were not restored"


def test_tvirt_console_line_mode_without_a_tty(testbed: Testbed, running: Guest) -> None:
    running.ensure_running()
    done = subprocess.run(
        [TVIRT, "-c", testbed.qemu_uri, "console", running.name],
        input=b"echo $((9*9))\n", capture_output=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert b"81" in done.stdout.split(), done.stdout
    # Not a terminal: plain lines, without the shell's ESC[6n or carriage returns.
    assert b"\x1b" not in done.stdout and b"\r" not in done.stdout


def test_tvirt_console_says_when_the_vm_stops(testbed: Testbed, running: Guest) -> None:
    running.ensure_running()
    proc = subprocess.Popen(
        [TVIRT, "-c", testbed.qemu_uri, "console", running.name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert b"Connected to the console" in first, first
        running.destroy()
        assert proc.wait(timeout=20) == 1
        assert b"the VM stopped" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_tvirt_console_busy_needs_force(testbed: Testbed, running: Guest) -> None:
    running.ensure_running()
    other = libvirt.open(testbed.qemu_uri)
    stream = other.newStream(0)
    other.lookupByName(running.name).openConsole(None, stream, 0)
    try:
        done = subprocess.run(
            [TVIRT, "-c", testbed.qemu_uri, "console", running.name],
            input=b"", capture_output=True, timeout=30,
        )
        assert done.returncode == 1
        assert b"Another client" in done.stderr and b"--force" in done.stderr
        done = subprocess.run(
            [TVIRT, "-c", testbed.qemu_uri, "console", "--force", running.name],
            input=b"echo $((2*21))\n", capture_output=True, timeout=30,
        )
        assert done.returncode == 0, done.stderr
        assert b"42" in done.stdout.split()
    finally:
        try:
            stream.abort()
        except libvirt.libvirtError:
            pass
        other.close()


@pytest.fixture(scope="module")
def vnc_guest(testbed: Testbed) -> Iterator[str]:
    """A second guest like the first, with a VNC display (TCG draws its VGA text screen)."""
    name = f"tvirt-test-vnc-{os.getpid()}"
    xml = guest_xml(name, testbed.guest_kernel, testbed.guest_initrd).replace(
        "<devices>",
        "<devices><graphics type='vnc' autoport='yes' listen='127.0.0.1'/>"
        "<video><model type='vga'/></video>",
    )
    conn = libvirt.open(testbed.qemu_uri)
    dom = conn.defineXML(xml)
    dom.create()
    try:
        yield name
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        conn.close()


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_graphical_display_address_tunnel_and_screenshot(
    where: str, testbed: Testbed, vnc_guest: str
) -> None:
    uri = testbed.qemu_uri if where == "local" else testbed.ssh_uri
    app = TvirtApp(uris=[uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, vnc_guest)
        display = pane.query_one(f"#{pane.id}-display", Static)

        def shown() -> str:
            return str(display.render())

        await until(pilot, lambda: "VNC display" in shown(), "the display line", 20)
        assert "127.0.0.1 port 59" in shown()
        if where == "ssh":
            assert "ssh -N -L 59" in shown() and f"-p {testbed.ssh_port} root@127.0.0.1" in shown()
        else:
            assert "ssh -N" not in shown()
        # Attached, g goes to the guest: the line says to detach first, never "Detached".
        assert pane.state == "attached" and "Detached" not in shown()
        assert "detach (Ctrl+]) and press g" in shown(), shown()
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: pane.state == "detached", "detached")
        assert "g shows a screenshot" in shown(), shown()
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ScreenshotScreen), "the screenshot", 20)
        shot = app.screen
        assert isinstance(shot, ScreenshotScreen)
        assert shot.picture.width >= 320 and shot.picture.height >= 200
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "back to the consoles")
