"""The wizard framework itself (screens/wizard.py), on a small wizard built here: Enter
advances, a refusal keeps the input, back returns, Escape leaves, the run phase's progress
shows, and undo runs the core's undo."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, ProgressBar, Static

from tui_helpers import until
from tvirt import progress
from tvirt.errors import TvirtError
from tvirt.keys import WIZARD_KEYS
from tvirt.screens.base import TvirtScreen
from tvirt.screens.form import ERROR_ID, form_bindings
from tvirt.screens.progress import ProgressPanel
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
        yield ProgressPanel(id="progress")

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
