"""tvirt's colour themes and the path of its stylesheet.

Colour only decorates: every state is also written as a word, so the app reads the
same under NO_COLOR (which Textual honours by itself) or a monochrome terminal.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Protocol

from textual.color import Color, ColorParseError
from textual.theme import BUILTIN_THEMES, Theme

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
    # The terminal's own 16-colour palette: whatever colours the user set up there,
    # including a screen magnifier's or a high-contrast terminal profile's.
    dataclasses.replace(BUILTIN_THEMES["ansi-dark"], name="tvirt-ansi"),
)

# What a person may type after --theme or in [ui] theme.
SHORT_NAMES = {
    "dark": "tvirt-dark",
    "light": "tvirt-light",
    "high-contrast": "tvirt-high-contrast",
    "ansi": "tvirt-ansi",
}
# The colour keys a user theme file may set; dark is a boolean.
COLOUR_KEYS = ("primary", "secondary", "accent", "warning", "error", "success",
               "foreground", "background", "surface", "panel", "boost")


class ThemeFileError(ValueError):
    """A user theme file that cannot be used; the message is one sentence."""


def resolve(name: str) -> str:
    """The full theme name for a short one ("light" -> "tvirt-light")."""
    name = name.strip()
    return SHORT_NAMES.get(name, name)


def load_theme_file(path: Path) -> Theme:
    """One user theme: a TOML file of colour keys, named after the file.

    Example ~/.config/tvirt/themes/mine.toml::

        primary = "#ffaf00"
        background = "#000000"
        foreground = "#ffffff"
        dark = true
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"The theme file {path} cannot be read ({exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"The theme file {path} is not valid TOML ({exc}).") from None
    unknown = sorted(set(data) - {*COLOUR_KEYS, "dark", "name"})
    if unknown:
        raise ThemeFileError(
            f"The theme file {path} has unknown keys ({', '.join(unknown)}); "
            f"the known ones are {', '.join(COLOUR_KEYS)} and dark."
        )
    if "primary" not in data:
        raise ThemeFileError(f"The theme file {path} needs at least a primary colour.")
    colours: dict[str, str] = {}
    for key in COLOUR_KEYS:
        if key not in data:
            continue
        value = data[key]
        try:
            if not isinstance(value, str):
                raise ColorParseError(str(value))
            Color.parse(value)
        except ColorParseError:
            raise ThemeFileError(
                f"In the theme file {path}, {key} = {value!r} is not a colour "
                "(use a name like \"red\" or a hex value like \"#ff8800\")."
            ) from None
        colours[key] = value
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"In the theme file {path}, dark must be true or false.")
    name = str(data.get("name") or path.stem)
    return Theme(
        name=name,
        dark=dark,
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        accent=colours.get("accent"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        boost=colours.get("boost"),
    )


def user_themes(directory: Path) -> tuple[list[Theme], list[str]]:
    """Every *.toml theme in directory, and a sentence for each one that failed."""
    themes: list[Theme] = []
    problems: list[str] = []
    if not directory.is_dir():
        return themes, problems
    for path in sorted(directory.glob("*.toml")):
        try:
            themes.append(load_theme_file(path))
        except ThemeFileError as exc:
            problems.append(str(exc))
    return themes, problems


class ThemeRegistry(Protocol):
    """The part of textual's App that themes need; keeps this module free of App."""

    def register_theme(self, theme: Theme) -> None: ...


def register_themes(app: ThemeRegistry, extra: tuple[Theme, ...] | list[Theme] = ()) -> list[str]:
    """Register every tvirt theme (and the user's own) on the app; return their names."""
    for theme in (*THEMES, *extra):
        app.register_theme(theme)
    return [theme.name for theme in (*THEMES, *extra)]


def theme_names() -> list[str]:
    return [theme.name for theme in THEMES]
