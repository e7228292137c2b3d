"""The terminal driver (screens/driver.py): a lone Escape is handed on when ESCDELAY is
over, not at the input thread's next 100 ms wake-up; every other key as before.

The parser is Textual's own; its clock is a fake one, so nothing here is timed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pty_term import Terminal
from textual import _parser, constants, events
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from conftest import tvirt_bin
from tvirt.screens.app import TvirtApp
from tvirt.screens.driver import IDLE_WAIT, PromptDriver, wait_for

FIXTURE = Path(__file__).parent / "fixtures" / "lab.xml"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(_parser, "get_time", fake)
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.01)  # ESCDELAY=10
    return fake


def keys(found: object) -> list[str]:
    assert isinstance(found, list)
    return [event.key for event in found if isinstance(event, events.Key)]


def test_a_lone_escape_is_due_after_escdelay(clock: Clock) -> None:
    parser = XTermParser()
    assert wait_for(parser, clock.now) == IDLE_WAIT  # nothing pending: sleep long
    assert keys(list(parser.feed("\x1b"))) == []  # maybe a sequence's start: wait
    assert wait_for(parser, clock.now) == pytest.approx(0.01)  # only until ESCDELAY
    clock.now += 0.004
    assert wait_for(parser, clock.now) == pytest.approx(0.006)
    assert keys(list(parser.tick())) == []
    clock.now += 0.006
    assert wait_for(parser, clock.now) == 0.0
    assert keys(list(parser.tick())) == ["escape"]
    assert wait_for(parser, clock.now) == IDLE_WAIT


def test_a_whole_sequence_leaves_nothing_pending(clock: Clock) -> None:
    parser = XTermParser()
    assert keys(list(parser.feed("\x1b[Aq"))) == ["up", "q"]
    assert wait_for(parser, clock.now) == IDLE_WAIT


def test_the_app_uses_the_prompt_driver_in_a_terminal() -> None:
    driver = TvirtApp(uris=["test:///default"]).get_driver_class()
    assert driver is PromptDriver
    assert issubclass(driver, LinuxDriver)


def test_keys_through_the_driver_in_a_real_terminal(tmp_path: Path) -> None:
    """Arrows, letters, Escape out of the filter and out of the consoles, then q."""
    term = Terminal([tvirt_bin(), "-c", f"test://{FIXTURE}"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml"), "ESCDELAY": "10"})
    try:
        term.wait_for(lambda: "web02" in term.text(), what="the VM list")
        term.press("/", "w", "e", "b", "0", "2")
        term.wait_for(lambda: "Showing 1 of" in term.text(), what="the filter applied")
        term.press("escape", "down", "c")  # Escape hands the keys back to the table
        term.wait_for(lambda: "back to the dashboard" in term.text(), what="the consoles")
        term.press("escape")
        term.wait_for(lambda: "Virtual machines" in term.text(), what="the dashboard")
        term.press("q")
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.close()
