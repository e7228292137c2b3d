from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tvirt.uri import URIError, parse_uri


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("qemu:///system", "qemu:///system"),
        ("test:///default", "test:///default"),
        ("qemu+ssh://root@example.org/system", "qemu+ssh://root@example.org/system?no_tty=1"),
        (
            "qemu+ssh://u@h:2222/system?keyfile=/k",
            "qemu+ssh://u@h:2222/system?keyfile=%2Fk&no_tty=1",
        ),
        ("qemu+ssh://u@h/system?no_tty=1", "qemu+ssh://u@h/system?no_tty=1"),
    ],
)
def test_good_uris_are_normalised(text: str, expected: str) -> None:
    assert parse_uri(text).uri == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("qemu", "not a libvirt URI"),
        ("bogus:///system", "not a known libvirt driver"),
        ("qemu+carrier://h/system", "not a libvirt transport"),
        ("qemu:///nowhere", "/system or /session"),
        ("qemu+ssh:///system", "no host"),
        ("qemu+ssh://h:99999/system", "port"),
        ("qemu+ssh://h;rm -rf/system", "spaces or control"),
        ("qemu+ssh://h$(id)/system", "not a valid host name"),
        ("qemu+ssh://u:secret@h/system", "never stores passwords"),
        ("qemu+ssh://h/system?no_verify=1", "never disables host-key checking"),
        ("qemu:///system\n", "qemu:///system"),
    ],
)
def test_bad_uris_get_one_sentence(text: str, fragment: str) -> None:
    if fragment == "qemu:///system":  # trailing whitespace is trimmed, not refused
        assert parse_uri(text).uri == fragment
        return
    with pytest.raises(URIError) as caught:
        parse_uri(text)
    message = str(caught.value)
    assert fragment in message
    assert message.endswith(".") and "\n" not in message


def test_labels_say_demo() -> None:
    assert "demo" in parse_uri("test:///default").label
    assert parse_uri("test:///default").demo
    assert not parse_uri("qemu:///system").demo


@given(st.text(max_size=80))
def test_any_text_is_accepted_or_refused_with_a_sentence(text: str) -> None:
    try:
        parsed = parse_uri(text)
    except URIError as exc:
        assert str(exc).endswith(".")
        return
    assert "://" in parsed.uri
    assert not any(ch.isspace() for ch in parsed.uri)
