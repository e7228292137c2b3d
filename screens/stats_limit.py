"""The full stats limit and the VMs read per tick, set from the command palette and saved
in the config.

Any value it can set it can set back (whole numbers: the limit from 0 up, the VMs a tick
from 1 up), and a refused value or a save that fails changes nothing: neither the config
file (written atomically) nor the running values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tvirt import config
from tvirt.recheck import recheck_words
from tvirt.tiers import budget_problem, limit_problem
from tvirt.words import plural

from .form import Field, FormDialog

if TYPE_CHECKING:
    from .app import TvirtApp

TITLE = "Full stats limit"


def _sentence(problem: str | None) -> str:
    return f"{problem[0].upper()}{problem[1:]}." if problem else ""


def _number(text: str) -> object:
    return int(text) if text.strip().isdigit() else text


def _check(text: str) -> str:
    return _sentence(limit_problem(_number(text)))


def _check_budget(text: str) -> str:
    return _sentence(budget_problem(_number(text)))


def set_limit(app: TvirtApp, limit: int, budget: int | None = None) -> str:
    """Use and save `limit` (and `budget`, the VMs read per tick, if given); returns a
    sentence saying why it failed, or ""."""
    budget = app.tiers.budget if budget is None else budget
    problem = limit_problem(limit) or budget_problem(budget)
    if problem:
        return _sentence(problem)
    before, budget_before = app.tiers.limit, app.tiers.budget
    path = None
    if app.settings is not None:
        saved = app.settings.full_stats_limit, app.settings.vms_per_tick
        app.settings.full_stats_limit, app.settings.vms_per_tick = limit, budget
        try:
            path = config.save(app.settings)
        except OSError as exc:
            app.settings.full_stats_limit, app.settings.vms_per_tick = saved
            return f"Could not save the full stats limit: {exc.strerror}."
    app.tiers.set_limit(limit)
    app.tiers.set_budget(budget)
    where = f", saved to {path}" if path is not None else ""
    parts = []
    if limit != before or budget == budget_before:
        parts.append(f"Full stats limit now {plural(limit, 'VM')} (was {before})")
    if budget != budget_before:
        parts.append(f"{plural(budget, 'VM')} read a tick now (was {budget_before})")
    words = "; ".join(parts)
    app.say(f"{words[0].upper()}{words[1:]}{where}.")
    app.refresh_stats_status()
    return ""


def ask_limit(app: TvirtApp) -> None:
    async def apply(values: list[str]) -> str:
        return set_limit(app, int(values[0]), int(values[1]))

    tiers = app.tiers
    slower = tiers.refresh_words(app.stats_interval)
    now = f"Now {slower}." if slower else "Now every VM's figures refresh every tick."
    if later := recheck_words(app.manager.rechecks):
        now += f" With this many VMs, {later}."
    text = (
        f"Up to the full stats limit of VMs in all ({tiers.total} now), every VM's disk, "
        "network and per-vCPU figures are read each tick; above it, only for VMs whose "
        "details are open. Above the VMs read a tick, each VM's state, CPU and memory "
        "figures refresh once in several ticks, so that each tick reads about that many; "
        f"VMs whose details are open refresh every tick. {now}"
    )
    app.push_screen(
        FormDialog(
            TITLE,
            [
                Field("VMs", str(tiers.limit), check=_check),
                Field("VMs read a tick", str(tiers.budget), check=_check_budget),
            ],
            text=text,
            apply=apply,
        )
    )
