"""Migration on the lab's node1 and node2: `tvirt migrate` (live there and back, offline,
copy storage, Ctrl-C) and the app's migrate key, on real hosts over qemu+ssh.

One guest boots once on node1 for the module; every test that moves it brings it home
(`home`), so the next test finds it running on node1 again.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import libvirt
import pytest
from test_console_real import Guest
from test_tui_dashboard import select, table

from conftest import Lab, LabNode, _remove_domain, guest_xml, tvirt_bin
from tui_helpers import until
from tvirt.model import HostState
from tvirt.screens.app import TvirtApp
from tvirt.screens.migrate import MigrateDialog, MigrationScreen

pytestmark = pytest.mark.real

TVIRT = tvirt_bin()


@dataclass(frozen=True)
class Pair:
    source: LabNode
    target: LabNode
    name: str  # the shared booted guest, at home on source


def where(node: LabNode, name: str) -> str:
    """'running', 'shut off' or 'absent': the domain on one node, as libvirt says."""
    conn = libvirt.open(node.uri)
    try:
        dom = conn.lookupByName(name)
        return "running" if dom.isActive() else "shut off"
    except libvirt.libvirtError:
        return "absent"
    finally:
        conn.close()


def remove(node: LabNode, name: str) -> None:
    _remove_domain(node.uri, name)


def home(pair: Pair) -> None:
    """Bring the shared guest back to node1 with plain libvirt, whatever a test left."""
    if where(pair.target, pair.name) == "running":
        conn = libvirt.open(pair.target.uri)
        try:
            conn.lookupByName(pair.name).migrateToURI3(
                pair.source.uri, {},
                libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_LIVE
                | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE,
            )
        finally:
            conn.close()
    assert where(pair.source, pair.name) == "running"


@pytest.fixture(scope="module")
def pair(lab: Lab) -> Iterator[Pair]:
    source, target = lab.nodes[0], lab.nodes[1]
    name = f"tvirt-lab-migrate-{os.getpid()}"
    for node in (source, target):
        remove(node, name)
    conn = libvirt.open(source.uri)
    try:
        conn.defineXML(guest_xml(name, lab.guest_kernel, lab.guest_initrd))
    finally:
        conn.close()
    guest = Guest(source.uri, name)
    try:
        guest.ensure_running()  # booted to its shell: the console answers
        yield Pair(source, target, name)
    finally:
        guest.conn.close()
        for node in (source, target):
            remove(node, name)


def tvirt(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TVIRT, *args], capture_output=True, text=True, timeout=timeout)


def console_answers(node: LabNode, name: str) -> bool:
    """The guest's serial console, through `tvirt console` on node, answers a sum."""
    done = subprocess.run(
        [TVIRT, "-c", node.uri, "console", name],
        input=b"echo $((6*7))\n", capture_output=True, timeout=60,
    )
    return done.returncode == 0 and b"42" in done.stdout.split()


def test_live_migration_there_and_back_keeps_the_console_answering(pair: Pair) -> None:
    src, dst = pair.source, pair.target
    try:
        # The destination by its hostname, among the connected hosts; JSON result.
        out = tvirt("-c", src.uri, "-c", dst.uri, "--json", "migrate", pair.name, dst.name)
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["state"] == "migrated"
        assert result["destination_uri"] == dst.uri
        assert result["destination"].startswith(dst.name)
        assert (where(dst, pair.name), where(src, pair.name)) == ("running", "absent")
        assert console_answers(dst, pair.name)
        # Back, the destination given as a URI, connected to node2 alone.
        back = tvirt("-c", dst.uri, "migrate", pair.name, src.uri)
        assert back.returncode == 0, back.stderr
        assert back.stdout.strip().startswith(f"Migrated {pair.name} to ")
        assert (where(src, pair.name), where(dst, pair.name)) == ("running", "absent")
        assert console_answers(src, pair.name)
    finally:
        home(pair)


def test_a_destination_that_is_the_source_or_unknown_is_refused(pair: Pair) -> None:
    same = tvirt("-c", pair.source.uri, "migrate", pair.name, pair.source.name)
    assert same.returncode == 2
    assert same.stderr.strip() == f"tvirt: {pair.name} is already on {pair.source.name} " \
        "qemu/system."
    unknown = tvirt("-c", pair.source.uri, "migrate", pair.name, "node9")
    assert unknown.returncode == 2
    assert "No host called 'node9' is connected; give its URI" in unknown.stderr
    assert where(pair.source, pair.name) == "running"


def test_offline_migration_moves_a_stopped_vms_definition(lab: Lab, pair: Pair) -> None:
    name = f"tvirt-lab-offline-{os.getpid()}"
    conn = libvirt.open(pair.source.uri)
    try:
        conn.defineXML(guest_xml(name, lab.guest_kernel, lab.guest_initrd))
    finally:
        conn.close()
    try:
        out = tvirt("-c", pair.source.uri, "-c", pair.target.uri, "migrate", "--offline",
                    name, pair.target.name)
        assert out.returncode == 0, out.stderr
        assert (where(pair.target, name), where(pair.source, name)) == ("shut off", "absent")
    finally:
        for node in (pair.source, pair.target):
            remove(node, name)


def _dir_pool(node: LabNode, name: str) -> None:
    """A dir pool of this name on the node, in its own /var/lib/libvirt (each lab node
    has a private one), so the two nodes' pools share a path but not their files."""
    conn = libvirt.open(node.uri)
    try:
        pool = conn.storagePoolDefineXML(
            f"<pool type='dir'><name>{name}</name>"
            f"<target><path>/var/lib/libvirt/images/{name}</path></target></pool>"
        )
        pool.build(0)
        pool.create(0)
    finally:
        conn.close()


def _drop_pool(node: LabNode, name: str) -> None:
    conn = libvirt.open(node.uri)
    try:
        pool = conn.storagePoolLookupByName(name)
    except libvirt.libvirtError:
        conn.close()
        return  # never made there
    try:
        if pool.isActive():
            for vol in pool.listAllVolumes():
                vol.delete(0)
            pool.destroy()
        pool.delete(0)
        pool.undefine()
    finally:
        conn.close()


def _volume_names(node: LabNode, pool_name: str) -> list[str]:
    conn = libvirt.open(node.uri)
    try:
        pool = conn.storagePoolLookupByName(pool_name)
        pool.refresh(0)
        return sorted(pool.listVolumes())
    finally:
        conn.close()


def test_copy_storage_needs_the_pool_on_the_destination_then_copies(
    lab: Lab, pair: Pair
) -> None:
    name = f"tvirt-lab-copy-{os.getpid()}"
    try:
        _dir_pool(pair.source, name)
        conn = libvirt.open(pair.source.uri)
        try:
            vol = conn.storagePoolLookupByName(name).createXML(
                "<volume><name>data.raw</name><capacity unit='MiB'>8</capacity>"
                "<target><format type='raw'/></target></volume>", 0)
            disk = (f"<devices><disk type='file' device='disk'><driver name='qemu' "
                    f"type='raw'/><source file='{vol.path()}'/><target dev='vdb' "
                    "bus='virtio'/></disk>")
            xml = guest_xml(name, lab.guest_kernel, lab.guest_initrd).replace("<devices>", disk)
            conn.defineXML(xml).create()
        finally:
            conn.close()
        args = ("-c", pair.source.uri, "-c", pair.target.uri, "migrate", "--copy-storage",
                name, pair.target.name)
        missing = tvirt(*args)
        assert missing.returncode == 1
        assert missing.stderr.strip().splitlines()[-1] == (
            f"tvirt: {pair.target.name} qemu/system has no storage "
            f"pool for {name}'s disks (none at /var/lib/libvirt/images/{name}); define the "
            f"same pool on {pair.target.name} qemu/system to copy them there.")
        assert where(pair.source, name) == "running"
        _dir_pool(pair.target, name)
        out = tvirt(*args)
        assert out.returncode == 0, out.stderr
        assert (where(pair.target, name), where(pair.source, name)) == ("running", "absent")
        assert _volume_names(pair.target, name) == ["data.raw"]
    finally:
        for node in (pair.source, pair.target):
            remove(node, name)
            _drop_pool(node, name)


def test_ctrl_c_cancels_and_the_vm_stays_running_on_the_source(pair: Pair) -> None:
    conn = libvirt.open(pair.source.uri)
    dom = conn.lookupByName(pair.name)
    speed = dom.migrateGetMaxSpeed()
    # 1 MiB/s: the guest's 128 MiB take minutes, so the cancel lands mid-way.
    dom.migrateSetMaxSpeed(1)
    proc = subprocess.Popen(
        [TVIRT, "-c", pair.source.uri, "-c", pair.target.uri, "migrate", pair.name,
         pair.target.name],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:  # a progress line with data, rate and remaining
            lines.append(line)
            if " of " in line and "B/s, " in line and "to go" in line:
                break
        else:
            raise AssertionError(f"no progress line: {lines}")
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        assert proc.wait(timeout=120) == 130, rest
        assert rest.strip() == (f"tvirt: Cancelled: {pair.name} was not migrated and stays "
                                f"on {pair.source.name} qemu/system.")
        assert (where(pair.source, pair.name), where(pair.target, pair.name)) == (
            "running", "absent")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        dom.migrateSetMaxSpeed(speed)
        conn.close()
        home(pair)
    assert console_answers(pair.source, pair.name)


# -- the app ------------------------------------------------------------------
def ready(app: TvirtApp, pair: Pair) -> bool:
    """Both nodes connected (the dialog offers only connected hosts), the guest listed."""
    hosts = [app.hosts.get(node.uri) for node in (pair.source, pair.target)]
    return all(h is not None and h.state is HostState.CONNECTED for h in hosts) and any(
        vm.name == pair.name for vm in table(app).vms.values())


async def test_app_migrates_the_selected_vm_and_its_row_changes_host_in_place(
    pair: Pair,
) -> None:
    app = TvirtApp([pair.source.uri, pair.target.uri], stats=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: ready(app, pair), "both hosts and the guest", 60)
            uuid = next(vm.uuid for vm in table(app).vms.values() if vm.name == pair.name)
            select(app, pair.name)
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, MigrateDialog), "the dialog")
            dialog = app.screen
            assert isinstance(dialog, MigrateDialog)
            assert [label for _key, label in dialog.destinations] == [
                h.label for h in app.hosts.values() if h.host_id == pair.target.uri]
            await pilot.press("enter", "enter", "enter")  # node2, live, shared storage
            await until(pilot, lambda: not isinstance(app.screen, MigrateDialog), "asked")
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, MigrationScreen), "progress")
            # Every frame until the end: exactly one row for the VM, on node1 then node2.
            hosts_seen: list[str] = []
            rows_seen: set[int] = set()

            def moved() -> bool:
                rows = [key for key in table(app).rows if str(key.value).endswith(uuid)]
                rows_seen.add(len(rows))
                if rows:
                    host = str(table(app).get_cell(rows[0], "host"))
                    if not hosts_seen or hosts_seen[-1] != host:
                        hosts_seen.append(host)
                return any(f"Migrated {pair.name} to" in m for m in app.messages)

            await until(pilot, moved, "the migration's result", 120)
            await until(pilot, lambda: moved() and hosts_seen[-1].startswith(pair.target.name),
                        "the row on node2", 30)
            assert rows_seen == {1}
            assert [h.split()[0] for h in hosts_seen] == [pair.source.name, pair.target.name]
            assert not [m for m in app.messages if "removed" in m and pair.name in m]
            assert where(pair.target, pair.name) == "running"
    finally:
        home(pair)


async def test_app_escape_cancels_the_migration_and_the_vm_stays(pair: Pair) -> None:
    conn = libvirt.open(pair.source.uri)
    dom = conn.lookupByName(pair.name)
    speed = dom.migrateGetMaxSpeed()
    dom.migrateSetMaxSpeed(1)  # minutes for its memory: Escape lands mid-way
    app = TvirtApp([pair.source.uri, pair.target.uri], stats=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: ready(app, pair), "both hosts and the guest", 60)
            select(app, pair.name)
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, MigrateDialog), "the dialog")
            await pilot.press("enter", "enter", "enter", "y")
            await until(pilot, lambda: isinstance(app.screen, MigrationScreen), "progress")
            screen = app.screen
            words = "#migration-text"
            # The progress line says how much, how fast and what is left.
            await until(pilot, lambda: "to go" in str(screen.query_one(words).render()),
                        "a progress line", 60)
            line = str(screen.query_one(words).render())
            assert f"{pair.name}: migrated " in line and " of " in line and "B/s, " in line
            await pilot.press("escape")
            assert app.screen is app.dashboard
            await until(pilot, lambda: any(m.startswith("Cancelled: ") for m in app.messages),
                        f"the cancel's outcome: {app.messages}", 60)
            assert (f"Cancelled: {pair.name} was not migrated and stays on "
                    f"{pair.source.name}") in app.messages[-1]
            rows = [vm for vm in table(app).vms.values() if vm.name == pair.name]
            assert [vm.host_id for vm in rows] == [pair.source.uri]
            assert (where(pair.source, pair.name), where(pair.target, pair.name)) == (
                "running", "absent")
    finally:
        dom.migrateSetMaxSpeed(speed)
        conn.close()
        home(pair)


def _migrate_outside(pair: Pair, speed: int | None = None) -> None:
    """node1 to node2 with plain libvirt, as virsh migrate --live --p2p would (not tvirt);
    speed (MiB/s) slows it down."""
    conn = libvirt.open(pair.source.uri)
    try:
        dom = conn.lookupByName(pair.name)
        if speed is not None:
            dom.migrateSetMaxSpeed(speed)
        dom.migrateToURI3(
            pair.target.uri, {},
            libvirt.VIR_MIGRATE_PEER2PEER | libvirt.VIR_MIGRATE_LIVE
            | libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE,
        )
    finally:
        conn.close()


class RowWatch:
    """Every frame's rows of one VM: how many, and the hosts they showed in turn."""

    def __init__(self, app: TvirtApp, uuid: str) -> None:
        self.app, self.uuid = app, uuid
        self.hosts: list[str] = []
        self.counts: set[int] = set()

    def sample(self) -> None:
        rows = [key for key in table(self.app).rows if str(key.value).endswith(self.uuid)]
        self.counts.add(len(rows))
        if rows:
            host = str(table(self.app).get_cell(rows[0], "host")).split()[0]
            if not self.hosts or self.hosts[-1] != host:
                self.hosts.append(host)


async def test_a_migration_started_outside_moves_the_row_in_place(pair: Pair) -> None:
    """virsh (here: libvirt itself) migrates the VM while the app watches both hosts: one
    row throughout, node1 then node2, told as a move and not as a removal."""
    app = TvirtApp([pair.source.uri, pair.target.uri], stats=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: ready(app, pair), "both hosts and the guest", 60)
            uuid = next(vm.uuid for vm in table(app).vms.values() if vm.name == pair.name)
            watch = RowWatch(app, uuid)
            moving = asyncio.ensure_future(asyncio.to_thread(_migrate_outside, pair))

            def arrived() -> bool:
                watch.sample()
                return moving.done() and bool(watch.hosts) and watch.hosts[-1] == pair.target.name

            await until(pilot, arrived, "the row on node2", 120)
            await moving
            assert watch.counts == {1}
            assert watch.hosts == [pair.source.name, pair.target.name]
            assert any(m.startswith(f"{pair.name}: moved from {pair.source.name}")
                       for m in app.messages), app.messages
            assert not [m for m in app.messages if "removed" in m and pair.name in m]
            assert pair.name not in [vm.name for vm in table(app).vms.values()
                                     if vm.host_id == pair.source.uri]
    finally:
        home(pair)


async def test_an_outside_migration_aborted_leaves_one_row_on_the_source(pair: Pair) -> None:
    app = TvirtApp([pair.source.uri, pair.target.uri], stats=False)
    conn = libvirt.open(pair.source.uri)
    dom = conn.lookupByName(pair.name)
    speed = dom.migrateGetMaxSpeed()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: ready(app, pair), "both hosts and the guest", 60)
            uuid = next(vm.uuid for vm in table(app).vms.values() if vm.name == pair.name)
            watch = RowWatch(app, uuid)
            moving = asyncio.ensure_future(asyncio.to_thread(_migrate_outside, pair, 1))

            def begun() -> bool:
                watch.sample()
                return uuid in app.moves

            await until(pilot, begun, "the move seen on node2", 60)
            await asyncio.to_thread(dom.abortJob)
            with pytest.raises(libvirt.libvirtError):
                await moving

            def ended() -> bool:
                watch.sample()
                return uuid not in app.moves

            await until(pilot, ended, "the failed move dropped", 60)
            await pilot.pause(1)
            watch.sample()
            assert watch.counts == {1} and watch.hosts == [pair.source.name]
            assert (where(pair.source, pair.name), where(pair.target, pair.name)) == (
                "running", "absent")
    finally:
        dom.migrateSetMaxSpeed(speed)
        conn.close()
        home(pair)
