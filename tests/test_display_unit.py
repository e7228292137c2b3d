"""The graphical display's pure parts: keys to Linux key codes (tvirt.keymap), the pace
and figures of the polling (tvirt.display, with a clock the test gives), the picture's fit
in the terminal, and decoding with Pillow (tvirt.screenshot)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tvirt.console import ConsoleError
from tvirt.display import FAST, LIVELY, SLOW, WINDOW, Box, Pacer, fit
from tvirt.keymap import (
    ENTER,
    ESC,
    LEFTALT,
    LEFTCTRL,
    LEFTSHIFT,
    SPECIAL_KEYS,
    SYSRQ,
    TAB,
    char_chord,
    key_chord,
    sysrq_chord,
    text_chords,
)
from tvirt.screenshot import decode, frame_of, scale

A, C, Q, ONE, ZERO, SLASH, F1, F7, F12, UP, DELETE = 30, 46, 16, 2, 11, 53, 59, 65, 88, 103, 111


@pytest.mark.parametrize(
    ("key", "character", "chord"),
    [
        ("a", "a", (A,)),
        ("A", "A", (LEFTSHIFT, A)),
        ("q", "q", (Q,)),
        ("1", "1", (ONE,)),
        ("0", "0", (ZERO,)),
        ("exclamation_mark", "!", (LEFTSHIFT, ONE)),
        ("right_parenthesis", ")", (LEFTSHIFT, ZERO)),
        ("slash", "/", (SLASH,)),
        ("question_mark", "?", (LEFTSHIFT, SLASH)),
        ("space", " ", (57,)),
        ("enter", "\r", (ENTER,)),
        ("escape", "\x1b", (ESC,)),
        ("tab", "\t", (TAB,)),
        ("shift+tab", None, (LEFTSHIFT, TAB)),
        ("up", None, (UP,)),
        ("f1", None, (F1,)),
        ("f12", None, (F12,)),
        ("ctrl+c", "\x03", (LEFTCTRL, C)),
        ("ctrl+alt+delete", None, (LEFTCTRL, LEFTALT, DELETE)),
        ("alt+f7", None, (LEFTALT, F7)),
        ("ctrl+up", None, (LEFTCTRL, UP)),
        # A key Textual names by its character only (an unusual name).
        ("some_name", "=", (13,)),
    ],
)
def test_textual_keys_become_linux_chords(
    key: str, character: str | None, chord: tuple[int, ...]
) -> None:
    assert key_chord(key, character) == chord


def test_keys_without_a_code_are_none() -> None:
    assert key_chord("hyper+a") is None  # a modifier the guest has no key for
    assert key_chord("f30") is None
    assert key_chord("euro_sign", "€") is None
    assert char_chord("é") is None


def test_text_becomes_one_chord_per_character_and_says_what_it_left_out() -> None:
    chords, skipped = text_chords("Ab!\n€é€")
    assert chords == [(LEFTSHIFT, A), (48,), (LEFTSHIFT, ONE), (ENTER,)]
    assert skipped == "€é"


def test_the_special_keys_menu_and_sysrq() -> None:
    labels = dict(SPECIAL_KEYS)
    assert labels["Ctrl+Alt+Del"] == (LEFTCTRL, LEFTALT, DELETE)
    assert [labels[f"Ctrl+Alt+F{n}"][-1] for n in range(1, 8)] == list(range(F1, F7 + 1))
    assert labels["Escape"] == (ESC,)
    assert sysrq_chord("s") == (LEFTALT, SYSRQ, 31)
    assert sysrq_chord("a") is None and sysrq_chord("ss") is None


def test_the_pace_is_fast_while_the_picture_changes_and_slow_once_still() -> None:
    now = 100.0
    pacer = Pacer(now)
    assert pacer.delay(now) == FAST  # a new view starts fast
    assert pacer.frame(b"one", 1000, now) is True
    assert pacer.frame(b"one", 1000, now + 0.1) is False  # unchanged: not drawn again
    later = now + LIVELY + 0.1
    assert pacer.delay(later) == SLOW and pacer.still(later)
    assert pacer.frame(b"two", 1000, later) is True  # a change: fast again
    assert pacer.delay(later) == FAST and not pacer.still(later)


def test_a_blinking_cursor_reads_still_and_is_not_drawn_once_still() -> None:
    now = 0.0
    pacer = Pacer(now)
    assert pacer.frame(b"cursor on", 100, now) is True
    assert pacer.frame(b"cursor off", 100, now + 0.5) is True  # lively: drawn
    t = now + 0.5 + LIVELY
    for _ in range(6):  # the same two pictures in turn: neither is drawn now
        t += SLOW
        assert pacer.frame(b"cursor on", 100, t) is False
        t += SLOW
        assert pacer.frame(b"cursor off", 100, t) is False
    assert pacer.still(t) and pacer.delay(t) == SLOW and pacer.drawn == 2
    assert pacer.rates(t).still and "still" in pacer.rates(t).words()
    # A key makes it lively: the blink is drawn again.
    pacer.key(t)
    assert pacer.frame(b"cursor on", 100, t + 0.1) is True


def test_a_slow_answer_to_a_key_is_drawn_though_it_shows_a_picture_seen_before() -> None:
    # Typing "a", Backspace, then "a" again: the answer to the last key is a picture among
    # the recent ones, and it may come after the lively spell on a slow guest (over ssh,
    # on a loaded host). It is news all the same, not the blink of a still screen.
    pacer = Pacer(0.0)
    assert pacer.frame(b"prompt", 100, 0.0) is True
    pacer.key(0.1)
    assert pacer.frame(b"a", 100, 0.2) is True
    pacer.key(0.3)
    assert pacer.frame(b"prompt", 100, 0.4) is True
    pacer.key(0.5)
    t = 0.5
    while t < 0.5 + LIVELY + 1:  # only the cursor blinks while the guest is busy
        t += 0.25
        pacer.frame(b"prompt, cursor off", 100, t)
        t += 0.25
        pacer.frame(b"prompt", 100, t)
    assert pacer.still(t)
    assert pacer.frame(b"a", 100, t + 0.25) is True


def test_a_key_makes_the_pace_fast() -> None:
    pacer = Pacer(0.0)
    pacer.frame(b"x", 10, 0.0)
    assert pacer.delay(10.0) == SLOW
    pacer.key(10.0)
    assert pacer.delay(10.0) == FAST
    assert pacer.delay(10.0 + LIVELY) == SLOW


def test_the_pause_counts_from_the_last_screenshots_start() -> None:
    pacer = Pacer(0.0)  # lively: FAST between screenshots
    assert pacer.wait(1.0, 1.0) == FAST
    assert pacer.wait(1.0, 1.0 + FAST / 4) == pytest.approx(FAST * 3 / 4)
    assert pacer.wait(1.0, 1.0 + FAST * 2) == 0.0  # it took longer than the pace: at once
    assert pacer.wait(10.0, 10.25) == pytest.approx(SLOW - 0.25)  # still


def test_the_figures_over_the_window() -> None:
    pacer = Pacer(0.0)
    pacer.sized(720, 400)
    for i in range(30):  # ten frames a second, a new picture every other one
        pacer.frame(bytes([i // 2]), 2048, i * 0.1)
    rates = pacer.rates(2.95)
    assert (rates.width, rates.height) == (720, 400)
    assert rates.fps == pytest.approx(15 / WINDOW)
    assert rates.bytes_per_second == pytest.approx(30 * 2048 / WINDOW)
    assert rates.words() == "720x400, 5.0 fps, 20.0 KiB/s"
    # Long after, the window is empty.
    assert Pacer(0.0).rates(0.0).words() == "no picture yet, 0.0 fps, 0 B/s"


@pytest.mark.parametrize(
    ("picture", "box", "cell", "expected"),
    [
        ((720, 400), (100, 40), (10, 20), (100, 28)),  # width-bound
        ((720, 400), (200, 20), (10, 20), (72, 20)),  # height-bound
        ((640, 480), (80, 24), (8, 16), (64, 24)),
        ((0, 0), (80, 24), (8, 16), (0, 0)),
    ],
)
def test_the_picture_fits_the_box_keeping_its_aspect(
    picture: tuple[int, int], box: tuple[int, int], cell: tuple[int, int],
    expected: tuple[int, int],
) -> None:
    assert fit(*picture, *box, cell) == expected


@pytest.mark.parametrize(
    ("per_cell", "expected"),
    [
        ((1, 2), (100, 56)),  # half blocks: two pixels a cell, one above the other
        ((1, 1), (100, 28)),  # unicode: one
        ((10, 20), (1000, 560)),  # Kitty, Sixel: the cell's own pixels
    ],
)
def test_the_picture_is_scaled_to_the_pixels_the_box_shows(
    per_cell: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert Box(100, 40, (10, 20), per_cell).pixels(720, 400) == expected
    assert Box(0, 0, (10, 20), per_cell).pixels(720, 400) == (0, 0)  # no room yet


def test_scaling_gives_the_size_asked_and_keeps_the_colours() -> None:
    picture = Image.new("RGB", (720, 400), (200, 100, 50))
    scaled = scale(picture, (100, 56))
    assert scaled.size == (100, 56) and scaled.getpixel((50, 28)) == (200, 100, 50)
    assert scale(picture, (720, 400)) is picture  # already at that size
    assert scale(picture, (0, 0)) is picture  # no room yet: left as it is


def _encoded(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 2), (1, 2, 3)).save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(("kind", "mime"), [("PNG", "image/png"),
                                            ("PPM", "image/x-portable-pixmap")])
def test_frames_decode_with_pillow(kind: str, mime: str) -> None:
    frame = frame_of(mime, _encoded(kind))
    picture = decode(frame)
    assert picture.size == (4, 2) and picture.getpixel((3, 1)) == (1, 2, 3)
    # Equal bytes, equal digests; the digest is what tells a new picture.
    assert frame_of(mime, _encoded(kind)).digest == frame.digest
    assert frame_of(mime, _encoded(kind) + b"x").digest != frame.digest


def test_a_frame_pillow_cannot_read_is_a_sentence() -> None:
    with pytest.raises(ConsoleError) as caught:
        decode(frame_of("image/x-unknown", b"not a picture"))
    assert str(caught.value) == "The screenshot came as image/x-unknown, which tvirt cannot read."
