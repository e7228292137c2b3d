"""The migrate key's dialog logic and refusals, on test-driver hosts (no lab needed), and
the bookkeeping that keeps a moving VM's row in place (screens/moves.py).

The test driver cannot migrate, so a migration started here fails with libvirt's own
sentence; the real moves are tests/test_lab_migrate.py's.
"""

from __future__ import annotations

from test_tui_dashboard import ANNEX, LAB, running, said, select, table

from tui_helpers import until
from tvirt.model import HostInfo, HostState, VMInfo, VMState
from tvirt.readonly import refusal
from tvirt.screens.migrate import (
    COPY,
    LIVE,
    PAUSED,
    SHARED,
    MigrateDialog,
    MigrationScreen,
    destinations,
    fields,
    refused,
)
from tvirt.screens.moves import Moves


def vm(host: str = "h1", state: VMState = VMState.RUNNING) -> VMInfo:
    return VMInfo(host, "u-1", "web01", state, 1, 1024, False)


def host(host_id: str, label: str, state: HostState = HostState.CONNECTED) -> HostInfo:
    return HostInfo(host_id, host_id, label, state)


def test_destinations_are_the_other_connected_hosts_by_label() -> None:
    hosts = [host("h1", "node1"), host("h3", "Node3"), host("h2", "node2"),
             host("h4", "node4", HostState.DISCONNECTED), host("h5", "node5", HostState.FAILED)]
    assert destinations(vm("h1"), hosts) == [("h2", "node2"), ("h3", "Node3")]


def test_refusals_are_one_sentence_each() -> None:
    some = [("h2", "node2")]
    assert refused(None, False, some) == "No VM is selected to migrate."
    assert refused(vm(), True, some) == refusal("migrate web01")
    assert refused(vm(), False, some, busy=True) == "web01 is already being migrated."
    assert refused(vm(), False, []) == (
        "There is no other connected host to migrate web01 to; add one with a first.")
    assert refused(vm(), False, some) == ""
    # Read-only comes first: no other sentence hides that nothing could change.
    assert refused(vm(), True, []) == refusal("migrate web01")


def test_a_running_vm_offers_live_or_offline_and_copying_a_shut_off_one_neither() -> None:
    choices = [("h2", "node2")]
    where, how, disks = fields(vm(), choices)
    assert (where.value, [k for k, _ in where.choices]) == ("h2", ["h2"])
    assert [k for k, _ in how.choices] == [LIVE, PAUSED] and how.value == LIVE
    assert [k for k, _ in disks.choices] == [SHARED, COPY] and disks.value == SHARED
    _where, how, disks = fields(vm(state=VMState.SHUTOFF), choices)
    assert [k for k, _ in how.choices] == [PAUSED]
    assert [k for k, _ in disks.choices] == [SHARED]


def test_moves_hold_the_arrival_until_the_source_lets_go_in_either_order() -> None:
    source, arrived = vm("h1"), VMInfo("h2", "u-1", "web01", VMState.PAUSED, 1, 1024, False)
    for order in ("arrival first", "removal first"):
        moves = Moves()
        moves.begin(source, "h2")
        assert moves.changed(source) is None  # the source's own changes are shown
        if order == "arrival first":
            assert moves.changed(arrived) is not None
            assert moves.settle("u-1") is None
            assert moves.removed("h1", "u-1") is not None
        else:
            assert moves.removed("h1", "u-1") is not None
            assert moves.settle("u-1") is None
            assert moves.listed("h2", (arrived,)) == ()  # held, not listed
        done = moves.settle("u-1")
        assert done is not None and done.arrived == arrived and done.source_key == source.key
        assert "u-1" not in moves


def test_a_failed_move_is_dropped_and_its_incoming_copy_forgotten() -> None:
    moves = Moves()
    moves.begin(vm("h1"), "h2")
    moves.changed(VMInfo("h2", "u-1", "web01", VMState.PAUSED, 1, 1024, False))
    assert moves.removed("h2", "u-1") is not None  # libvirt tore the incoming copy down
    assert moves.end("u-1", ok=True) is None  # a success waits for the hosts' reports
    dropped = moves.end("u-1", ok=False)
    assert dropped is not None and dropped.arrived is None and not dropped.left
    assert "u-1" not in moves


def test_an_outside_migration_begins_a_move_only_from_a_shown_row() -> None:
    source = vm("h1")
    incoming = VMInfo("h2", "u-1", "web01", VMState.PAUSED, 1, 1024, False)
    moves = Moves()
    # A VM migrated in from a host the app does not watch is simply a new row.
    assert not moves.arriving(incoming, {})
    assert not moves.arriving(incoming, {incoming.key: incoming})  # the same host is no move
    assert moves.arriving(incoming, {source.key: source})
    assert not moves.arriving(incoming, {source.key: source})  # begun once
    assert moves.changed(incoming) is not None
    assert moves.removed("h1", "u-1") is not None
    done = moves.settle("u-1")
    assert done is not None and done.outside and done.source_key == source.key


def test_a_failed_outside_migration_ends_when_its_incoming_copy_goes() -> None:
    source = vm("h1")
    incoming = VMInfo("h2", "u-1", "web01", VMState.PAUSED, 1, 1024, False)
    moves = Moves()
    assert moves.arriving(incoming, {source.key: source})
    moves.changed(incoming)
    # No call returns for a migration the app did not start: the teardown ends it.
    assert moves.removed("h2", "u-1") is not None
    assert "u-1" not in moves
    assert moves.changed(source) is None and moves.removed("h1", "u-1") is None


async def test_one_host_refuses_with_a_sentence() -> None:
    async with running(LAB) as (app, pilot):
        select(app, "web01")
        await pilot.press("m")
        await until(pilot, lambda: said(app, "There is no other connected host"), "refusal")
        assert not isinstance(app.screen, MigrateDialog)


async def test_read_only_refuses_before_the_dialog() -> None:
    async with running(LAB, ANNEX, readonly=True, vms=8) as (app, pilot):
        select(app, "web01")
        await pilot.press("m")
        await until(pilot, lambda: said(app, refusal("migrate web01")), "the refusal")
        assert not isinstance(app.screen, MigrateDialog)


async def test_the_dialog_lists_the_other_host_and_escape_leaves() -> None:
    async with running(LAB, ANNEX, vms=8) as (app, pilot):
        select(app, "web01")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MigrateDialog), "the dialog")
        dialog = app.screen
        assert isinstance(dialog, MigrateDialog)
        assert dialog.destinations == [(ANNEX, app.hosts[ANNEX].label)]
        await pilot.press("escape")
        await until(pilot, lambda: said(app, "Cancelled: did not migrate web01."), "cancel")
        assert app.screen is app.dashboard


async def test_a_refused_migration_says_why_and_the_row_stays() -> None:
    async with running(LAB, ANNEX, vms=8) as (app, pilot):
        select(app, "web01")
        key = table(app).vm_at_cursor()
        assert key is not None
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MigrateDialog), "the dialog")
        await pilot.press("enter", "enter", "enter", "y")
        await until(pilot, lambda: said(app, "Could not migrate web01: "), "the failure", 60)
        assert app.screen is app.dashboard  # the progress screen closed by itself
        assert not isinstance(app.screen, MigrationScreen)
        assert key.key in table(app).vms
        failure = next(m for m in app.messages if m.startswith("Could not migrate web01: "))
        assert "not supported" in failure and failure.endswith(".")
        assert key.uuid not in app.moves
