"""Themes: chosen by flag, config or command palette, remembered, and user theme files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pty_term import Terminal
from test_accessibility import FIXTURE, tvirt_bin
from test_tui_dashboard import LAB, SIZE, until
from textual.app import App, ComposeResult
from textual.widgets import Button, DataTable, Footer, Header, Input, OptionList

from tvirt import config
from tvirt.screens.app import TvirtApp
from tvirt.screens.table import Table
from tvirt.themes import (
    DEFAULT_THEME,
    ThemeFileError,
    load_theme_file,
    register_themes,
    resolve,
    theme_names,
    user_themes,
)


def test_four_themes_including_the_terminal_palette() -> None:
    assert theme_names() == ["tvirt-dark", "tvirt-light", "tvirt-high-contrast", "tvirt-ansi"]
    assert [resolve(n) for n in ("dark", "light", "high-contrast", "ansi")] == theme_names()
    assert resolve("nord") == "nord"


async def test_flag_short_name_selects_the_theme() -> None:
    app = TvirtApp([], theme="light")
    async with app.run_test(size=SIZE):
        assert app.theme == "tvirt-light"


async def test_ansi_theme_uses_the_terminals_own_colours() -> None:
    app = TvirtApp([], theme="ansi")
    async with app.run_test(size=SIZE):
        assert app.theme == "tvirt-ansi"
        assert app.native_ansi_color


async def test_unknown_theme_falls_back_with_a_sentence() -> None:
    app = TvirtApp([], theme="purple")
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == DEFAULT_THEME
        await until(pilot, lambda: any("no theme called 'purple'" in m for m in app.messages),
                    "the sentence in the log")


async def test_palette_choice_is_remembered_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = config.Config(uris=[LAB], theme="tvirt-dark", path=path)
    app = TvirtApp([], theme=settings.theme, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"high-contrast")
        await until(
            pilot,
            lambda: any("tvirt-high-contrast" in str(o.prompt) for o in app.screen.query_one(
                "CommandList").options),  # type: ignore[attr-defined]
            "the theme entry",
        )
        await pilot.press("enter")
        await until(pilot, lambda: app.theme == "tvirt-high-contrast", "the theme to change")
        await until(pilot, lambda: path.exists(), "the config file")
    saved = tomllib.loads(path.read_text())
    assert saved["ui"]["theme"] == "tvirt-high-contrast"
    assert saved["connections"]["uris"] == [LAB]
    assert config.load(path).theme == "tvirt-high-contrast"


def test_user_theme_file_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text(
        'primary = "#ffaf00"\nbackground = "black"\nforeground = "#ffffff"\ndark = true\n'
    )
    themes, problems = user_themes(tmp_path)
    assert problems == []
    assert [t.name for t in themes] == ["mine"]
    assert themes[0].primary == "#ffaf00"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("primary = ", "is not valid TOML"),
        ('primary = "nocolour"', "primary = 'nocolour' is not a colour"),
        ('background = "#000000"', "needs at least a primary colour"),
        ('primary = "red"\nsparkle = "yes"', "unknown keys (sparkle)"),
        ('primary = "red"\ndark = "maybe"', "dark must be true or false"),
    ],
)
def test_bad_user_theme_gets_a_clear_sentence(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ThemeFileError) as err:
        load_theme_file(path)
    assert fragment in str(err.value)
    assert str(path) in str(err.value)
    themes, problems = user_themes(tmp_path)
    assert themes == [] and len(problems) == 1


def test_real_app_with_a_bad_theme_file_says_so_and_falls_back(tmp_path: Path) -> None:
    themes = tmp_path / "themes"
    themes.mkdir()
    (themes / "broken.toml").write_text('primary = "not a colour"\n')
    (tmp_path / "config.toml").write_text('[ui]\ntheme = "broken"\n')
    term = Terminal([tvirt_bin(), "-c", f"test://{FIXTURE}"],
                    env={"TVIRT_CONFIG": str(tmp_path / "config.toml")})
    try:
        term.wait_for(lambda: "web02" in term.text(), what="the VM list")
        first = bytes(term.raw).split(b"\x1b[?1049h")[0].decode()
        assert "broken.toml" in first and "is not a colour" in first and "skipped" in first
        assert f"no theme called 'broken'; using {DEFAULT_THEME}" in first
    finally:
        term.close()


# -- snapshots: one per theme, of a small fixed set of widgets ----------------------
class ThemeSample(App[None]):
    """Every kind of widget tvirt uses, with states in words; no live data."""

    def __init__(self, theme: str) -> None:
        super().__init__()
        register_themes(self)
        self.theme = theme

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[str] = Table(cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "State", "Autostart")
        for row in (("web01", "running", "on"), ("db01", "shut off", "off"),
                    ("cache01", "paused", "off")):
            table.add_row(*row)
        yield table
        yield OptionList("host1: connected", "host2: disconnected")
        yield Input(placeholder="Filter by name or host (press /)")
        yield Button("Yes, force off", variant="error")
        yield Button("Cancel")
        yield Footer()


@pytest.mark.parametrize("theme", theme_names())
def test_theme_snapshot(snap_compare, theme: str) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(ThemeSample(theme), terminal_size=(80, 24))
