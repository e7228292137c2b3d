"""One progress protocol for every long operation: uploads, downloads, wipes, migrations.

An operation reports to one callback (``Report``) with four kinds of event, in this order:
``Started`` once, ``Advanced`` any number of times, then ``Finished`` (the outcome in one
sentence) or ``Cancelled``; a refusal or failure raises instead. The words of a progress
line are made here, once, so the terminal (``tvirt.cli.progress_term``) and the app
(``tvirt.screens.progress``) say the same.
An operation that can stop between steps takes a ``CancelToken``. No textual, no libvirt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tvirt.sizes import format_size

Unit = Literal["bytes", "percent"]


@dataclass(frozen=True)
class Started:
    what: str  # the subject a line starts with: a volume, a device, a VM
    verb: str  # the past participle for the work done so far: "uploaded", "zeroed"
    total: int | None = None  # bytes, when known


@dataclass(frozen=True)
class Advanced:
    done: int  # bytes, or whole percent (0..100)
    total: int | None = None  # bytes; None when unknown (and for percent)
    unit: Unit = "bytes"
    detail: str = ""  # a few words more, such as "160 MiB to go"
    elapsed: float = 0.0  # seconds since the start, on the operation's own clock

    @property
    def fraction(self) -> float | None:
        """How much is done, 0..1; None when nobody knows yet."""
        if self.unit == "percent":
            return min(max(self.done / 100.0, 0.0), 1.0)
        if not self.total:
            return None
        return min(self.done / self.total, 1.0)

    @property
    def rate(self) -> float | None:
        """Bytes per second since the start; None for percent, before the first byte or
        without elapsed time."""
        if self.unit != "bytes" or self.done <= 0 or self.elapsed <= 0:
            return None
        return self.done / self.elapsed

    @property
    def complete(self) -> bool:
        return self.fraction == 1.0


@dataclass(frozen=True)
class Finished:
    outcome: str  # one sentence


@dataclass(frozen=True)
class Cancelled:
    sentence: str  # what was stopped, and what was undone


Event = Started | Advanced | Finished | Cancelled
Report = Callable[[Event], object]


def ignore(_event: Event) -> None:
    """The report of an operation nobody watches."""


class CancelToken:
    """Asks an operation to stop at its next step; cancel() is safe from any thread."""

    def __init__(self) -> None:
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


def describe(verb: str, step: Advanced) -> str:
    """'uploaded 1 GiB of 8 GiB (12%), 100 MiB/s': the words after the subject."""
    if step.unit == "percent":
        words = f"{verb} {step.done}%"
    else:
        words = f"{verb} {format_size(step.done)}"
        if step.total is not None:
            words += f" of {format_size(step.total)}"
            if step.total:
                words += f" ({step.done / step.total:.0%})"
    rate = step.rate
    if rate is not None:
        words += f", {format_size(int(rate))}/s"
    if step.detail:
        words += f", {step.detail}"
    return words


def line(started: Started, step: Advanced) -> str:
    return f"{started.what}: {describe(started.verb, step)}"
