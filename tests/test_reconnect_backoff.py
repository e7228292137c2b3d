"""The reconnect backoff (1, 2, 4, 8, then every 10 s) against the real libvirtd.

The worker connects through a Unix-socket proxy in front of libvirtd's socket: with the
proxy stopped its socket does not exist and every attempt fails for real; stopping it
while connected cuts the connection (EOF). The worker reads time from a fake clock that
the test moves forward in half-second steps, so 35 s of backoff take no wall time.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from unix_proxy import UnixProxy

from conftest import Recorder, Testbed, wait_for
from tvirt.host import HostWorker
from tvirt.model import HostState
from tvirt.updates import DomainsListed, HostChanged
from tvirt.uri import parse_uri

pytestmark = pytest.mark.real
STEP = 0.5  # every backoff delay is a multiple of it


class FakeClock:
    """Stands still until the test moves it; floats are read and written atomically."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Bench:
    def __init__(self, socket: Path) -> None:
        self.rec = Recorder()
        self.clock = FakeClock()
        self.proxy = UnixProxy(socket)
        uri = parse_uri(f"qemu:///system?socket={socket}")
        self.worker = HostWorker(uri, self.rec, clock=self.clock)

    def attempts(self) -> list[HostChanged]:
        return [
            u for u in self.rec.updates
            if isinstance(u, HostChanged) and u.host.state is HostState.CONNECTING
        ]

    def settle(self) -> None:
        """Two jobs through the worker: after the second has run, the worker's loop has
        compared the clock with its next attempt at least once since the clock moved."""
        for _ in range(2):
            self.worker.call(lambda _conn: None).exception(30)
        # An attempt started runs on a thread of its own: wait until its result is taken.
        wait_for(lambda: not self.worker.opening, 30, "the attempt to end")

    def step_until_attempt(self, limit: float = 30.0) -> float:
        """Move the clock in steps until the worker tries to connect; the time it tried."""
        before = len(self.attempts())
        start = self.clock.now
        while self.clock.now - start < limit:
            self.clock.now += STEP
            self.settle()
            if len(self.attempts()) > before:
                return self.clock.now
        raise AssertionError(f"no attempt within {limit:g} fake seconds")

    def state(self) -> HostState:
        return self.worker.info.state


@pytest.fixture
def bench(testbed: Testbed, tmp_path: Path) -> Iterator[Bench]:
    assert testbed.qemu_uri.startswith("qemu:///system")
    b = Bench(tmp_path / "libvirt-sock")
    try:
        yield b
    finally:
        b.worker.stop()
        b.proxy.stop()


def test_retry_delays_double_to_ten_seconds_then_reconnect(bench: Bench) -> None:
    # The socket does not exist: the first attempt, at once, fails for real.
    bench.worker.start()
    wait_for(lambda: bench.state() is HostState.DISCONNECTED, 30, "the first failure")
    assert "socket was not found" in bench.worker.info.error
    tried = [bench.clock.now]
    for _ in range(6):
        tried.append(bench.step_until_attempt())
        wait_for(lambda: bench.state() is HostState.DISCONNECTED, 30, "the attempt to fail")
    delays = [b - a for a, b in pairwise(tried)]
    assert delays == [1, 2, 4, 8, 10, 10]

    # The socket appears: the next attempt, 10 s after the last, connects and lists.
    bench.proxy.start()
    assert bench.step_until_attempt() - tried[-1] == 10
    wait_for(lambda: bench.state() is HostState.CONNECTED, 30, "the reconnect")
    listed = sum(isinstance(u, DomainsListed) for u in bench.rec.updates)
    assert listed == 1

    # The connection drops (EOF): the same backoff starts again from 1 s.
    bench.proxy.stop()
    wait_for(lambda: bench.state() is HostState.DISCONNECTED, 30, "the loss to be noticed")
    assert "Connection lost" in bench.worker.info.error
    tried = [bench.clock.now]
    for _ in range(5):
        tried.append(bench.step_until_attempt())
        wait_for(lambda: bench.state() is HostState.DISCONNECTED, 30, "the attempt to fail")
    delays = [b - a for a, b in pairwise(tried)]
    assert delays == [1, 2, 4, 8, 10]

    bench.proxy.start()
    bench.step_until_attempt()
    wait_for(lambda: bench.state() is HostState.CONNECTED, 30, "the second reconnect")
    wait_for(lambda: sum(isinstance(u, DomainsListed) for u in bench.rec.updates) == 2, 30,
             "a fresh listing after reconnecting")
