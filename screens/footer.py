"""The footer of the screens: Textual's, without the work that changes nothing on screen.

Textual's Footer rebuilds every key widget whenever its screen's bindings are reported
changed, and a screen reports that each time it comes back to the top: Escape from the
consoles rebuilt the dashboard's eleven keys. Each new key widget was restyled twice
while mounting (its `compact` starts True, then takes the footer's value), and that
was half the app's work to bring the dashboard back (docs/performance.md, "Serial
console under a flood"). This footer rebuilds only when what it shows changed, and its
new keys start with the footer's `compact`, so they mount styled once.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen


class SteadyFooter(Footer):
    """Shows the same keys as Textual's Footer, rebuilt only when they change."""

    def __init__(self) -> None:
        super().__init__()
        self._shown: Hashable = None  # what the last compose showed

    def _what_to_show(self, screen: Screen[object]) -> Hashable:
        """Every input of compose: the shown bindings (key, words, group, enabled,
        tooltip) in order, the palette's binding, and the footer's own settings."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return (
            self.compact,
            self.show_command_palette,
            self.app.ENABLE_COMMAND_PALETTE,
            tuple(
                (key, binding, self.app.get_key_display(binding), enabled, tooltip)
                for key, (_node, binding, enabled, tooltip) in screen.active_bindings.items()
                if binding.show or key == palette
            ),
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._what_to_show(self.screen)
        for widget in super().compose():
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                # Mounted with the value data_bind gives it: no second restyle. (The
                # palette's key is not bound: it keeps its own.)
                widget.set_reactive(FooterKey.compact, self.compact)
            yield widget

    def bindings_changed(self, screen: Screen[object]) -> None:
        if (
            self._bindings_ready
            and self.is_attached
            and screen is self.screen
            and self._what_to_show(screen) == self._shown
        ):
            return  # the same keys as on screen now
        super().bindings_changed(screen)
