"""HostManager names its hosts by tvirt.labels: two URIs to the one local libvirtd share
a URI label and a hostname, so the second is told apart by its socket; the inventory, the
worker's own sentences and the ops layer all say the same label, and no host's label ever
goes back to one it had before."""

from __future__ import annotations

from collections import defaultdict

import pytest

from conftest import Testbed, wait_for
from tvirt.inventory import Inventory
from tvirt.manager import SYSTEM_SOCKETS, HostManager
from tvirt.model import HostState
from tvirt.ops.run import refused
from tvirt.updates import HostChanged, Update
from tvirt.uri import parse_uri

pytestmark = pytest.mark.real


def test_two_uris_to_one_daemon_get_unique_stable_labels(testbed: Testbed) -> None:
    socket = next((str(p) for p in SYSTEM_SOCKETS if p.exists()), "")
    assert socket, "the test bed's libvirtd has no socket"
    inventory = Inventory()
    history: dict[str, list[str]] = defaultdict(list)

    def sink(update: Update) -> None:
        if isinstance(update, HostChanged):
            labels = history[update.host.host_id]
            if not labels or labels[-1] != update.host.label:
                labels.append(update.host.label)
        inventory.apply(update)

    manager = HostManager(sink, readonly=True, reconnect=False)
    try:
        plain, by_socket = manager.add_all(
            [testbed.qemu_uri, parse_uri(f"{testbed.qemu_uri}?socket={socket}").uri]
        )
        wait_for(
            lambda: {plain.host_id, by_socket.host_id} <= inventory.listed, 30, "both listed"
        )
        hosts = inventory.hosts
        assert all(h.state is HostState.CONNECTED and h.hostname for h in hosts.values())
        name = hosts[plain.host_id].hostname
        expected = {
            plain.host_id: f"{name} qemu/system",
            by_socket.host_id: f"{name} qemu/system (socket={socket})",
        }
        wait_for(lambda: {h: i.label for h, i in hosts.items()} == expected, 10, "labels")
        assert {w.host_id: w.label for w in (plain, by_socket)} == expected
        refusal = refused(by_socket, "start web01")
        assert refusal is not None and refusal.host == expected[by_socket.host_id]
        assert f"on {expected[by_socket.host_id]};" in str(refusal)
        for labels in history.values():
            assert len(labels) == len(set(labels)), labels  # never back to an old one
        # Alone again, the first host is named by its URI, and reported so.
        manager.remove(by_socket.host_id)
        wait_for(
            lambda: inventory.hosts[plain.host_id].label == "localhost qemu/system", 10,
            "the label of the host left alone",
        )
        assert plain.label == "localhost qemu/system"
    finally:
        manager.stop()
