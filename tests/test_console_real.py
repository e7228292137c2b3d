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
from pathlib import Path
from typing import cast

import libvirt
import psutil
import pytest
from test_tui_dashboard import SIZE, table, until
from test_tui_dashboard import select as select_row
from textual.widgets import Static

from conftest import Testbed, guest_xml, tvirt_bin, wait_for
from tvirt import config
from tvirt.console import ConsoleBusy, ConsoleError, ConsoleSession, escape_key_name
from tvirt.manager import HostManager
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.console import (
    ConsolePane,
    ConsoleScreen,
    transcript_dir,
)
from tvirt.screens.dashboard import DashboardScreen
from tvirt.screens.dialogs import ConfirmDialog
from tvirt.screens.display import DisplayScreen

pytestmark = pytest.mark.real

TVIRT = tvirt_bin()


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
    # The tab is added once the screen's tab list is composed (later on a loaded machine).
    await until(pilot, lambda: cast(ConsoleScreen, app.screen).active_pane() is not None,
                "the console tab")
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
        # Leave the console free for the next test: the ssh tab lets go of it before the
        # app ends (an app ending in this process may close its ssh connection late, and
        # libvirt then calls the console busy for minutes).
        for pane in screen_panes:
            if pane.state == "attached":
                pane.detach()
        await until(pilot, lambda: all(p.state == "detached" for p in screen_panes),
                    "both tabs detached")


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


def _ask_pty(fd: int, line: bytes, answer: bytes, seen: bytearray) -> None:
    """Write line and wait for answer; retried like ask() for a guest still booting."""
    for attempt in range(4):
        os.write(fd, line)
        try:
            _read_until(fd, answer, seen, 20 if attempt == 3 else 5)
            return
        except AssertionError:
            if attempt == 3:
                raise


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
        _ask_pty(master, b"\recho $((6*7))\r", b"\r\n42\r\n", seen)
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


async def detach(pilot, pane: ConsolePane) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(escape_key_name(pane.escape))
    await until(pilot, lambda: pane.state == "detached", "detached")


async def test_detached_keys_save_send_ctrl_alt_del_and_close(
    testbed: Testbed, running: Guest
) -> None:
    running.ensure_running()
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        await ask(pilot, pane, "6*7", "42")
        # With the sysctl at 0 the guest kernel does not reboot on Ctrl+Alt+Del (the shared
        # guest stays up); its input layer still sees the keys, recorded from the keyboard.
        await type_line(pilot, "echo 0 > /proc/sys/kernel/ctrl-alt-del; "
                               "cat /dev/input/event0 > /tmp/keys &")
        await detach(pilot, pane)

        # s: the transcript (history and screen) goes to a file the message names.
        await pilot.press("s")
        await until(pilot, lambda: any("Saved the console transcript" in m
                                       for m in app.messages), "the saved message")
        said = next(m for m in app.messages if "Saved the console transcript" in m)
        path = Path(said.rpartition(" to ")[2].rstrip("."))
        assert path.parent == transcript_dir() and running.name in path.name
        saved = path.read_text().splitlines()
        assert "42" in [line.strip() for line in saved]
        assert any("echo $((6*7))" in line for line in saved)

        # k: Ctrl+Alt+Del through sendKey; the guest's keyboard saw Ctrl, Alt and Delete
        # pressed (Linux key codes 29, 56, 111), read back from its input events.
        await pilot.press("k")
        await until(pilot, lambda: any(m.startswith(f"Sent Ctrl+Alt+Del to {running.name}")
                                       for m in app.messages), "the Ctrl+Alt+Del result")
        await pilot.press("r")
        await until(pilot, lambda: pane.state == "attached", "reattached", 20)
        await type_line(pilot, "kill $!; od -An -tu2 -w24 /tmp/keys | "
                               "awk '$9 == 1 && $11 == 1 {printf \"%s,\", $10} END {print \"\"}'")
        await until(pilot, lambda: "29,56,111," in lines(pane), "the keys in the guest", 20)
        await detach(pilot, pane)

        # x: the tab closes; the last one closing leads back to the dashboard. c opens a
        # fresh tab that attaches again.
        screen = app.screen
        assert isinstance(screen, ConsoleScreen)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen), "the dashboard")
        assert screen.panes == {} and pane not in screen.query(ConsolePane)
        select_row(app, running.name)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "the consoles")
        fresh = pane_of(app)
        assert fresh is not pane
        await until(pilot, lambda: fresh.state == "attached", "attached again", 20)
        await ask(pilot, fresh, "6*8", "48")
        await detach(pilot, fresh)


class OtherClient:
    """A plain libvirt client holding the console, reading until it is cut off."""

    def __init__(self, uri: str, name: str) -> None:
        self.conn = libvirt.open(uri)
        dom = self.conn.lookupByName(name)
        # A console just detached is released by a job on the host's thread: wait for it.
        deadline = time.monotonic() + 20
        while True:
            self.stream = self.conn.newStream(0)
            try:
                dom.openConsole(None, self.stream, 0)
                break
            except libvirt.libvirtError as exc:
                if "Active console session" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.seen = bytearray()
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                data = self.stream.recv(4096)
                if not isinstance(data, bytes) or not data:
                    break
                self.seen += data
        except libvirt.libvirtError:
            pass  # cut off
        self.ended.set()

    def close(self) -> None:
        try:
            self.stream.abort()
        except libvirt.libvirtError:
            pass  # already cut off
        self.conn.close()


async def test_take_over_key_cuts_the_other_client_off(testbed: Testbed, running: Guest) -> None:
    running.ensure_running()
    app = TvirtApp(uris=[testbed.qemu_uri])
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        await detach(pilot, pane)
        other = OtherClient(testbed.qemu_uri, running.name)
        try:
            # T takes over at once, without the busy dialog r would show.
            await pilot.press("T")
            await until(pilot, lambda: pane.state == "attached", "taken over", 20)
            assert not isinstance(app.screen, ConfirmDialog)
            await until(pilot, other.ended.is_set, "the other client cut off", 20)
            await ask(pilot, pane, "9*9", "81")
        finally:
            other.close()
        await detach(pilot, pane)


@pytest.fixture
def escape_ctrl_a(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> config.Config:
    path = tmp_path / "config.toml"
    path.write_text('[console]\nescape = "ctrl+a"\n')
    monkeypatch.setenv("TVIRT_CONFIG", str(path))  # for tvirt console, run as a process
    return config.load(path)


async def test_custom_escape_key_in_the_app(
    testbed: Testbed, running: Guest, escape_ctrl_a: config.Config
) -> None:
    running.ensure_running()
    app = TvirtApp(uris=[testbed.qemu_uri], settings=escape_ctrl_a)
    async with app.run_test(size=SIZE) as pilot:
        pane = await open_console(pilot, app, running.name)
        assert "Ctrl+A detaches" in pane.status_text
        # Ctrl+] is now an ordinary key: it goes to the guest, and the console stays.
        await pilot.press("ctrl+right_square_bracket", "enter")
        await ask(pilot, pane, "5*9", "45")
        assert pane.state == "attached"
        await pilot.press("ctrl+a")
        await until(pilot, lambda: pane.state == "detached", "detached by Ctrl+A")
        assert "Detached" in pane.status_text


def test_custom_escape_key_in_tvirt_console(
    testbed: Testbed, running: Guest, escape_ctrl_a: config.Config
) -> None:
    running.ensure_running()
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [TVIRT, "-c", testbed.qemu_uri, "console", running.name],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
    )
    seen = bytearray()
    try:
        _read_until(master, b"Escape key: Ctrl+A", seen)
        # Ctrl+] goes to the guest like any key; the session goes on.
        _ask_pty(master, b"\x1d\recho $((3*5))\r", b"\r\n15\r\n", seen)
        assert proc.poll() is None
        os.write(master, b"\x01")
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)


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

        await until(pilot, lambda: "VNC display" in shown(), "the display line", 60)
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
        assert "g shows it live" in shown(), shown()
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, DisplayScreen), "the display", 20)
        live = app.screen
        assert isinstance(live, DisplayScreen)
        shown_pane = live.active_pane()
        assert shown_pane is not None
        await until(pilot, lambda: shown_pane.picture is not None, "a picture", 20)
        assert shown_pane.picture is not None
        assert shown_pane.picture.size[0] >= 320 and shown_pane.picture.size[1] >= 200
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConsoleScreen), "back to the consoles")


# -- ConsoleSession itself on the real guest: busy, stopped, connection lost ----------
class Talk:
    """A ConsoleSession on a host worker of its own, with what it received and why it
    closed; say() types a sum until the guest's answer comes back."""

    def __init__(self, uri: str, name: str) -> None:
        self.manager = HostManager(lambda _update: None, reconnect=False)
        self.worker = self.manager.add(uri)
        wait_for(lambda: self.worker.info.state is HostState.CONNECTED, 60, f"{uri} to connect")
        uuid = self.worker.call(lambda c: c.lookupByName(name).UUIDString()).result(30)
        self.out = bytearray()
        self.closed: list[str] = []
        self.session = ConsoleSession(self.worker, uuid, name, self.worker.uri.label,
                                      self.out.extend, self.closed.append)

    def say(self, a: int, b: int, timeout: float = 60) -> None:
        """A guest still booting may miss the first tries: repeat every few seconds."""
        answer = f"\r\n{a * b}\r\n".encode()
        deadline = time.monotonic() + timeout
        while answer not in self.out:
            assert time.monotonic() < deadline, f"no {a * b} in {bytes(self.out[-500:])!r}"
            assert self.session.send(f"\recho $(({a}*{b}))\r".encode())
            try:
                wait_for(lambda: answer in self.out, 5)
            except AssertionError:
                continue

    def stop(self) -> None:
        self.session.close().exception(10)
        self.manager.stop()


def test_session_busy_needs_force_and_force_cuts_the_other_off(
    testbed: Testbed, running: Guest
) -> None:
    running.ensure_running()
    talk = Talk(testbed.qemu_uri, running.name)
    other = OtherClient(testbed.qemu_uri, running.name)
    try:
        with pytest.raises(ConsoleBusy, match="Another client is attached"):
            talk.session.open().result(30)
        assert not talk.session.attached
        # The refusal took nothing over: the other client still talks to the guest.
        other.stream.send(b"\recho $((4*5))\r")
        wait_for(lambda: b"\r\n20\r\n" in other.seen, 20, "the other client's answer")
        assert not other.ended.is_set()
        talk.session.open(force=True).result(30)
        assert talk.session.attached
        wait_for(other.ended.is_set, 20, "the other client cut off")
        talk.say(6, 6)
        assert talk.closed == []
    finally:
        other.close()
        talk.stop()


def _ssh_children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.name() == "ssh"}


def test_session_reports_a_lost_connection(testbed: Testbed, running: Guest) -> None:
    """The ssh process carrying the connection is killed under an attached console."""
    running.ensure_running()
    before = _ssh_children()
    talk = Talk(testbed.ssh_uri, running.name)
    try:
        (ssh,) = _ssh_children() - before
        talk.session.open().result(30)
        talk.say(3, 7)
        psutil.Process(ssh).kill()
        wait_for(lambda: talk.closed, 30, "the console to close")
        assert len(talk.closed) == 1
        assert talk.closed[0].startswith(f"The console of {running.name} closed: the "
                                         f"connection to {talk.worker.uri.label} was lost")
        assert not talk.session.attached
        assert not talk.session.send(b"x")  # nothing is queued for a closed console
    finally:
        talk.stop()


def test_session_says_the_vm_stopped_and_will_not_open_a_shut_off_one(
    testbed: Testbed, vnc_guest: str
) -> None:
    """On the VNC guest, the module's last user: destroying it costs no extra boot."""
    talk = Talk(testbed.qemu_uri, vnc_guest)
    try:
        talk.session.open().result(30)
        talk.say(7, 6, 120)
        talk.worker.call(lambda c: c.lookupByName(vnc_guest).destroy()).result(30)
        wait_for(lambda: talk.closed, 30, "the console to close")
        assert talk.closed == [f"The console of {vnc_guest} closed: the VM stopped."]
        assert not talk.session.attached
        with pytest.raises(ConsoleError, match=f"{vnc_guest} is not running"):
            talk.session.open().result(30)
        assert talk.closed == [f"The console of {vnc_guest} closed: the VM stopped."]
    finally:
        talk.stop()
