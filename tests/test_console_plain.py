"""Line mode's plain output: control sequences go even when a read cuts one in two."""

from __future__ import annotations

from tvirt.cli.console import PlainText


def test_a_sequence_cut_between_reads_is_still_dropped() -> None:
    plain = PlainText()
    out = plain(b"81\r\ntvirt-guest# \x1b") + plain(b"[6n")
    assert out == b"81\ntvirt-guest# "


def test_a_title_cut_between_reads_is_dropped_and_text_after_it_kept() -> None:
    plain = PlainText()
    out = plain(b"a\x1b]0;ti") + plain(b"tle\x07b\x1b[1") + plain(b"mc")
    assert out == b"abc"
