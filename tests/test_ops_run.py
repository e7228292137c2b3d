"""How every operation runs (tvirt.ops.run), on libvirt's test driver: the refusal in
read-only mode comes before the host is asked, a VM is found by UUID on the worker, and
a libvirt failure comes back as one sentence naming the host."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import libvirt
import pytest

from tvirt.host import HostWorker
from tvirt.ops.run import Failed, Refused, in_thread, on_host, on_vm, refused
from tvirt.remote import RemoteError

VM0 = "00000000-0000-0000-0000-000000000001"  # vm0000, running (conftest.node_xml)
VM1 = "00000000-0000-0000-0000-000000000002"  # vm0001, shut off


# host and readonly_host (conftest): a two-VM test node, read-only or not.


def test_read_only_refuses_a_change_before_the_host_is_asked(
    readonly_host: HostWorker,
) -> None:
    asked = threading.Event()

    def job(_conn: libvirt.virConnect) -> None:
        asked.set()

    future = on_host(readonly_host, job, change="start network default")
    with pytest.raises(Refused) as caught:
        future.result(10)
    assert str(caught.value).startswith("Read-only mode refused to start network default on ")
    assert caught.value.host == readonly_host.label
    # A read of the same host still runs: only changes are refused.
    assert on_host(readonly_host, lambda conn: conn.getHostname()).result(10)
    assert not asked.is_set()
    assert refused(readonly_host, "x") is not None


def test_a_writable_host_runs_the_change(host: HostWorker) -> None:
    assert refused(host, "start vm0001") is None
    name = on_vm(
        host, VM1, lambda _c, dom: (dom.create(), dom.name())[1], change="start vm0001"
    ).result(10)
    assert name == "vm0001"
    assert on_vm(host, VM1, lambda _c, dom: dom.isActive()).result(10) == 1


def test_libvirt_failure_is_one_sentence_with_the_host(host: HostWorker) -> None:
    # vm0000 is running already: libvirt refuses, in its own words.
    future = on_vm(host, VM0, lambda _c, dom: dom.create(), change="start vm0000")
    with pytest.raises(Failed) as caught:
        future.result(10)
    text = str(caught.value)
    assert "already running" in text and text.endswith(".") and "\n" not in text
    assert caught.value.host == host.label
    assert isinstance(caught.value.__cause__, libvirt.libvirtError)


def test_a_vm_gone_meanwhile_is_a_sentence_not_a_traceback(host: HostWorker) -> None:
    gone = "00000000-0000-0000-0000-00000000dead"
    with pytest.raises(Failed) as caught:
        on_vm(host, gone, lambda _c, dom: dom.name(), explained=True).result(10)
    # explained: tvirt's sentence for a missing domain, not libvirt's wording.
    assert str(caught.value) == "That virtual machine no longer exists."


# ----- in_thread: jobs that are external commands, not libvirt calls ---------------------
@dataclass
class Place:
    """What in_thread needs of a host (a CommandHost is one): a label and read-only."""

    label: str
    readonly: bool = False


def test_in_thread_runs_off_the_callers_thread() -> None:
    caller = threading.get_ident()
    assert in_thread(Place("h"), threading.get_ident, change="wipe x").result(10) != caller


def test_in_thread_refuses_a_change_in_read_only_mode_without_running_it() -> None:
    ran = threading.Event()
    future = in_thread(Place("lab", readonly=True), ran.set, change="wipe /dev/sdb")
    with pytest.raises(Refused) as caught:
        future.result(10)
    assert str(caught.value).startswith("Read-only mode refused to wipe /dev/sdb on lab;")
    assert not ran.is_set()
    # a read on the same host runs
    assert in_thread(Place("lab", readonly=True), lambda: 7).result(10) == 7


def test_in_thread_failures_keep_their_sentence(host: HostWorker) -> None:
    def remote_fails() -> None:
        raise RemoteError("ssh to lab failed: no answer.")

    with pytest.raises(RemoteError, match=r"^ssh to lab failed: no answer\.$"):
        in_thread(Place("lab"), remote_fails).result(10)

    # a libvirt call made inside the job (on a real test-driver connection) becomes Failed
    def libvirt_fails() -> None:
        on_vm(host, VM0, lambda _c, dom: dom.create()).result(10)

    with pytest.raises(Failed) as caught:
        in_thread(Place("lab"), lambda: host.call(lambda c: c.lookupByName("nope")).result(10)
                  ).result(10)
    assert caught.value.host == "lab" and str(caught.value) == "Domain not found."
    with pytest.raises(Failed, match="already running"):
        in_thread(Place("lab"), libvirt_fails).result(10)
