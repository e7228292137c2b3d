"""What every dialog and wizard shares, so they all behave the same way.

- The first field has the focus when a dialog opens or a wizard step shows.
- Enter advances: to the next field, and from the last one the step or dialog goes ahead.
- A refusal keeps everything typed, says what is wrong, and puts the focus on that field.
- Choices are lists (`Choice`): the highlighted entry is the answer, marked "(*)", so
  nothing can be typed that is not offered.

`FormMixin` is the behaviour; `FormDialog` is the modal form built on it. The storage
wizards and the new-VM wizard use the mixin with their own pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from tvirt.keys import FORM_KEYS

from .base import TvirtModal
from .dialogs import quit_bindings
from .reader import read_out

ERROR_ID = "form-error"


_FOOTER = {"advance": "Next", "back": "Back", "create": "Create", "cancel": "Cancel"}


def form_bindings(*actions: str, footer: bool = False) -> list[BindingType]:
    """The form keys of tvirt.keys that a screen offers, by action.

    Enter ("advance") is a fallback: a focused field takes Enter first and advances by
    itself. Ctrl keys have priority, so an Input or a list never takes them first.
    """
    return [
        Binding(
            k.key,
            k.action,
            _FOOTER.get(k.action, k.description) if footer else k.description,
            show=footer,
            priority=k.key.startswith("ctrl"),
            tooltip=k.description,
        )
        for k in FORM_KEYS
        if k.action in actions
    ]


def step_words(what: str, index: int, total: int | None, title: str) -> str:
    """'New volume, step 2 of 7: name'; without a total while an answer still decides it."""
    count = f"step {index + 1} of {total}" if total else f"step {index + 1}"
    return f"{what}, {count}: {title}"


class _ChoiceMessage(Message):
    """What a Choice posts: the list and its answer."""

    def __init__(self, choice: Choice, value: str) -> None:
        super().__init__()
        self.choice, self.value = choice, value

    @property
    def control(self) -> Choice:
        return self.choice


class Choice(OptionList):
    """A short list of choices. The highlighted entry is the answer (arrows choose) and
    is marked "(*)" in words as well, so the choice does not depend on colour.
    Enter posts `Choice.Submitted`, which a form takes as "advance"."""

    DEFAULT_CSS = """
    Choice { height: auto; max-height: 10; }
    """

    class Changed(_ChoiceMessage):
        """The highlighted entry, so the answer, changed."""

    class Submitted(_ChoiceMessage):
        """Enter on the list: a form takes it as "advance"."""

    def __init__(
        self,
        choices: Sequence[tuple[str, str]] = (),
        value: str = "",
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._choices: list[tuple[str, str]] = []
        self._value = ""
        self.set_choices(choices, value)

    @property
    def keys(self) -> list[str]:
        return [key for key, _label in self._choices]

    @property
    def value(self) -> str:
        """The chosen key ("" only when there is nothing to choose)."""
        return self._value

    @value.setter
    def value(self, key: str) -> None:
        if key in self.keys:
            self.highlighted = self.keys.index(key)
            self._choose(key)

    def set_choices(self, choices: Sequence[tuple[str, str]], value: str | None = None) -> None:
        """New entries; the answer stays if it is still offered, else the first entry."""
        wanted = self._value if value is None else value
        self._choices = list(choices)
        keys = self.keys
        self._value = wanted if wanted in keys else (keys[0] if keys else "")
        self.clear_options()
        self.add_options(
            [Option(self._prompt(key, label), id=key) for key, label in self._choices]
        )
        if keys:
            self.highlighted = keys.index(self._value)

    def _prompt(self, key: str, label: str) -> Content:
        return Content(f"({'*' if key == self._value else ' '}) {label}")

    def _choose(self, key: str) -> None:
        if key == self._value:
            return
        before, self._value = self._value, key
        for index, (k, label) in enumerate(self._choices):
            if k in (before, key):
                self.replace_option_prompt_at_index(index, self._prompt(k, label))
        self.post_message(self.Changed(self, key))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list is self and event.option.id is not None:
            self._choose(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list is not self:
            return
        event.stop()
        if event.option.id is not None:
            self._choose(event.option.id)
        self.post_message(self.Submitted(self, self._value))


FIELD_TYPES: tuple[type[Widget], ...] = (Input, Choice)


def field_value(widget: Widget) -> str:
    if isinstance(widget, Choice):
        return widget.value
    if isinstance(widget, Input):
        return widget.value.strip()
    return ""


class FormMixin:
    """Enter advances through the shown fields; the last one calls `submit_page`.

    Mixed into a Screen. Subclasses implement `submit_page`; they show refusals with
    `refuse`, which never clears a field.
    """

    # The screen's own widgets; declared for type checkers (Screen provides them).
    focus_chain: list[Widget]
    focused: Widget | None

    def page_fields(self) -> list[Widget]:
        """The fields the user can reach now, in focus order."""
        return [w for w in self.focus_chain if isinstance(w, FIELD_TYPES)]

    def focus_first(self) -> None:
        fields = self.page_fields()
        if fields:
            fields[0].focus()

    async def submit_page(self) -> None:
        raise NotImplementedError

    async def action_advance(self) -> None:
        """Enter where no field took it (nothing focused, say)."""
        focused = getattr(self, "focused", None)
        if isinstance(focused, Widget):
            await self.advance(focused)
        else:
            await self.submit_page()

    async def advance(self, widget: Widget) -> None:
        """Enter in `widget`: the next field, or go ahead from the last one."""
        fields = self.page_fields()
        if widget in fields and widget is not fields[-1]:
            fields[fields.index(widget) + 1].focus()
            return
        await self.submit_page()

    def refuse(self, sentence: str, field: Widget | None = None) -> None:
        """Say what is wrong and go to the field at fault; what was typed stays."""
        assert isinstance(self, Screen)
        self.query_one(f"#{ERROR_ID}", Static).update(Content(sentence))
        if field is not None and field.is_mounted and self.focused is not field:
            field.focus()
        read_out(self, sentence)

    # Handlers by name, not @on: Textual only collects @on handlers of message pumps.
    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.advance(event.input)

    async def on_choice_submitted(self, event: Choice.Submitted) -> None:
        event.stop()
        await self.advance(event.choice)


@dataclass(frozen=True)
class Field:
    """One field of a FormDialog: text, or a choice among (key, label) pairs.

    check: the field's own check, returning a sentence saying what is wrong, or "".
    """

    label: str
    value: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    placeholder: str = ""
    check: Callable[[str], str] | None = None


# Checks of the whole form: (index of the field at fault or -1, sentence), or None.
FormCheck = Callable[[list[str]], "tuple[int, str] | None"]
# Runs the change the form asked for; returns a sentence saying why it failed, or "".
FormApply = Callable[[list[str]], Awaitable[str]]


class FormDialog(FormMixin, TvirtModal[list[str] | None]):
    """A few fields, answered with Enter, cancelled with Escape.

    The answers are checked here (each field's check, then `check`), and with `apply`
    the change itself runs while the dialog waits: whatever goes wrong is shown in the
    dialog with the answers kept, and it closes only once the change is done.
    """

    BINDINGS: ClassVar[list[BindingType]] = [*form_bindings("cancel"), *quit_bindings()]
    DEFAULT_CSS = """
    FormDialog { align: center middle; }
    FormDialog .form-label { margin-top: 1; }
    """

    def __init__(
        self,
        title: str,
        fields: Sequence[Field],
        *,
        text: str = "",
        hint: str = "",
        check: FormCheck | None = None,
        apply: FormApply | None = None,
    ) -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.text = text
        self.fields = list(fields)
        self.hint = hint or "Enter: next field, then go ahead.  Escape: cancel."
        self.check = check
        self.apply = apply
        self.working = False
        self.attempts = 0  # answers checked so far (tests wait on it)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.title_text), classes="dialog-title")
            if self.text:
                yield Static(Content(self.text), classes="dialog-text")
            for i, f in enumerate(self.fields):
                yield Label(Content(f.label), classes="form-label")
                if f.choices:
                    yield Choice(f.choices, f.value, id=f"field-{i}")
                else:
                    yield Input(f.value, placeholder=f.placeholder, id=f"field-{i}")
            yield Static("", id=ERROR_ID, classes="dialog-error")
            yield Static(Content(self.hint), classes="dialog-keys")

    def on_mount(self) -> None:
        self.focus_first()

    def widget_at(self, index: int) -> Widget:
        return self.query_one(f"#field-{index}")

    def values(self) -> list[str]:
        return [field_value(self.widget_at(i)) for i in range(len(self.fields))]

    def problem(self, values: list[str]) -> tuple[int, str] | None:
        for i, (f, value) in enumerate(zip(self.fields, values, strict=True)):
            sentence = f.check(value) if f.check else ""
            if sentence:
                return i, sentence
        return self.check(values) if self.check else None

    async def submit_page(self) -> None:
        if self.working:
            return
        values = self.values()
        try:
            found = self.problem(values)
            if found is not None:
                index, sentence = found
                self.refuse(sentence, self.widget_at(index) if index >= 0 else None)
                return
            if self.apply is not None:
                self.working = True
                self.refuse("Working...")
                error = await self.apply(values)
                self.working = False
                if error:
                    self.refuse(error)
                    return
            self.dismiss(values)
        finally:
            self.working = False
            self.attempts += 1

    def action_cancel(self) -> None:
        self.dismiss(None)
