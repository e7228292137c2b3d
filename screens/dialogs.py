"""Modal dialogs: confirming a change, and adding a connection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Checkbox, Input, Label, Static

from tvirt.keys import APP_KEYS, CONFIRM_KEYS
from tvirt.uri import URIError, parse_uri

from .base import TvirtModal
from .reader import read_out


def quit_bindings() -> list[BindingType]:
    """q quits from a dialog too: a modal screen does not pass keys on to the app's own
    bindings. Where a text field has the focus it takes q as a letter first."""
    return [
        Binding(k.key, f"app.{k.action}", k.description, show=False)
        for k in APP_KEYS
        if k.action == "quit"
    ]


def dialog_bindings() -> list[BindingType]:
    """The keys tvirt.keys gives every dialog (escape closes it), and q to quit."""
    return [
        *(Binding(k.key, k.action, k.description, show=False)
          for k in APP_KEYS
          if k.where == "dialogs"),
        *quit_bindings(),
    ]


def confirm_bindings() -> list[BindingType]:
    # Enter has priority so that a focused checkbox does not swallow it as a toggle.
    return [
        *dialog_bindings(),
        *(
            Binding(k.key, k.action, k.description, show=False, priority=k.key == "enter")
            for k in CONFIRM_KEYS
        ),
    ]


@dataclass(frozen=True)
class Confirmed:
    """A yes from a ConfirmDialog, with the state of its storage checkbox."""

    remove_storage: bool = False


def _storage_label(remove: bool) -> str:
    # The checkbox shows its state only by colour, so the label says it in words too.
    answer = "yes, delete its disk images" if remove else "no, keep its disk images"
    return f"Also remove storage: {answer}"


class ConfirmDialog(TvirtModal[Confirmed | None]):
    """Asks before a change, naming exactly which VMs or hosts it touches.

    y or enter confirms and n or escape cancels, wherever the focus is; enter on a
    focused button presses that button instead, so enter on "Cancel" cancels.
    """

    BINDINGS = confirm_bindings()

    def __init__(
        self,
        question: str,
        targets: Sequence[str],
        explanation: str,
        confirm_label: str,
        *,
        offer_storage: bool = False,
    ) -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.targets = list(targets)
        self.explanation = explanation
        self.confirm_label = confirm_label
        self.offer_storage = offer_storage

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Content(self.question), classes="dialog-title")
            targets = VerticalScroll(classes="dialog-targets")
            targets.tooltip = "What this changes"
            with targets:
                yield Static(Content("\n".join(f"- {line}" for line in self.targets)))
            yield Static(Content(self.explanation), classes="dialog-text")
            if self.offer_storage:
                yield Checkbox(_storage_label(False), id="remove-storage")
            yield Static(Content("y or Enter: yes.  n or Escape: no."), classes="dialog-keys")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.confirm_label, variant="error", id="confirm")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    def action_confirm(self) -> None:
        storage = self.offer_storage and self.query_one("#remove-storage", Checkbox).value
        self.dismiss(Confirmed(remove_storage=storage))

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_enter(self) -> None:
        focused = self.focused
        if isinstance(focused, Button):
            focused.press()
        else:
            self.action_confirm()

    @on(Checkbox.Changed, "#remove-storage")
    def _storage_changed(self, event: Checkbox.Changed) -> None:
        event.checkbox.label = _storage_label(event.value)

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()


class AddConnectionDialog(TvirtModal[str | None]):
    """Asks for a libvirt URI and checks it before anything connects.

    Returns the normalised URI; a bad one keeps the dialog open with the reason.
    """

    BINDINGS = [*dialog_bindings()]

    def __init__(self, is_known: Callable[[str], bool]) -> None:
        super().__init__(classes="dialog")
        self._is_known = is_known

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(Content("Add a connection"), classes="dialog-title")
            yield Static(
                Content("A libvirt URI such as qemu:///system or qemu+ssh://user@host/system."),
                classes="dialog-text",
            )
            # The field's name on its line, for screen-reader mode (screens/reader.py).
            yield Label(Content("URI"), classes="reader-only")
            yield Input(placeholder="qemu+ssh://user@host/system", id="uri")
            yield Static("", id="uri-error", classes="dialog-error")
            yield Static(Content("Enter: connect.  Escape: cancel."), classes="dialog-keys")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Connect", variant="primary", id="connect")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#uri", Input).focus()

    def check(self, text: str) -> str | None:
        """The normalised URI, or None after showing why it was refused."""
        error = self.query_one("#uri-error", Static)
        try:
            uri = parse_uri(text).uri
        except URIError as exc:
            error.update(Content(f"Not added: {exc}"))
            read_out(self, f"Not added: {exc}")
            return None
        if self._is_known(uri):
            error.update(Content(f"Not added: {uri} is already connected."))
            read_out(self, f"Not added: {uri} is already connected.")
            return None
        error.update("")
        return uri

    @on(Input.Submitted, "#uri")
    @on(Button.Pressed, "#connect")
    def _submit(self) -> None:
        uri = self.check(self.query_one("#uri", Input).value)
        if uri is not None:
            self.dismiss(uri)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
