"""The one wizard framework: every wizard of tvirt (new volume, new pool, new VM, disk wipe,
bricks and volume) is a `Wizard`.

A wizard is a numbered list of steps. The step line says where the user is ("New volume,
step 2 of 7: name", form.step_words). Each step shows its page, with the first field
focused (form.FormMixin); Enter advances through the fields, and from the last one the
step's check runs: a refusal is one sentence, the input stays and the focus goes to the
field at fault; otherwise the next step shows. Back returns a step, keeping the answers.
The last step (a summary) finishes: either at once (`finish`), or by a run phase in a
tvirt/ops operation awaited (`run_job`), whose progress goes through the one progress protocol
(tvirt.progress, shown in a ProgressPanel), ending in `show_result`. Where the core can
undo what a failed run made (the brick plan), `undo_job` does it, again in a thread.

`FieldWizard` is the modal kind with one field per step (a text or a list of choices) and
a summary showing the XML that goes to libvirt: the volume and pool wizards.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tvirt import progress
from tvirt.errors import TvirtError, explain
from tvirt.sizes import SizeError

from .base import TvirtModal, drop_read_outs
from .dialogs import quit_bindings
from .form import ERROR_ID, Choice, FormMixin, form_bindings, step_words
from .progress import ProgressEvent, ProgressPanel
from .reader import read_out

R = TypeVar("R")
XML_TITLE = "The XML that goes to libvirt"


class RunFinished(Message):
    """The run phase (or its undo) ended: the core's result, or the sentence of its failure."""

    def __init__(self, result: object, error: str = "", *, undo: bool = False) -> None:
        super().__init__()
        self.result, self.error, self.undo = result, error, undo


# The screen a wizard is, for the type checker. At run time the mixin has no DOM base:
# Textual inherits CSS along the first DOM base only, which must stay the wizard's own
# screen class (a modal's background, say).
if TYPE_CHECKING:
    _Screen = Screen[Any]
else:
    _Screen = object


class Wizard(FormMixin, _Screen):
    """The behaviour of every wizard, mixed in before a TvirtScreen or TvirtModal.

    A subclass names its steps (`step_titles`), shows a step's page (`show_page`), checks
    it (`check_page`) and finishes (`finish`, or a run phase: `run_job` and `show_result`).
    """

    STEP_LINE: ClassVar[str] = "wizard-step"  # the Static that holds the step line
    MESSAGE: ClassVar[str] = ERROR_ID  # the Static for refusals and news
    NOTHING_TO_UNDO: ClassVar[str] = "There is nothing to undo: no run has failed."
    what = "wizard"  # the words before ", step 2 of 7"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step = 0
        self.attempts = 0  # answers checked so far (tests wait on it)
        self.working = False  # a check or a finish is under way
        self.running = False  # the run phase or its undo is under way
        self.progress_panel: ProgressPanel | None = None  # the run phase's, found on the event loop

    # ----- what a wizard defines ------------------------------------------------------

    def step_titles(self) -> Sequence[str]:
        raise NotImplementedError

    def total_steps(self) -> int | None:
        """None while an answer still decides how many steps follow."""
        return len(self.step_titles())

    def show_page(self) -> None:
        """Show the current step's page; by default, focus its first field."""
        self.focus_first()

    async def check_page(self) -> tuple[str, Widget | None] | None:
        """The current step's refusal (a sentence and the field at fault), or None."""
        return None

    def is_last(self) -> bool:
        return self.step >= len(self.step_titles()) - 1

    async def finish(self) -> None:
        """Enter on the last step, its check passed: create, or start the run phase."""
        self.run()

    def run_job(self, report: progress.Report) -> Future[Any]:
        """The run phase: an operation of tvirt/ops, started on its own thread and
        reporting its progress to `report`; the wizard awaits it."""
        raise NotImplementedError

    def undo_job(self) -> Future[Any]:
        """The operation that undoes what the run phase made (only where the core can)."""
        raise NotImplementedError

    def can_undo(self) -> bool:
        return False

    def show_result(self, result: object, error: str) -> None:
        """The run phase's result, or its failure's sentence."""

    def show_undone(self, result: object, error: str) -> None:
        """What the undo did."""

    # ----- the step line and moving between steps ---------------------------------------

    def step_line(self) -> str:
        titles = self.step_titles()
        return step_words(self.what, self.step, self.total_steps(), titles[self.step])

    def go_to(self, step: int) -> None:
        """Show step `step`: its line and its page."""
        self.step = step
        self.query_one(f"#{self.STEP_LINE}", Static).update(Content(self.step_line()))
        self.show_page()

    def say(self, sentence: str) -> None:
        self.query_one(f"#{self.MESSAGE}", Static).update(Content(sentence))

    def refuse(self, sentence: str, field: Widget | None = None) -> None:
        self.say(sentence)
        if field is not None and field.is_mounted and self.focused is not field:
            field.focus()
        assert isinstance(self, Screen)
        read_out(self, sentence)

    async def submit_page(self) -> None:
        """Enter from the last field: check the step, then the next one or finish."""
        if self.working or self.running:
            return
        self.working = True
        step = self.step
        try:
            found = await self.check_page()
            if self.step != step:
                return  # the user went back while the host was asked
            if found is not None:
                self.refuse(*found)
                return
            # A sentence the check said while it waited ("Checking the files...") is over.
            drop_read_outs(self)
            if self.is_last():
                await self.finish()
            else:
                self.say("")
                self.go_to(self.step + 1)
        finally:
            self.working = False
            self.attempts += 1

    def action_back(self) -> None:
        if self.running:
            self.say("Steps are running; wait for them to finish.")
        elif self.step > 0:
            self.say("")
            self.go_to(self.step - 1)

    def action_cancel(self) -> None:
        self.leave(None)

    def leave(self, result: object) -> None:
        self.dismiss(result)

    # ----- the run phase, its progress, its undo ----------------------------------------

    def run(self) -> None:
        self.running = True
        # Looked up here, on the event loop: the operation's thread only asks it.
        try:
            self.progress_panel = self.query_one(ProgressPanel)
        except NoMatches:
            self.progress_panel = None
        self._run()

    def tell(self, event: progress.Event) -> None:
        """The progress callback handed to the core (any thread). An event the panel's
        line would not show (screen-reader mode: too soon after its last change, or a
        dialog covers it) is not posted: each message repaints the screen."""
        panel = self.progress_panel
        if panel is not None and panel.drops(event):
            return
        self.post_message(ProgressEvent(event))

    @work(exclusive=True, exit_on_error=False, group="wizard-run")
    async def _run(self) -> None:
        self.post_message(await _finished(lambda: self.run_job(self.tell)))

    def on_progress_event(self, message: ProgressEvent) -> None:
        try:
            panel = self.query_one(ProgressPanel)
        except NoMatches:
            return
        panel.show(message.event)

    def action_undo(self) -> None:
        if self.running or not self.can_undo():
            self.say(self.NOTHING_TO_UNDO)
            return
        self.running = True
        self._undo()

    @work(exclusive=True, exit_on_error=False, group="wizard-run")
    async def _undo(self) -> None:
        self.post_message(await _finished(self.undo_job, undo=True))

    def on_run_finished(self, message: RunFinished) -> None:
        self.running = False
        if message.undo:
            self.show_undone(message.result, message.error)
        else:
            self.show_result(message.result, message.error)


async def _finished(job: Callable[[], Future[Any]], *, undo: bool = False) -> RunFinished:
    """Start the operation and await it; a failure is its sentence, never a traceback."""
    try:
        return RunFinished(await asyncio.wrap_future(job()), undo=undo)
    except (TvirtError, SizeError) as exc:
        return RunFinished(None, str(exc), undo=undo)


def why(exc: BaseException) -> str:
    """A refusal's own sentence; anything else explained in one sentence."""
    if isinstance(exc, (TvirtError, SizeError)):
        return str(exc)
    return explain(exc)


@dataclass
class Step:
    """One step of a FieldWizard: a text field or a list of choices (or the summary).

    ``accept`` gets the answer (the input's text or the chosen option's id) and raises
    an error with a sentence (a TvirtError, SizeError or ValueError) to refuse it.
    """

    id: str
    title: str
    text: Callable[[], str]
    accept: Callable[[str], Awaitable[None]]
    value: Callable[[], str] = lambda: ""
    options: Callable[[], list[tuple[str, str]]] | None = None
    placeholder: str = ""
    summary: bool = False


class FieldWizard(Wizard, TvirtModal[R]):
    """One field a step (a text or a list of choices), then the summary with the XML.

    Nothing is made until Enter (or ctrl+s) on the summary; Escape cancels, creating
    nothing. `total_steps` is None while an answer still decides how many steps follow,
    so the count never changes under the user's eyes.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        *form_bindings("back", "create", "cancel"),
        *quit_bindings(),  # a modal screen does not pass q on to the app
    ]
    DEFAULT_CSS = """
    FieldWizard .dialog-box { width: 96; }
    FieldWizard #wiz-options { height: auto; max-height: 12; }
    FieldWizard #wiz-warning { height: auto; margin-bottom: 1; }
    FieldWizard #wiz-xml { height: auto; max-height: 16; border: round $primary; }
    FieldWizard #wiz-summary { display: none; height: auto; max-height: 70%; }
    """
    STEP_LINE = "wiz-title"

    def __init__(self) -> None:
        super().__init__(classes="dialog")

    def steps(self) -> list[Step]:
        raise NotImplementedError

    def step_titles(self) -> list[str]:
        return [s.title for s in self.steps()]

    def summary_xml(self) -> str:
        raise NotImplementedError

    def summary_warning(self) -> str:
        return ""

    async def create(self) -> R:
        raise NotImplementedError

    @property
    def index(self) -> int:
        return self.step

    @property
    def current_step(self) -> Step:
        return self.steps()[self.step]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(id="wiz-title", classes="dialog-title")
            yield Static(id="wiz-text", classes="dialog-text")
            # The field's name beside it, in screen-reader mode only (show_page).
            yield Label(id="wiz-label")
            yield Input(id="wiz-input")
            yield Choice(id="wiz-options")
            yield Static(id="wiz-warning", classes="dialog-error")
            with VerticalScroll(id="wiz-xml"):
                yield Static(id="wiz-xml-text")
            # Screen-reader mode's summary: one line an option, so the cursor reads it
            # line by line (the text, the warning, the XML); shown by show_page.
            yield OptionList(id="wiz-summary")
            yield Static("", id=ERROR_ID, classes="dialog-error")
            yield Static(id="wiz-keys", classes="dialog-keys")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Back", id="back")
                yield Button("Next", variant="primary", id="next")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#wiz-xml").border_title = XML_TITLE
        self.go_to(0)

    def summary_lines(self) -> list[str]:
        """The summary as screen-reader mode reads it: every line it shows, in order."""
        step = self.current_step
        warning = self.summary_warning()
        xml = self.summary_xml().splitlines()
        return [*step.text().splitlines(), *warning.splitlines(), f"{XML_TITLE}:", *xml]

    def show_page(self) -> None:
        """The current step's words, its field filled from the answers so far."""
        step = self.current_step
        self.query_one("#wiz-text", Static).update(Content(step.text()))
        entry = self.query_one("#wiz-input", Input)
        options = self.query_one("#wiz-options", Choice)
        xml = self.query_one("#wiz-xml")
        warning = self.query_one("#wiz-warning", Static)
        entry.display = step.options is None and not step.summary
        options.display = step.options is not None
        label = self.query_one("#wiz-label", Label)
        label.update(Content(step.title.capitalize()))
        label.display = (entry.display or options.display) and bool(
            getattr(self.app, "screen_reader", False)
        )
        # Screen-reader mode reads the summary from one focusable list instead.
        spoken = step.summary and bool(getattr(self.app, "screen_reader", False))
        self.query_one("#wiz-text").display = not spoken
        xml.display = step.summary and not spoken
        warning_text = self.summary_warning() if step.summary else ""
        warning.display = bool(warning_text) and not spoken
        summary = self.query_one("#wiz-summary", OptionList)
        summary.display = spoken
        warning.update(Content(warning_text))
        self.query_one("#back", Button).disabled = self.step == 0
        nxt = self.query_one("#next", Button)
        nxt.label = "Create" if step.summary else "Next"
        first = "Enter: create" if step.summary else "Enter: next step"
        choose = "Arrows choose.  " if step.options is not None else ""
        self.query_one("#wiz-keys", Static).update(
            Content(f"{choose}{first}.  Ctrl+B: back.  Escape: cancel, creating nothing.")
        )
        self.say("")
        if spoken:
            summary.set_options(Option(Content(line)) for line in self.summary_lines())
            summary.highlighted = 0
            summary.focus()
        elif step.summary:
            self.query_one("#wiz-xml-text", Static).update(Content(self.summary_xml()))
            nxt.focus()
        elif step.options is not None:
            options.set_choices(step.options(), step.value())
            options.focus()
        else:
            entry.value = step.value()
            entry.placeholder = step.placeholder
            entry.cursor_position = len(entry.value)
            entry.focus()

    def is_last(self) -> bool:
        return self.current_step.summary

    def answer(self) -> str:
        if self.current_step.options is not None:
            return self.query_one("#wiz-options", Choice).value
        return self.query_one("#wiz-input", Input).value.strip()

    def field(self) -> Widget | None:
        step = self.current_step
        if step.summary:
            return None
        return self.query_one("#wiz-options" if step.options is not None else "#wiz-input")

    async def check_page(self) -> tuple[str, Widget | None] | None:
        step = self.current_step
        if step.summary:
            return None
        try:
            await step.accept(self.answer())
        except Exception as exc:  # a host call in a check can fail in libvirt's own words
            return f"Not accepted: {why(exc)}", self.field()
        return None

    async def finish(self) -> None:
        try:
            result = await self.create()
        except Exception as exc:  # libvirt's own failures too: one sentence, never a traceback
            self.refuse(f"Not created: {why(exc)}")
            return
        self.dismiss(result)

    async def action_next(self) -> None:
        await self.submit_page()

    async def action_create(self) -> None:
        if self.current_step.summary:
            await self.submit_page()
            return
        self.refuse("Not yet: go through every step first; the summary step creates.")

    @on(Button.Pressed, "#next")
    async def _next(self) -> None:
        await self.submit_page()

    @on(OptionList.OptionSelected, "#wiz-summary")
    async def _summary_enter(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        await self.submit_page()

    @on(Button.Pressed, "#back")
    def _back(self) -> None:
        self.action_back()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
