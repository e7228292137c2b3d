"""Console pieces that need no guest: key encoding, the escape key, the emulator, displays."""

from __future__ import annotations

from pathlib import Path

import pytest

from tvirt import config
from tvirt.console import (
    escape_byte,
    escape_key_name,
    escape_label,
    graphics_of,
    has_serial_console,
)
from tvirt.screens.terminal import TerminalView, encode_key


@pytest.mark.parametrize(
    ("key", "char", "expected"),
    [
        ("enter", "\r", b"\r"),
        ("a", "a", b"a"),
        ("A", "A", b"A"),
        ("dollar_sign", "$", b"$"),
        ("space", " ", b" "),
        ("backspace", "\x7f", b"\x7f"),
        ("tab", "\t", b"\t"),
        ("escape", "\x1b", b"\x1b"),
        ("up", None, b"\x1b[A"),
        ("left", None, b"\x1b[D"),
        ("home", None, b"\x1b[H"),
        ("end", None, b"\x1b[F"),
        ("delete", None, b"\x1b[3~"),
        ("pageup", None, b"\x1b[5~"),
        ("f1", None, b"\x1bOP"),
        ("f5", None, b"\x1b[15~"),
        ("f12", None, b"\x1b[24~"),
        ("ctrl+c", None, b"\x03"),
        ("ctrl+d", None, b"\x04"),
        ("ctrl+up", None, b"\x1b[1;5A"),
        ("shift+tab", None, b"\x1b[Z"),
        ("alt+x", "x", b"\x1bx"),
        ("eacute", "é", "é".encode()),
    ],
)
def test_keys_become_the_bytes_a_terminal_sends(key: str, char: str | None,
                                                expected: bytes) -> None:
    assert encode_key(key, char) == expected


def test_application_cursor_mode_changes_the_arrows() -> None:
    assert encode_key("up", None, app_cursor=True) == b"\x1bOA"


@pytest.mark.parametrize(
    ("spec", "byte", "name", "label"),
    [
        ("ctrl+]", b"\x1d", "ctrl+right_square_bracket", "Ctrl+]"),
        ("ctrl+a", b"\x01", "ctrl+a", "Ctrl+A"),
        ("ctrl+\\", b"\x1c", "ctrl+backslash", "Ctrl+\\"),
        ("ctrl+_", b"\x1f", "ctrl+underscore", "Ctrl+_"),
    ],
)
def test_escape_key_forms(spec: str, byte: bytes, name: str, label: str) -> None:
    assert config.valid_escape(spec)
    assert escape_byte(spec) == byte
    assert escape_key_name(spec) == name
    assert escape_label(spec) == label


def test_config_escape_is_read_validated_and_saved(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[console]\nescape = "ctrl+a"\n')
    cfg = config.load(path)
    assert cfg.console_escape == "ctrl+a"
    config.save(cfg, path)
    assert config.load(path).console_escape == "ctrl+a"
    assert config.load(tmp_path / "missing.toml").console_escape == "ctrl+]"
    for bad in ("ctrl+[", "alt+x", "]", "ctrl+ab"):
        path.write_text(f'[console]\nescape = "{bad}"\n')
        with pytest.raises(config.ConfigError, match=r"console\.escape"):
            config.load(path)


def test_the_emulator_answers_cursor_queries_only_while_attached() -> None:
    sent: list[bytes] = []
    view = TerminalView(lambda data: sent.append(data) is None, "ctrl+right_square_bracket")
    view.term.resize(lines=5, columns=20)
    view.stream.feed(b"ab\x1b[6n")
    assert sent == []
    view.attached = True
    view.stream.feed(b"\r\n\x1b[6n")
    assert sent == [b"\x1b[2;1R"]


def test_the_emulator_keeps_colours_cursor_moves_and_scrollback() -> None:
    view = TerminalView(lambda _d: True, "ctrl+right_square_bracket")
    view.term.resize(lines=3, columns=20)
    view.stream.feed(b"\x1b[31mred\x1b[0m plain\r\n")
    first = view.term.buffer[0]
    assert first[0].fg == "red" and first[4].fg == "default"
    view.stream.feed(b"\x1b[1;10Hx")  # cursor movement: row 1, column 10
    assert view.term.display[0][9] == "x"
    for i in range(10):
        view.stream.feed(f"line {i}\r\n".encode())
    text = view.transcript()
    assert "red plain" in text and "line 0" in text and "line 9" in text


def test_graphics_are_described_with_an_ssh_tunnel() -> None:
    xml = """<domain><devices>
      <graphics type='vnc' port='5901' autoport='yes' listen='127.0.0.1'>
        <listen type='address' address='127.0.0.1'/></graphics>
      <serial type='pty'/></devices></domain>"""
    (vnc,) = graphics_of(xml)
    assert (vnc.kind, vnc.port, vnc.listen) == ("vnc", 5901, "127.0.0.1")
    text = vnc.describe("-p 2222 root@server")
    assert "VNC display on 127.0.0.1 port 5901 (VNC display :1)" in text
    assert "ssh -N -L 5901:localhost:5901 -p 2222 root@server" in text
    assert "port" in vnc.describe("") and "ssh" not in vnc.describe("")
    assert has_serial_console(xml)
    assert graphics_of("<domain><devices/></domain>") == []


async def test_the_widget_sends_keys_the_app_would_otherwise_take() -> None:
    """Tab, Ctrl+C, q and friends reach the guest while attached; the escape key does not."""
    from textual.app import App, ComposeResult

    sent: list[bytes] = []
    escapes: list[bool] = []

    class Host(App[None]):
        BINDINGS = [("q", "quit", "Quit")]

        def compose(self) -> ComposeResult:
            yield TerminalView(lambda data: sent.append(data) is None,
                               "ctrl+right_square_bracket")

        def on_terminal_view_escape_pressed(self) -> None:
            escapes.append(True)

    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.focus()
        await pilot.press("a")
        assert sent == []  # not attached: nothing is sent
        view.attached = True
        await pilot.press("tab", "ctrl+c", "q", "up", "escape", "enter", "f2")
        assert sent == [b"\t", b"\x03", b"q", b"\x1b[A", b"\x1b", b"\r", b"\x1bOQ"]
        assert app.is_running  # q went to the guest, not to the app
        await pilot.press("ctrl+right_square_bracket")
        await pilot.pause()
        assert escapes == [True]
        assert sent[-1] == b"\x1bOQ"  # the escape key itself is never sent


# -- ConsoleSession against a fake stream --------------------------------------------
# Busy consoles, a VM that stops and a lost connection are tested on the real guest
# (test_console_real.py). What stays here is the one path a real stream cannot be made to
# take on demand: send() returning -2 (try again) while the socket's buffer is full, and
# then taking the input in pieces.
class FakeStream:
    def __init__(self, send_results: list[int]) -> None:
        self.send_results = send_results
        self.sent: list[bytes] = []
        self.events: list[int] = []

    def eventAddCallback(self, events, cb, opaque):
        self.events.append(events)
        self.callback = cb

    def eventUpdateCallback(self, events):
        self.events.append(events)

    def send(self, data):
        result = self.send_results.pop(0) if self.send_results else len(data)
        if result > 0:
            self.sent.append(bytes(data[:result]))
        return result


class FakeDomain:
    def isActive(self):
        return True

    def openConsole(self, _dev, _stream, _flags):
        pass


class FakeConn:
    def __init__(self, stream: FakeStream) -> None:
        self.stream = stream

    def lookupByUUIDString(self, _uuid):
        return FakeDomain()

    def newStream(self, _flags):
        return self.stream


class FakeHost:
    """Runs each job at once, like a worker thread with an empty queue."""

    def __init__(self, conn: FakeConn) -> None:
        self.conn = conn

    def call(self, fn):
        from concurrent.futures import Future

        future: Future[object] = Future()
        try:
            future.set_result(fn(self.conn))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def on_drop(self, _fn):
        return lambda: None  # this fake connection never drops


def test_session_buffers_input_until_the_stream_takes_it() -> None:
    from tvirt.console import WRITABLE, ConsoleSession

    stream = FakeStream([-2, 2, 3])
    session = ConsoleSession(FakeHost(FakeConn(stream)), "uuid", "vm1", "host1",
                             lambda _data: None, lambda _reason: None)
    session.open().result()
    assert session.send(b"hello")
    assert stream.events[-1] & WRITABLE  # asked to be told when writable
    stream.callback(stream, WRITABLE, None)  # -2: nothing taken, keep the buffer
    assert stream.sent == []
    stream.callback(stream, WRITABLE, None)  # 2 bytes, then 3 bytes
    assert b"".join(stream.sent) == b"hello"
    assert not stream.events[-1] & WRITABLE  # buffer empty: no more writable events


async def test_screen_reader_mode_puts_the_terminal_cursor_on_the_guest_cursor() -> None:
    from textual.app import App, ComposeResult
    from textual.geometry import Offset

    class Host(App[None]):
        screen_reader = True

        def compose(self) -> ComposeResult:
            yield TerminalView(lambda _d: True, "ctrl+right_square_bracket")

    app = Host()
    async with app.run_test(size=(40, 10)) as pilot:
        view = app.query_one(TerminalView)
        view.attached = True
        view.focus()
        await pilot.pause()
        view.feed(b"ab\r\ncdef")
        assert app.cursor_position == Offset(view.content_region.x + 4, view.content_region.y + 1)
