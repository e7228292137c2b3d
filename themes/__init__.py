"""tvirt's colour themes and the path of its stylesheet.

Colour only decorates: every state is also written as a word, so the app reads the
same under NO_COLOR (which Textual honours by itself) or a monochrome terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from textual.theme import Theme

STYLESHEET = Path(__file__).with_name("tvirt.tcss")
DEFAULT_THEME = "tvirt-dark"

THEMES: tuple[Theme, ...] = (
    Theme(
        name="tvirt-dark",
        primary="#4C9BE8",
        secondary="#2D5F8A",
        accent="#E8B04C",
        warning="#E8B04C",
        error="#E8685A",
        success="#6CC283",
        foreground="#DDE3EA",
        background="#15191E",
        surface="#1C2229",
        panel="#25303B",
        dark=True,
    ),
    Theme(
        name="tvirt-light",
        primary="#1F5FA8",
        secondary="#4A7AB0",
        accent="#9A5B00",
        warning="#9A5B00",
        error="#B3261E",
        success="#1E7B3A",
        foreground="#1A1F24",
        background="#F6F7F9",
        surface="#FFFFFF",
        panel="#E3E8EE",
        dark=False,
    ),
    Theme(
        # Plain black and white with the strongest contrast, for low vision.
        name="tvirt-high-contrast",
        primary="#FFFFFF",
        secondary="#C0C0C0",
        accent="#FFFF00",
        warning="#FFFF00",
        error="#FF6060",
        success="#60FF60",
        foreground="#FFFFFF",
        background="#000000",
        surface="#000000",
        panel="#202020",
        dark=True,
    ),
)


class ThemeRegistry(Protocol):
    """The part of textual's App that themes need; keeps this module free of App."""

    def register_theme(self, theme: Theme) -> None: ...


def register_themes(app: ThemeRegistry) -> list[str]:
    """Register every tvirt theme on the app and return their names."""
    for theme in THEMES:
        app.register_theme(theme)
    return [theme.name for theme in THEMES]


def theme_names() -> list[str]:
    return [theme.name for theme in THEMES]
