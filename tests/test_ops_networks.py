"""Network operations (tvirt.ops.networks): on libvirt's test driver (a lab node of its
own per test) they run and read-only mode refuses them; on the real libvirtd a change the
daemon refuses comes back in libvirt's own words, as one sentence."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import libvirt
import pytest
from ops_hosts import opened

from conftest import Testbed
from tvirt.host import HostWorker
from tvirt.networks import NetSpec, NetworkError
from tvirt.ops import networks as ops
from tvirt.ops.run import Failed, Refused
from tvirt.readonly import refusal

LAB = f"test://{Path(__file__).parent / 'fixtures' / 'vmlab.xml'}"
OPS_URI = LAB  # the conftest fixtures host and readonly_host connect here
PID = os.getpid()


def states(host: HostWorker) -> dict[str, tuple[str, bool]]:
    return {n.name: (n.state, n.autostart) for n in ops.list_all(host).result(10)}


def test_network_operations_run_on_the_host(host: HostWorker) -> None:
    (labnet,) = ops.list_all(host).result(10)
    assert (labnet.name, labnet.bridge, labnet.forward) == ("labnet", "virbr9", "nat")
    assert ops.stop(host, "labnet").result(10) == (
        "Stopped the network labnet; VMs on it lost their link.")
    assert ops.autostart(host, "labnet", True).result(10) == (
        "Autostart of the network labnet is on.")
    assert states(host) == {"labnet": ("inactive", True)}
    assert ops.start(host, "labnet").result(10) == "Started the network labnet."
    spec = NetSpec("n2", "isolated", "10.9.0.0/24")
    assert ops.define(host, spec, start=True).result(10) == (
        "Defined and started the isolated network n2 (10.9.0.0/24).")
    assert states(host) == {"labnet": ("active", True), "n2": ("active", False)}
    assert ops.undefine(host, "n2").result(10) == "Removed the network n2."
    assert list(states(host)) == ["labnet"]


def test_read_only_refuses_every_change_before_the_host_is_asked(
    readonly_host: HostWorker,
) -> None:
    host = readonly_host
    changes = [
        (ops.start(host, "labnet"), "start the network labnet"),
        (ops.stop(host, "labnet"), "stop the network labnet"),
        (ops.autostart(host, "labnet", True), "change the autostart of the network labnet"),
        (ops.define(host, NetSpec("n2"), start=True), "define the network n2"),
        (ops.undefine(host, "labnet"), "remove the network labnet"),
    ]
    for future, what in changes:
        with pytest.raises(Refused) as caught:
            future.result(10)
        assert str(caught.value) == refusal(what, host.label), what
    assert states(host) == {"labnet": ("active", False)}


def test_a_missing_network_is_one_sentence(host: HostWorker) -> None:
    with pytest.raises(NetworkError) as caught:
        ops.start(host, "nonet").result(10)
    assert str(caught.value) == "There is no network called 'nonet' on this host."


@pytest.fixture
def real_host(testbed: Testbed) -> Iterator[HostWorker]:
    with opened(testbed.qemu_uri) as host:
        yield host.worker


@pytest.mark.real
def test_a_refused_change_is_libvirts_sentence(testbed: Testbed, real_host: HostWorker) -> None:
    host, bridge = real_host, f"tvo{PID % 10**7}"
    first, second = f"tvirt-test-opsnet-{PID}", f"tvirt-test-opsn2-{PID}"
    conn = libvirt.open(testbed.qemu_uri)
    try:
        # A network of this test holds the bridge; defining another on it is refused.
        conn.networkDefineXML(
            f"<network><name>{first}</name><bridge name='{bridge}'/></network>")
        future = ops.define(host, NetSpec(second, "isolated", "10.77.0.0/24", bridge))
        with pytest.raises(Failed) as caught:
            future.result(30)
        assert str(caught.value) == f"internal error: bridge name '{bridge}' already in use."
        assert caught.value.host == host.label
        assert second not in [n.name for n in ops.list_all(host).result(30)]
    finally:
        for name in (first, second):
            try:
                conn.networkLookupByName(name).undefine()
            except libvirt.libvirtError:
                pass  # never defined (the second must not be)
        conn.close()
