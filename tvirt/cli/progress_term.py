"""The terminal rendering of progress events: one line on stderr at most each second.

Front end of the plain commands (it belongs with them). Only ``Advanced`` prints: the
command itself prints the outcome (stdout, or JSON) or the refusal (an error line), so
``Started`` only names the subject and ``Finished``/``Cancelled`` print nothing here.
Lines are paced by the events' own elapsed time, never by a clock of this module.
"""

from __future__ import annotations

import sys
from typing import TextIO

from tvirt import progress

# Seconds between two lines, less a little: dd reports about each second, and its jitter
# must not drop every other line.
EVERY = 0.9


class TerminalProgress:
    """A progress.Report for one operation: ``SUBJECT: uploaded 1 GiB of 8 GiB (12%), ...``."""

    def __init__(self, *, quiet: bool = False, out: TextIO | None = None) -> None:
        self.quiet = quiet  # --json: the machine reader wants only the result
        self.out = out
        self.started = progress.Started("", "done")
        self._last = 0.0

    def __call__(self, event: progress.Event) -> None:
        if isinstance(event, progress.Started):
            self.started, self._last = event, 0.0
        elif isinstance(event, progress.Advanced) and not self.quiet:
            if event.elapsed - self._last >= EVERY or event.complete:
                self._last = event.elapsed
                print(progress.line(self.started, event), file=self.out or sys.stderr, flush=True)
