"""Size parsing: units, refusals, and round trips (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tvirt.sizes import GIB, KIB, MAX_BYTES, MIB, TIB, SizeError, format_size, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10G", 10 * GIB),
        ("512MiB", 512 * MIB),
        ("1.5 TiB", int(1.5 * TIB)),
        ("100M", 100 * MIB),
        ("4096", 4096),
        ("4096 bytes", 4096),
        ("1k", KIB),
        ("1GB", 10**9),
        ("2 mb", 2 * 10**6),
        ("  7g  ", 7 * GIB),
        (".5G", GIB // 2),
    ],
)
def test_parses(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "Give a size"),
        ("0", "zero"),
        ("0G", "zero"),
        ("0.1", "zero"),
        ("-1G", "negative"),
        ("ten gigs", "not a size"),
        ("10X", "not a unit"),
        ("10 GiBs", "not a unit"),
        ("1.2.3G", "not a"),
        ("2P", "typo"),
        ("9999999T", "typo"),
        ("G", "not a size"),
        ("nan", "not a size"),
        ("inf", "not a size"),
    ],
)
def test_refuses_with_a_sentence(text: str, words: str) -> None:
    with pytest.raises(SizeError) as err:
        parse_size(text)
    message = str(err.value)
    assert words in message
    assert message.endswith(".")


UNITS = {"": 1, "K": KIB, "M": MIB, "G": GIB, "KiB": KIB, "MiB": MIB, "GiB": GIB,
         "TiB": TIB, "KB": 1000, "MB": 10**6, "GB": 10**9, "TB": 10**12}


@given(st.integers(min_value=1, max_value=10**6), st.sampled_from(sorted(UNITS)),
       st.sampled_from(["", " "]))
def test_integer_with_unit(number: int, unit: str, space: str) -> None:
    expected = number * UNITS[unit]
    text = f"{number}{space}{unit}"
    if expected > MAX_BYTES:
        with pytest.raises(SizeError):
            parse_size(text)
    else:
        assert parse_size(text) == expected
        assert parse_size(text.lower()) == expected


@given(st.text(max_size=20))
def test_anything_parses_or_says_why(text: str) -> None:
    try:
        size = parse_size(text)
    except SizeError as exc:
        assert str(exc)
    else:
        assert 1 <= size <= MAX_BYTES


@given(st.integers(min_value=-(10**15), max_value=0), st.sampled_from(sorted(UNITS)))
def test_never_zero_or_negative(number: int, unit: str) -> None:
    with pytest.raises(SizeError):
        parse_size(f"{number}{unit}")


@given(st.integers(min_value=1, max_value=MAX_BYTES))
def test_formatted_size_parses_back_close(size: int) -> None:
    text = format_size(size).replace(" ", "")
    back = parse_size(text)
    assert abs(back - size) <= size * 0.05 + 1


@pytest.mark.parametrize(
    ("size", "text"),
    [(1048575, "1 MiB"), (1048576, "1 MiB"), (1023 * 1024, "1023 KiB"), (GIB - 1, "1 GiB")],
)
def test_a_size_that_rounds_up_moves_to_the_next_unit(size: int, text: str) -> None:
    assert format_size(size) == text
