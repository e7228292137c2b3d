"""The one rule for a host's name on every screen, line and JSON record.

A label starts from the URI ("node1 qemu/system", "localhost qemu/system"). Two local
sockets, or two URIs to one name, would share it: those hosts are named by the hostname
their hypervisor reports instead, and any still alike get the part of their URI that
differs. The rule is a pure function of the URIs and the hostnames known, so a label only
changes when a host is added or removed or its hostname is first learned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, unquote_plus

from tvirt.uri import parse_uri

# A distinguishing part is cut at these, never inside a word ("node1", not "1").
_SEPARATORS = frozenset("/?&=@:;,")


def host_labels(hosts: Mapping[str, str]) -> dict[str, str]:
    """Each host's label, keyed like `hosts`: normalised URI -> the hostname libvirt
    reported ("" while unknown). The labels are always unique."""
    parsed = {uri: parse_uri(uri) for uri in hosts}
    labels = {uri: p.label for uri, p in parsed.items()}
    for group in _clashes(labels):
        for uri, part in differing_parts(group).items():
            # The test driver reports the machine's hostname, which names no demo. A
            # host whose hostname is not known yet keeps the URI's words, told apart.
            if hosts[uri] and not parsed[uri].demo:
                labels[uri] = parsed[uri].label_at(hosts[uri])
            else:
                labels[uri] = _with(labels[uri], part)
    for group in _clashes(labels):
        for uri, part in differing_parts(group).items():
            labels[uri] = _with(labels[uri], part)
    for group in _clashes(labels):
        # Only parts that differ in a separator alone are left: number them by URI.
        for number, uri in enumerate(sorted(group), 1):
            labels[uri] += f" #{number}"
    return labels


def _with(label: str, part: str) -> str:
    return f"{label} ({part})" if part else label


def _clashes(labels: Mapping[str, str]) -> list[list[str]]:
    """The URIs that share a label, in groups of two or more (in a fixed order)."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for uri in sorted(labels):
        by_label[labels[uri]].append(uri)
    return [group for _, group in sorted(by_label.items()) if len(group) > 1]


def differing_parts(uris: Iterable[str]) -> dict[str, str]:
    """What tells each URI from the others: the text left once the part all of them
    start with and the part all of them end with are taken off, cut between words
    ("node1" of two sockets under .../node1/... and .../node2/...). One URI's may be ""."""
    texts = {uri: _readable(uri) for uri in uris}
    values = list(texts.values())
    head = _common_length(values)
    while head and not all(_cuttable(text, head) for text in values):
        head -= 1
    rests = [text[head:] for text in values]
    tail = _common_length([rest[::-1] for rest in rests])
    while tail and not all(_cuttable(text, len(text) - tail) for text in values):
        tail -= 1
    return {
        uri: text[head : len(text) - tail].strip("?&") for uri, text in texts.items()
    }


def _readable(uri: str) -> str:
    """The URI as typed: its query was encoded when it was normalised."""
    where, mark, query = uri.partition("?")
    return unquote(where) + mark + unquote_plus(query)


def _common_length(texts: list[str]) -> int:
    shortest = min(texts, key=len, default="")
    for index, char in enumerate(shortest):
        if any(text[index] != char for text in texts):
            return index
    return len(shortest)


def _cuttable(text: str, index: int) -> bool:
    """Whether text may be cut at index without splitting a word."""
    if index <= 0 or index >= len(text):
        return True
    return text[index - 1] in _SEPARATORS or text[index] in _SEPARATORS
