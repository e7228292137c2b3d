"""SSH connection sharing set from the command palette: saved before it is used, a refused
value or a failed save changes nothing, and it can be set back. (That the switch itself
stops and starts the sharing on a real host is tests/test_sshmux.py's.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_helpers import until
from tvirt import config, sshmux
from tvirt.screens.app import TvirtApp
from tvirt.screens.form import FormDialog
from tvirt.screens.ssh_sharing import set_sharing

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def sharing_as_configured() -> Iterator[None]:
    """The switch is process-wide: each test leaves it as the config says."""
    sshmux.set_sharing(True)
    yield
    sshmux.set_sharing(None)


async def test_set_from_the_palette_saved_and_set_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = config.Config(path=path)
    app = TvirtApp([], settings=settings, stats=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"ssh connection sharing")
        await until(
            pilot,
            lambda: any("SSH connection sharing" in str(o.prompt) for o in app.screen.query_one(
                "CommandList").options),  # type: ignore[attr-defined]
            "the palette entry",
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "the dialog")
        await pilot.press("down", "enter")  # "off", then go ahead
        await until(pilot, lambda: not isinstance(app.screen, FormDialog), "the dialog to close")
        assert sshmux.sharing() is False
        assert config.load(path).share_connections is False
        assert any("SSH connection sharing now off (was on)" in m for m in app.messages)

        assert set_sharing(app, "on") == ""  # and back
        assert sshmux.sharing() is True and config.load(path).share_connections is True


async def test_a_refused_value_or_a_failed_save_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = config.Config(path=path)
    app = TvirtApp([], settings=settings, stats=False)
    async with app.run_test(size=SIZE):
        assert set_sharing(app, "maybe") == "SSH connection sharing is on or off, not 'maybe'."
        assert sshmux.sharing() is True and not path.exists()
        assert set_sharing(app, "off") == ""
        saved = path.read_bytes()
        # A directory where config.save writes its temporary file (tests may run as root,
        # whom file permissions do not stop).
        path.with_name(path.name + ".tmp").mkdir()
        error = set_sharing(app, "on")
        assert error.startswith("Could not save SSH connection sharing")
        assert sshmux.sharing() is False and settings.share_connections is False
        assert path.read_bytes() == saved
