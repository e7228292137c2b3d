"""The full stats limit, set from the command palette and saved in the config.

Any value it can set it can set back (a whole number from 0 up), and a save that fails
changes nothing: neither the config file (written atomically) nor the running limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tvirt import config
from tvirt.tiers import limit_problem
from tvirt.words import plural

from .form import Field, FormDialog

if TYPE_CHECKING:
    from .app import TvirtApp

TITLE = "Full stats limit"


def _check(text: str) -> str:
    value: object = int(text) if text.strip().isdigit() else text
    problem = limit_problem(value)
    return f"{problem[0].upper()}{problem[1:]}." if problem else ""


def set_limit(app: TvirtApp, limit: int) -> str:
    """Use and save `limit`; returns a sentence saying why it failed, or ""."""
    problem = limit_problem(limit)
    if problem:
        return f"{problem[0].upper()}{problem[1:]}."
    before = app.tiers.limit
    path = None
    if app.settings is not None:
        saved = app.settings.full_stats_limit
        app.settings.full_stats_limit = limit
        try:
            path = config.save(app.settings)
        except OSError as exc:
            app.settings.full_stats_limit = saved
            return f"Could not save the full stats limit: {exc.strerror}."
    app.tiers.set_limit(limit)
    where = f", saved to {path}" if path is not None else ""
    app.say(f"Full stats limit now {plural(limit, 'VM')} (was {before}){where}.")
    app.refresh_stats_status()
    return ""


def ask_limit(app: TvirtApp) -> None:
    async def apply(values: list[str]) -> str:
        return set_limit(app, int(values[0]))

    text = (
        f"Up to this many VMs in all ({app.tiers.total} now), every VM's disk, network "
        "and per-vCPU figures are read each tick; above it, only for VMs whose details "
        "are open. State, CPU and memory are read for every VM either way."
    )
    app.push_screen(
        FormDialog(
            TITLE,
            [Field("VMs", str(app.tiers.limit), check=_check)],
            text=text,
            apply=apply,
        )
    )
