"""The terminal driver: Textual's Linux driver, with Escape delivered when it is due.

A lone Escape byte may be the start of a key's sequence, so the key parser waits
ESCDELAY (100 ms unless set) for more bytes before it calls it the Escape key. Textual's
input thread only asks the parser whether that wait is over when its select times out,
every 100 ms, so a lone Escape reached the app ESCDELAY plus up to 100 ms late: with
ESCDELAY=10, Escape from the consoles took 100 ms before the dashboard started to
redraw (docs/performance.md, "Serial console under a flood"). This input loop sleeps
only until the parser's pending wait ends; with nothing pending it wakes as rarely as
Textual's.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder
from collections.abc import Callable

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

IDLE_WAIT = 0.1  # seconds between checks of the exit flag when no key is pending
READ_SIZE = 4096


def wait_for(parser: XTermParser, now: float) -> float:
    """How long the input thread may sleep: until the parser's pending Escape (or
    another timed read) is due, otherwise IDLE_WAIT."""
    # Textual keeps the deadline of a timed read here; no public API tells it.
    due: float | None = getattr(parser, "_timeout_time", None)
    if due is None:
        return IDLE_WAIT
    return min(IDLE_WAIT, max(0.0, due - now))


class PromptDriver(LinuxDriver):
    """LinuxDriver whose input thread wakes when a pending Escape is due."""

    def run_input_thread(self) -> None:
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        with selectors.DefaultSelector() as selector:
            selector.register(self.fileno, selectors.EVENT_READ)
            try:
                while not self.exit_event.is_set():
                    self._pass_on(parser, decode, selector.select(wait_for(parser, get_time())))
                # The bytes still waiting when the app ends, then the end of input.
                self._pass_on(parser, decode, selector.select(IDLE_WAIT), final=True)
            finally:
                try:
                    for _event in parser.feed(""):
                        pass
                except (EOFError, ParseError):
                    pass

    def _pass_on(
        self,
        parser: XTermParser,
        decode: Callable[..., str],
        ready: list[tuple[selectors.SelectorKey, int]],
        final: bool = False,
    ) -> None:
        """Parse what arrived, then whatever timed out, and hand each event on."""
        if ready:
            text = decode(os.read(self.fileno, READ_SIZE), final=final)
            if text:
                for event in parser.feed(text):
                    self.process_message(event)
        for event in parser.tick():
            self.process_message(event)
