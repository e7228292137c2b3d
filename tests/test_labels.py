"""The one label rule (tvirt.labels.host_labels): unique, from the URI first, the
hypervisor's hostname where the URI is ambiguous, then the part of the URI that differs."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tvirt.cli.watch import Watcher, line
from tvirt.labels import differing_parts, host_labels
from tvirt.model import HostInfo, HostState
from tvirt.updates import HostChanged
from tvirt.uri import parse_uri

LAB = "/srv/lab"


def _sock(node: str) -> str:
    return parse_uri(f"qemu:///system?socket={LAB}/{node}/run-libvirt/libvirt-sock").uri


def _ssh(text: str) -> str:
    return parse_uri(text).uri


def test_unambiguous_hosts_keep_their_uri_label_whatever_the_hostname() -> None:
    labels = host_labels(
        {"qemu:///system": "box", _ssh("qemu+ssh://root@node1/system"): "node1.lab"}
    )
    assert labels == {
        "qemu:///system": "localhost qemu/system",
        _ssh("qemu+ssh://root@node1/system"): "node1 qemu/system",
    }


def test_two_local_sockets_are_named_by_their_hypervisors_hostname() -> None:
    labels = host_labels({_sock("node1"): "node1", _sock("node2"): "node2"})
    assert labels == {_sock("node1"): "node1 qemu/system", _sock("node2"): "node2 qemu/system"}


def test_before_the_hostnames_are_known_the_differing_part_of_the_uri_tells_them_apart() -> None:
    labels = host_labels({_sock("node1"): "", _sock("node2"): ""})
    assert labels == {
        _sock("node1"): "localhost qemu/system (node1)",
        _sock("node2"): "localhost qemu/system (node2)",
    }


def test_a_host_whose_hostname_is_not_known_yet_keeps_its_distinguished_uri_label() -> None:
    labels = host_labels({_sock("node1"): "node1", _sock("node2"): ""})
    assert labels == {
        _sock("node1"): "node1 qemu/system",
        _sock("node2"): "localhost qemu/system (node2)",
    }


def test_one_hostname_behind_two_uris_gets_the_differing_part() -> None:
    plain, with_user = _ssh("qemu+ssh://node1/system"), _ssh("qemu+ssh://root@node1/system")
    labels = host_labels({plain: "node1", with_user: "node1"})
    assert labels == {plain: "node1 qemu/system", with_user: "node1 qemu/system (root@)"}
    same_name = host_labels({_sock("a"): "box", _sock("b"): "box"})
    assert same_name == {_sock("a"): "box qemu/system (a)", _sock("b"): "box qemu/system (b)"}


def test_a_hostname_label_that_meets_another_hosts_uri_label_is_told_apart() -> None:
    ssh = _ssh("qemu+ssh://node1/system")
    labels = host_labels({ssh: "node1", _sock("node1"): "node1", _sock("node2"): "node2"})
    assert labels[_sock("node2")] == "node2 qemu/system"
    assert labels[ssh] != labels[_sock("node1")]
    assert {labels[ssh], labels[_sock("node1")]} == {
        "node1 qemu/system (qemu+ssh://node1/system?no_tty=1)",
        "node1 qemu/system (qemu:///system?socket=/srv/lab/node1/run-libvirt/libvirt-sock)",
    }


def test_demo_connections_are_never_named_by_the_machines_hostname() -> None:
    labels = host_labels({"test:///default": "box", "test:///tmp/x.xml": "box"})
    assert labels == {"test:///default": "demo default", "test:///tmp/x.xml": "demo x.xml"}


def test_the_labels_depend_on_nothing_but_the_hosts_given() -> None:
    hosts = {_sock("node2"): "node2", _sock("node1"): "", "qemu:///system": "box"}
    first = host_labels(hosts)
    assert host_labels(dict(reversed(hosts.items()))) == first
    assert host_labels(hosts) == first


def test_differing_parts_are_cut_between_words() -> None:
    parts = differing_parts([_sock("node1"), _sock("node12")])
    assert parts == {_sock("node1"): "node1", _sock("node12"): "node12"}


_NAMES = st.sampled_from(["", "box", "node1", "node2"])
_URIS = st.sampled_from(
    [
        "qemu:///system",
        "qemu:///session",
        _sock("node1"),
        _sock("node2"),
        _sock("node1x"),
        _ssh("qemu+ssh://node1/system"),
        _ssh("qemu+ssh://root@node1/system"),
        _ssh("qemu+ssh://root@node1:22/system"),
        _ssh("qemu+ssh://root@node1/system?keyfile=/k"),
        _ssh("qemu+ssh://root@node1/system?keyfile=/k/"),
        "test:///default",
    ]
)


@given(st.dictionaries(_URIS, _NAMES, min_size=1))
def test_labels_are_always_unique(hosts: dict[str, str]) -> None:
    labels = host_labels(hosts)
    assert set(labels) == set(hosts)
    assert len(set(labels.values())) == len(labels)


def test_labels_stay_unique_when_a_hostname_reads_like_another_label() -> None:
    # Contrived on purpose: a hostname and a socket path that spell out another host's
    # label; the parts that differ cannot tell these apart, so they are numbered.
    odd = "h qemu/system (s1) h"
    hosts = {
        parse_uri(f"qemu:///system?socket={LAB}/s/s1)%20h%20qemu/system%20(q").uri: "h",
        parse_uri(f"qemu:///system?socket={LAB}/s/zz").uri: "h",
        parse_uri(f"qemu:///system?socket={LAB}/t/q").uri: odd,
        parse_uri(f"qemu:///system?socket={LAB}/t/r").uri: odd,
    }
    labels = host_labels(hosts)
    assert len(set(labels.values())) == 4
    assert sorted(labels.values())[:2] == [
        "h qemu/system (s1) h qemu/system (q) #1",
        "h qemu/system (s1) h qemu/system (q) #2",
    ]


def test_watch_says_when_a_hosts_label_changes() -> None:
    def host(label: str, state: HostState) -> HostChanged:
        return HostChanged(HostInfo(_sock("node1"), _sock("node1"), label, state))

    watcher = Watcher()
    watcher.records(host("localhost qemu/system (node1)", HostState.CONNECTING))
    (connected,) = watcher.records(host("node1 qemu/system", HostState.CONNECTED))
    assert connected["previous_name"] == "localhost qemu/system (node1)"
    assert line(connected) == (
        "host node1 qemu/system (was localhost qemu/system (node1)): connecting -> connected"
    )
    (renamed,) = watcher.records(host("node1 qemu/system (a)", HostState.CONNECTED))
    assert (renamed["event"], renamed["previous_state"]) == ("renamed", None)
    assert line(renamed) == "host node1 qemu/system (a): renamed from node1 qemu/system"
    assert watcher.records(host("node1 qemu/system (a)", HostState.CONNECTED)) == []
