"""The stats tiers: light groups for every VM above the full stats limit, heavy groups
only for a watched VM, on a real test-driver connection; the details screen's sentence;
and the setting, set and set back from the app.

The connection is the real test driver; `Recording` only writes down which groups and
domains the sampler asks for before passing each call on unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import libvirt
import pytest
from textual.widgets import Static

from tui_helpers import host_loaded, until
from tvirt import config
from tvirt.screens.app import TvirtApp
from tvirt.screens.stats_limit import set_limit
from tvirt.screens.vm_detail import VMDetailScreen
from tvirt.ticker import FULL_GROUPS, HEAVY_GROUPS, LIGHT_GROUPS, HostSampler
from tvirt.tiers import StatsTiers

FIXTURES = Path(__file__).parent / "fixtures"
LAB = f"test://{FIXTURES / 'lab.xml'}"
WEB01 = "00000000-0000-4000-8000-000000000001"
HOST = "lab"


class Recording:
    """A real connection that records the stats calls made on it."""

    def __init__(self, conn: libvirt.virConnect) -> None:
        self.conn = conn
        self.calls: list[tuple[str, int, tuple[str, ...]]] = []

    def getAllDomainStats(self, groups: int, flags: int) -> Any:
        self.calls.append(("all", groups, ()))
        return self.conn.getAllDomainStats(groups, flags)

    def domainListGetStats(self, doms: list[Any], groups: int, flags: int) -> Any:
        self.calls.append(("list", groups, tuple(sorted(d.UUIDString() for d in doms))))
        return self.conn.domainListGetStats(doms, groups, flags)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


@pytest.fixture
def recording() -> Recording:
    conn = libvirt.open(LAB)
    yield Recording(conn)
    conn.close()


def _stats_calls(rec: Recording) -> list[tuple[str, int, tuple[str, ...]]]:
    calls, rec.calls = rec.calls, []
    return calls


def test_every_group_for_every_vm_up_to_the_limit(recording: Recording) -> None:
    tiers = StatsTiers(limit=6)
    sampler = HostSampler(tiers=tiers, host_id=HOST)
    for _ in range(2):
        sample = sampler(recording)
        assert _stats_calls(recording) == [("all", FULL_GROUPS, ())]
    assert len(sample.domains) == 6 and tiers.total == 6 and tiers.full()


def test_light_groups_above_the_limit_and_heavy_for_the_watched_vm(recording: Recording) -> None:
    tiers = StatsTiers(limit=5)
    sampler = HostSampler(tiers=tiers, host_id=HOST, known_vcpus=lambda uuid: 2)
    sampler(recording)  # the first tick counts the host's VMs: 6, over the limit
    _stats_calls(recording)
    sample = sampler(recording)
    assert _stats_calls(recording) == [("all", LIGHT_GROUPS, ())]
    # No VCPU group: each VM's vCPUs come from the host's listing, for its CPU %.
    assert {d.vcpus for d in sample.domains} == {2}

    tiers.watch(f"{HOST}/{WEB01}")
    tiers.watch(f"other-host/{WEB01}")  # the same UUID on another host is not this one's
    sampler(recording)
    assert _stats_calls(recording) == [
        ("all", LIGHT_GROUPS, ()),
        ("list", HEAVY_GROUPS, (WEB01,)),
    ]
    tiers.unwatch(f"{HOST}/{WEB01}")
    sampler(recording)
    assert _stats_calls(recording) == [("all", LIGHT_GROUPS, ())]

    tiers.set_limit(6)  # set back up: every group again
    sampler(recording)
    assert _stats_calls(recording) == [("all", FULL_GROUPS, ())]


def test_without_tiers_every_group_is_read(recording: Recording) -> None:
    """The command line and benchmarks sample without tiers: nothing is left out."""
    HostSampler()(recording)
    assert _stats_calls(recording) == [("all", FULL_GROUPS, ())]


def test_limit_is_validated() -> None:
    with pytest.raises(ValueError, match="whole number"):
        StatsTiers().set_limit(-1)


async def test_details_say_where_figures_are_limited() -> None:
    app = TvirtApp(uris=[LAB], full_stats_limit=1)
    async with app.run_test(size=(120, 36)) as pilot:
        await host_loaded(pilot, LAB, 6)
        await until(pilot, lambda: app.tiers.total == 6, "a tick counted the lab's VMs")
        table = app.dashboard.table
        table.move_cursor(row=table.get_row_index(f"{LAB}/{WEB01}"))
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, VMDetailScreen), "details")
        assert app.tiers.watched_on(LAB) == {WEB01}
        words = str(app.screen.query_one("#detail-status", Static).render())
        assert "more than 1 VM watched" in words
        assert "history starts when this screen opens" in words
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard, "back")
        assert app.tiers.watched_on(LAB) == frozenset()

        # Up to the limit, nothing is limited and the sentence is gone.
        assert set_limit(app, 1000) == ""
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, VMDetailScreen), "details again")
        words = str(app.screen.query_one("#detail-status", Static).render())
        assert "watched" not in words and "Escape: back" in words


async def test_the_limit_is_set_saved_and_set_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    settings = config.Config(path=path)
    app = TvirtApp(uris=[LAB], settings=settings, stats=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await host_loaded(pilot, LAB, 6)
        assert set_limit(app, 50) == ""
        assert app.tiers.limit == 50 and config.load(path).full_stats_limit == 50
        assert set_limit(app, 1000) == ""  # and back to the default
        assert app.tiers.limit == 1000 and config.load(path).full_stats_limit == 1000
        assert "whole number" in set_limit(app, -3)
        assert app.tiers.limit == 1000

        # A save that fails changes neither the file nor the running limit.
        # (A directory where config.save writes its temporary file: tests may run as root,
        # whom file permissions do not stop.)
        saved = path.read_bytes()
        path.with_name(path.name + ".tmp").mkdir()
        error = set_limit(app, 7)
        assert error.startswith("Could not save the full stats limit")
        assert app.tiers.limit == 1000 and settings.full_stats_limit == 1000
        assert path.read_bytes() == saved


def test_config_reads_and_refuses_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[ui]\nfull_stats_limit = 20\n")
    assert config.load(path).full_stats_limit == 20
    assert config.load(tmp_path / "none.toml").full_stats_limit == 1000
    path.write_text('[ui]\nfull_stats_limit = "many"\n')
    with pytest.raises(config.ConfigError, match="full_stats_limit"):
        config.load(path)
