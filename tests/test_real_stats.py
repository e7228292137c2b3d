"""Stats from the real TCG guest on the real libvirtd, checked against the QEMU process.

The guest has no disk and no NIC (and its initramfs has no virtio drivers to use one), so
disk and network rates are only checked for shape here; test_stats_math.py covers their
maths with handcrafted samples.

TVIRT_RECORD_STATS=1 re-records tests/fixtures/domstats_real_guest.json.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import libvirt
import psutil
import pytest

from conftest import FIXTURES, Testbed, guest_xml, wait_for
from tvirt.events import ensure_event_loop
from tvirt.inventory import Inventory
from tvirt.manager import HostManager
from tvirt.model import VMState
from tvirt.stats import HostSample, StatsSnapshot
from tvirt.ticker import (
    NOWAIT,
    STATS_GROUPS,
    HostSampler,
    StatsTicker,
    TickScheduler,
    is_local,
)

pytestmark = pytest.mark.real

PROMPT = "tvirt-guest# "
BUSY = "while :; do :; done &\n"
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class SerialConsole:
    """The guest's ttyS0 through a non-blocking libvirt stream, read by the event loop."""

    def __init__(self, conn: libvirt.virConnect, dom: libvirt.virDomain) -> None:
        self._lock = threading.Lock()
        self._data = bytearray()
        self.stream = conn.newStream(libvirt.VIR_STREAM_NONBLOCK)
        dom.openConsole(None, self.stream, 0)
        self.stream.eventAddCallback(
            libvirt.VIR_STREAM_EVENT_READABLE
            | libvirt.VIR_STREAM_EVENT_ERROR
            | libvirt.VIR_STREAM_EVENT_HANGUP,
            self._readable,
            None,
        )

    def _readable(self, stream: libvirt.virStream, events: int, _opaque: object) -> None:
        if not events & libvirt.VIR_STREAM_EVENT_READABLE:
            return
        try:
            data = stream.recv(4096)
        except libvirt.libvirtError:
            return
        if isinstance(data, bytes):  # -2 means "would block"
            with self._lock:
                self._data.extend(data)

    def text(self) -> str:
        """Everything so far, minus terminal escapes (busybox asks ESC[6n before prompts)."""
        with self._lock:
            raw = bytes(self._data)
        return _ESCAPES.sub("", raw.decode(errors="replace"))

    def send(self, text: str) -> None:
        data = text.encode()
        while data:
            sent = self.stream.send(data)
            if sent < 0:  # would block
                time.sleep(0.01)
                continue
            data = data[sent:]

    def wait_for_shell(self, timeout: float = 60) -> None:
        wait_for(lambda: "TVIRT-GUEST-READY" in self.text(), timeout, "the guest to boot")
        ready = self.text().index("TVIRT-GUEST-READY")
        wait_for(lambda: PROMPT in self.text()[ready:], timeout, "the shell prompt")

    def run(self, command: str, timeout: float = 30) -> None:
        """Type a command and wait for the next prompt."""
        prompts = self.text().count(PROMPT)
        self.send(command)
        wait_for(lambda: self.text().count(PROMPT) > prompts, timeout, repr(command))

    def close(self) -> None:
        try:
            self.stream.eventRemoveCallback()
            self.stream.abort()
        except libvirt.libvirtError:
            pass


def qemu_process(name: str) -> psutil.Process:
    pid = int(Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip())
    return psutil.Process(pid)


def process_cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


@pytest.fixture
def conn(testbed: Testbed) -> Iterator[libvirt.virConnect]:
    ensure_event_loop()  # before the open, or the console stream never gets events
    conn = libvirt.open(testbed.qemu_uri)
    yield conn
    conn.close()


def test_busy_guest_cpu_readings_add_up_to_the_qemu_process_cpu_time(
    conn: libvirt.virConnect, guest: str, testbed: Testbed
) -> None:
    """Each reading, turned back into CPU seconds, lies between what the QEMU process had
    used just before and just after the two samples it spans: a check that holds however
    much CPU a loaded machine leaves the guest, where a share threshold would not."""
    dom = conn.lookupByName(guest)
    uuid = dom.UUIDString()
    inventory = Inventory()
    manager = HostManager(inventory.apply)
    scheduler = TickScheduler()
    console: SerialConsole | None = None
    seen: list[StatsSnapshot] = []
    # sample time -> QEMU's CPU seconds read on the worker thread just before and just
    # after that sample: libvirt read the guest's cpu.time in between.
    brackets: dict[float, tuple[float, float]] = {}
    lock = threading.Lock()
    proc: list[psutil.Process] = []
    # psutil's CPU seconds come in clock ticks, user and system each rounded down: a
    # difference of two readings may be up to four ticks off.
    slack = 4 / os.sysconf("SC_CLK_TCK")

    def on_sample(snap: StatsSnapshot) -> None:
        with lock:
            seen.append(snap)

    def guest_snaps() -> list[StatsSnapshot]:
        with lock:
            return [s for s in seen if s.vm(uuid) is not None]

    def bracket(snap: StatsSnapshot) -> tuple[float, float]:
        with lock:
            return brackets[snap.time]

    def cpu_seconds(snap: StatsSnapshot) -> float:
        """The guest's CPU seconds since the previous sample, back from the reading."""
        vm = snap.vm(uuid)
        assert vm is not None and vm.host_cpu_percent is not None and snap.elapsed is not None
        return vm.host_cpu_percent / 100 * snap.elapsed * snap.host.cpus

    try:
        dom.create()
        proc.append(qemu_process(guest))
        console = SerialConsole(conn, dom)
        worker = manager.add(testbed.qemu_uri)
        wait_for(lambda: worker.host_id in inventory.listed, 60, "the listing")
        inner = HostSampler(local=is_local(worker.uri))

        def sampler(c: libvirt.virConnect) -> HostSample:
            before = process_cpu_seconds(proc[0])
            sample = inner(c)
            after = process_cpu_seconds(proc[0])
            with lock:
                brackets[sample.time] = (before, after)
            return sample

        ticker = StatsTicker(worker, on_sample, interval=1.0, sampler=sampler,
                             scheduler=scheduler)
        ticker.start()
        console.wait_for_shell()

        start = len(guest_snaps())
        wait_for(lambda: len(guest_snaps()) >= start + 3, 30, "three idle samples")
        idle = guest_snaps()[-1].vm(uuid)
        assert idle is not None and idle.state is VMState.RUNNING
        assert idle.cpu_percent is not None, idle

        console.run(BUSY)
        start = len(guest_snaps())  # the next sample is the first taken while busy
        base = guest_snaps()[start - 1]
        # Wait for an amount of CPU time, not for a rate: one CPU second of QEMU between
        # the last sample before the loop and a later one, and at least three samples.
        wait_for(lambda: len(guest_snaps()) >= start + 3
                 and bracket(guest_snaps()[-1])[0] - bracket(base)[1] >= 1.0,
                 120, "one CPU second of the busy guest")
        snaps = guest_snaps()
        assert ticker.errors == 0  # so each sample's rates span it and the one before

        checked = 0
        for prev, snap in itertools.pairwise(snaps):
            assert snap.elapsed == pytest.approx(snap.time - prev.time)
            seconds = cpu_seconds(snap)
            (before0, after0), (before1, after1) = bracket(prev), bracket(snap)
            assert before1 - after0 - slack <= seconds <= after1 - before0 + slack, (
                seconds, bracket(prev), bracket(snap))
            checked += 1
        assert checked == len(snaps) - 1 >= start + 2

        busy = snaps[start:]
        used = sum(cpu_seconds(s) for s in busy)
        # The readings add up to the CPU second the process was seen to use while busy.
        assert used >= bracket(busy[-1])[0] - bracket(base)[1] - slack >= 1.0 - slack, used
        last = busy[-1]
        final = last.vm(uuid)
        assert final is not None and final.vcpus == 1
        print(f"idle {idle.cpu_percent:.1f}% busy {final and final.cpu_percent}% "
              f"over {len(busy)} samples, {used:.2f} CPU s")
        # The same CPU time as a share of the host; only the vCPU share is clamped at 100
        # (QEMU's own threads can push a one-vCPU VM a little past it).
        assert final is not None and final.host_cpu_percent is not None
        assert min(final.host_cpu_percent * last.host.cpus, 100) == pytest.approx(final.cpu_percent)

        # Local host detail (psutil) and the host's own CPU reading are there too.
        assert last.bulk and last.host.cpus == psutil.cpu_count()
        assert last.host.cpu_percent is not None and last.host.cpu_percent > 0
        assert last.host.memory_used_kib and last.host.memory_total_kib
        assert last.host.load1 is not None
        # No disk, no NIC: the groups are there but empty (count 0), so there is no rate
        # to show: unknown (n/a on screen), not 0 bytes per second.
        assert final.disk_read_bps is None and final.net_rx_bps is None
        assert final.memory_rss_kib and final.memory_kib == 128 * 1024
        assert ticker.errors == 0
    finally:
        scheduler.stop()
        if console is not None:
            console.close()
        manager.stop()
        if dom.isActive():
            dom.destroy()


def test_record_real_samples(
    conn: libvirt.virConnect, testbed: Testbed, tmp_path: Path
) -> None:
    """Record two bulk-stats samples of a busy guest (and one shut off), as the fixture has.

    Normally into tmp_path, checking their shape; TVIRT_RECORD_STATS=1 replaces the fixture.
    """
    name = "tvirt-test-stats-rec"
    try:
        conn.lookupByName(name).undefine()
    except libvirt.libvirtError:
        pass
    dom = conn.defineXML(guest_xml(name, testbed.guest_kernel, testbed.guest_initrd))
    console: SerialConsole | None = None

    def take() -> dict[str, object]:
        records = conn.getAllDomainStats(STATS_GROUPS, NOWAIT)
        when, wall = time.monotonic(), time.time()
        return {
            "time": when,
            "wall": wall,
            "node_cpu": conn.getCPUStats(libvirt.VIR_NODE_CPU_STATS_ALL_CPUS),
            "node_memory": conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS),
            "domains": [
                {"uuid": d.UUIDString(), "name": d.name(), "id": d.ID(), "stats": s}
                for d, s in records
                if d.name() == name
            ],
        }

    try:
        shutoff = take()
        dom.create()
        console = SerialConsole(conn, dom)
        console.wait_for_shell()
        console.run(BUSY)
        time.sleep(1)
        first = take()
        time.sleep(2)
        second = take()
    finally:
        if console is not None:
            console.close()
        if dom.isActive():
            dom.destroy()
        dom.undefine()
    record = {
        "note": "getAllDomainStats of the test guest running a busy loop; see test_real_stats",
        "host_cpus": conn.getInfo()[2],
        "shutoff": shutoff,
        "samples": [first, second],
    }
    replace = os.environ.get("TVIRT_RECORD_STATS") == "1"
    path = FIXTURES / "domstats_real_guest.json" if replace else tmp_path / "domstats.json"
    path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    (before,), (after,) = first["domains"], second["domains"]  # type: ignore[misc]
    assert after["id"] == before["id"] > 0
    assert after["stats"]["cpu.time"] > before["stats"]["cpu.time"]
    assert "balloon.maximum" in after["stats"] and "vcpu.current" in after["stats"]
