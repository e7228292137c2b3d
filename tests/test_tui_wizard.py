"""The wizard framework itself (screens/wizard.py), on a small wizard built here: Enter
advances, a refusal keeps the input, back returns, Escape leaves, the run phase's progress
shows, and undo runs the core's undo."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, ProgressBar, Static

from tui_helpers import until
from tvirt import progress
from tvirt.errors import TvirtError
from tvirt.keys import WIZARD_KEYS
from tvirt.screens.base import TvirtScreen
from tvirt.screens.form import ERROR_ID, form_bindings
from tvirt.screens.progress import ProgressEvent, ProgressPanel
from tvirt.screens.wizard import Wizard

TITLES = ("name", "size", "summary")
POOL = ThreadPoolExecutor(max_workers=1)


class Tiny(Wizard, TvirtScreen[str]):
    """Two fields on two steps, then a run that reports progress and can fail."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *form_bindings("advance", "back", "cancel"),
        *(Binding(k.key, k.action) for k in WIZARD_KEYS if k.action == "undo"),
    ]
    what = "New thing"

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.ran: list[str] = []
        self.undone = 0
        self.result = ""
        self.name_given = ""

    def compose(self) -> ComposeResult:
        yield Static(id="wizard-step")
        yield Input(id="name")
        yield Input(id="size")
        yield Static(id=ERROR_ID)
        yield self.make_panel()

    def make_panel(self) -> ProgressPanel:
        return ProgressPanel(id="progress")

    def on_mount(self) -> None:
        self.go_to(0)

    def step_titles(self) -> Sequence[str]:
        return TITLES

    def show_page(self) -> None:
        self.query_one("#name").display = self.step == 0
        self.query_one("#size").display = self.step == 1
        self.focus_first()

    async def check_page(self) -> tuple[str, Widget | None] | None:
        field = self.query_one("#name" if self.step == 0 else "#size", Input)
        if self.step < 2 and not field.value.strip().isalnum():
            return f"Not accepted: {field.value!r} is not a word.", field
        if self.step == 0:
            self.name_given = field.value
        return None

    def run_job(self, report: progress.Report) -> Future[str]:
        def job() -> str:
            report(progress.Started("the thing", "made", 4))
            report(progress.Advanced(3, 4, "bytes"))
            self.ran.append(self.name_given)
            if self.fail:
                raise TvirtError("The second half failed.")
            return "made"

        return POOL.submit(job)  # off the event loop, as an operation of tvirt/ops runs

    def can_undo(self) -> bool:
        return bool(self.ran)

    def undo_job(self) -> Future[str]:
        def job() -> str:
            self.undone += 1
            return "undone"

        return POOL.submit(job)

    def show_result(self, result: object, error: str) -> None:
        self.result = error or str(result)
        self.say(self.result)

    def show_undone(self, result: object, error: str) -> None:
        self.result = str(result)


class Host(App[None]):
    def __init__(self, wizard: Tiny) -> None:
        super().__init__()
        self.wizard = wizard

    def on_mount(self) -> None:
        self.push_screen(self.wizard)


def line(wiz: Tiny) -> str:
    return str(wiz.query_one("#wizard-step", Static).render())


def said(wiz: Tiny) -> str:
    return str(wiz.query_one(f"#{ERROR_ID}", Static).render())


async def opened(pilot: Pilot[None], wiz: Tiny) -> None:
    await until(pilot, lambda: wiz.is_mounted and line(wiz) != "", "the wizard")


async def test_enter_advances_and_refusal_keeps_the_input() -> None:
    wiz = Tiny()
    async with Host(wiz).run_test() as pilot:
        await opened(pilot, wiz)
        assert line(wiz) == "New thing, step 1 of 3: name"
        assert wiz.focused is wiz.query_one("#name")
        await pilot.press("a", "space", "b", "enter")
        await until(pilot, lambda: wiz.attempts == 1, "the check")
        assert wiz.step == 0 and said(wiz) == "Not accepted: 'a b' is not a word."
        assert wiz.query_one("#name", Input).value == "a b"
        await pilot.press("backspace", "backspace", "enter")
        await until(pilot, lambda: wiz.step == 1, "step 2")
        assert line(wiz) == "New thing, step 2 of 3: size"
        assert said(wiz) == "" and wiz.focused is wiz.query_one("#size")


async def test_back_keeps_answers_and_escape_leaves() -> None:
    wiz = Tiny()
    async with Host(wiz).run_test() as pilot:
        await opened(pilot, wiz)
        await pilot.press("a", "enter")
        await until(pilot, lambda: wiz.step == 1, "step 2")
        await pilot.press("ctrl+b")
        await until(pilot, lambda: wiz.step == 0, "back to step 1")
        assert line(wiz) == "New thing, step 1 of 3: name"
        assert wiz.query_one("#name", Input).value == "a"
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is not wiz, "the wizard gone")


async def test_run_shows_progress_and_the_result() -> None:
    wiz = Tiny()
    async with Host(wiz).run_test() as pilot:
        await opened(pilot, wiz)
        await pilot.press("a", "enter", "b", "enter")
        await until(pilot, lambda: wiz.step == 2, "the summary")
        await pilot.press("enter")
        await until(pilot, lambda: wiz.result == "made", "the result")
        assert wiz.ran == ["a"] and not wiz.running
        assert wiz.query_one("#progress-bar", ProgressBar).progress == 75
        assert said(wiz) == "made"


async def test_failed_run_says_why_and_undo_runs() -> None:
    wiz = Tiny(fail=True)
    async with Host(wiz).run_test() as pilot:
        await opened(pilot, wiz)
        await pilot.press("a", "enter", "b", "enter", "enter")
        await until(pilot, lambda: wiz.result != "", "the failure")
        assert wiz.result == "The second half failed." and said(wiz) == wiz.result
        await pilot.press("U")
        await until(pilot, lambda: wiz.result == "undone", "the undo")
        assert wiz.undone == 1


async def test_nothing_to_undo_before_a_run() -> None:
    wiz = Tiny()
    async with Host(wiz).run_test() as pilot:
        await opened(pilot, wiz)
        await pilot.press("ctrl+b")  # nothing before step 1: it stays
        assert wiz.step == 0
        wiz.action_undo()
        assert wiz.undone == 0 and said(wiz) == Tiny.NOTHING_TO_UNDO


class CountingPanel(ProgressPanel):
    """Counts the events it was handed, so the run's thread can wait for each to land."""

    def __init__(self, counts: Counts) -> None:
        super().__init__(id="progress")
        self.counts = counts

    def show(self, event: progress.Event) -> None:
        super().show(event)
        words = str(self.query_one("#progress-text", Static).render()).strip()
        lines = self.counts.lines
        if words and (not lines or lines[-1] != words):
            lines.append(words)
        with self.counts.landed:
            self.counts.shown += 1
            self.counts.landed.notify_all()


class Counts:
    def __init__(self) -> None:
        self.landed = threading.Condition()
        self.posted = 0
        self.shown = 0
        self.lines: list[str] = []  # each change of the panel's line

    def caught_up(self) -> None:
        """Wait until every event posted so far has reached the panel (so the next one
        is asked about with the panel's line as it is): no race decides the count."""
        with self.landed:
            assert self.landed.wait_for(lambda: self.shown == self.posted, 30)


class Ticking(Tiny):
    """A run reporting a 12 s operation, one Advanced event a second of its own clock."""

    def __init__(self) -> None:
        super().__init__()
        self.counts = Counts()

    def make_panel(self) -> ProgressPanel:
        return CountingPanel(self.counts)

    def post_message(self, message: Message) -> bool:
        if isinstance(message, ProgressEvent):
            with self.counts.landed:
                self.counts.posted += 1
        return super().post_message(message)

    def run_job(self, report: progress.Report) -> Future[str]:
        def job() -> str:
            report(progress.Started("the thing", "made", 12))
            self.counts.caught_up()
            for second in range(12):
                report(progress.Advanced(second + 1, 12, "bytes", elapsed=float(second)))
                self.counts.caught_up()
            return "made"

        return POOL.submit(job)


class ReaderHost(Host):
    screen_reader = True


async def run_ticking(host: type[Host]) -> Ticking:
    wiz = Ticking()
    async with host(wiz).run_test() as pilot:
        await opened(pilot, wiz)
        await pilot.press("a", "enter", "b", "enter", "enter")
        await until(pilot, lambda: wiz.result == "made", "the result")
    return wiz


async def test_screen_reader_run_posts_only_the_progress_its_line_shows() -> None:
    """Screen-reader mode: the line changes at most every SPOKEN_EVERY (5 s) of the
    operation's clock, so of twelve Advanced events a second only those at 0, 5 and 10 s
    are posted to the UI (with Started); the others are dropped on the run's thread."""
    wiz = await run_ticking(ReaderHost)
    assert wiz.counts.posted == 4 and wiz.counts.shown == 4, wiz.counts.posted
    assert wiz.counts.lines == [
        "the thing: made 1 B of 12 B (8 percent).",
        "the thing: made 6 B of 12 B (50 percent), 1 B/s.",
        "the thing: made 11 B of 12 B (92 percent), 1 B/s.",
    ]


async def test_without_the_mode_every_progress_event_is_posted() -> None:
    wiz = await run_ticking(Host)
    assert wiz.counts.posted == 13 and wiz.counts.shown == 13
    assert wiz.counts.lines[-1] == "the thing: made 12 B of 12 B (100%), 1 B/s."


class Checking(Tiny):
    """A check that says what it does while it waits, as the new-VM wizard's file check."""

    async def check_page(self) -> tuple[str, Widget | None] | None:
        self.refuse("Checking the thing...")
        return await super().check_page()


async def test_screen_reader_page_said_during_a_check_goes_once_it_passes() -> None:
    wiz = Checking()
    async with ReaderHost(wiz).run_test() as pilot:
        await opened(pilot, wiz)
        await pilot.press("a", "space", "b", "enter")
        await until(pilot, lambda: wiz.attempts == 1, "the check")
        # Refused: the refusal replaced the check's sentence, one page over the wizard.
        assert len(pilot.app.screen_stack) == 3 and wiz.step == 0
        await pilot.press("x", "backspace", "backspace", "enter")
        await until(pilot, lambda: wiz.attempts == 2, "the second check")
        await until(pilot, lambda: wiz.step == 1, "step 2")
        assert pilot.app.screen is wiz and wiz.focused is wiz.query_one("#size")
