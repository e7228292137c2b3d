"""Keys as Textual names them, turned into Linux input key codes for `virDomainSendKey`.

Pure: no libvirt, no Textual. A key becomes one chord (the codes pressed together,
modifiers first); typed text becomes a chord per character on a US keyboard layout,
which is what a guest with no layout of its own (a firmware, a boot loader) assumes.
"""

from __future__ import annotations

# Linux input event codes (linux/input-event-codes.h), VIR_KEYCODE_SET_LINUX.
ESC, BACKSPACE, TAB, ENTER, SPACE = 1, 14, 15, 28, 57
LEFTCTRL, LEFTSHIFT, LEFTALT, LEFTMETA = 29, 42, 56, 125
SYSRQ, DELETE = 99, 111

Chord = tuple[int, ...]

_ROWS = {
    "1234567890-=": 2,
    "qwertyuiop[]": 16,
    "asdfghjkl;'`": 30,
    "\\zxcvbnm,./": 43,
}
# A character and the key that types it unshifted.
_PLAIN: dict[str, int] = {
    ch: start + i for row, start in _ROWS.items() for i, ch in enumerate(row)
}
_PLAIN[" "] = SPACE
# The shifted characters of a US layout, by the unshifted key they share.
_SHIFTED: dict[str, int] = {
    shifted: _PLAIN[plain]
    for shifted, plain in zip(
        '!@#$%^&*()_+{}:"~|<>?', "1234567890-=[];'`\\,./", strict=True
    )
}
_SHIFTED.update({ch.upper(): _PLAIN[ch] for ch in "abcdefghijklmnopqrstuvwxyz"})

_NAMED: dict[str, int] = {
    "escape": ESC,
    "enter": ENTER,
    "tab": TAB,
    "backspace": BACKSPACE,
    "space": SPACE,
    "delete": DELETE,
    "insert": 110,
    "home": 102,
    "end": 107,
    "pageup": 104,
    "pagedown": 109,
    "up": 103,
    "down": 108,
    "left": 105,
    "right": 106,
    **{f"f{n}": 58 + n for n in range(1, 11)},
    "f11": 87,
    "f12": 88,
}
# Textual's names of punctuation keys (when no character came with the key).
_PUNCTUATION: dict[str, str] = {
    "minus": "-", "equals_sign": "=", "left_square_bracket": "[",
    "right_square_bracket": "]", "semicolon": ";", "apostrophe": "'",
    "grave_accent": "`", "backslash": "\\", "comma": ",", "full_stop": ".", "slash": "/",
    "exclamation_mark": "!", "at": "@", "number_sign": "#", "dollar_sign": "$",
    "percent_sign": "%", "circumflex_accent": "^", "ampersand": "&", "asterisk": "*",
    "left_parenthesis": "(", "right_parenthesis": ")", "underscore": "_", "plus": "+",
    "left_curly_bracket": "{", "right_curly_bracket": "}", "colon": ":",
    "quotation_mark": '"', "tilde": "~", "vertical_line": "|", "less_than_sign": "<",
    "greater_than_sign": ">", "question_mark": "?",
}
_MODIFIERS: dict[str, int] = {"ctrl": LEFTCTRL, "alt": LEFTALT, "shift": LEFTSHIFT,
                              "meta": LEFTMETA, "super": LEFTMETA}


def char_chord(ch: str) -> Chord | None:
    """The chord that types one character, or None if a US keyboard has no key for it."""
    if ch in _PLAIN:
        return (_PLAIN[ch],)
    if ch in _SHIFTED:
        return (LEFTSHIFT, _SHIFTED[ch])
    if ch in ("\n", "\r"):
        return (ENTER,)
    if ch == "\t":
        return (TAB,)
    return None


def key_chord(key: str, character: str | None = None) -> Chord | None:
    """A Textual key ("a", "A", "ctrl+c", "shift+tab", "f5", "exclamation_mark") and the
    character it typed, as one chord; None for a key the guest's keyboard has no code for."""
    *mods, base = key.split("+")  # Textual names "+" itself "plus"
    held: list[int] = []
    for mod in mods:
        code = _MODIFIERS.get(mod)
        if code is None:
            return None
        if code not in held:
            held.append(code)
    main: Chord | None
    if base in _NAMED:
        main = (_NAMED[base],)
    elif len(base) == 1:
        main = char_chord(base)
    elif base in _PUNCTUATION:
        main = char_chord(_PUNCTUATION[base])
    elif not mods and character and len(character) == 1 and character.isprintable():
        main = char_chord(character)
    else:
        main = None
    if main is None:
        return None
    chord = [*held]
    for code in main:
        if code not in chord:
            chord.append(code)
    return tuple(chord)


def text_chords(text: str) -> tuple[list[Chord], str]:
    """Text typed as chords, one per character; and the characters left out (no key on a
    US keyboard types them), so the caller can say which."""
    chords: list[Chord] = []
    skipped: list[str] = []
    for ch in text.replace("\r\n", "\n"):
        chord = char_chord(ch)
        if chord is None:
            if ch not in skipped:
                skipped.append(ch)
        else:
            chords.append(chord)
    return chords, "".join(skipped)


# The keys a terminal cannot send, offered in a menu: (label, chord).
def _f(n: int) -> int:
    return _NAMED[f"f{n}"]


SPECIAL_KEYS: tuple[tuple[str, Chord], ...] = (
    ("Ctrl+Alt+Del", (LEFTCTRL, LEFTALT, DELETE)),
    *((f"Ctrl+Alt+F{n}", (LEFTCTRL, LEFTALT, _f(n))) for n in range(1, 8)),
    ("Ctrl+Alt+Backspace", (LEFTCTRL, LEFTALT, BACKSPACE)),
    ("Escape", (ESC,)),
    ("Ctrl+]", (LEFTCTRL, _PLAIN["]"])),
    ("Alt+Tab", (LEFTALT, TAB)),
    ("Super (Windows key)", (LEFTMETA,)),
    ("PrintScreen / SysRq", (SYSRQ,)),
)

SYSRQ_LETTERS = "bcdefhijklmnopqrstuvwxyz0123456789"


def sysrq_chord(letter: str) -> Chord | None:
    """Alt+SysRq+letter, the kernel's magic SysRq command."""
    if len(letter) != 1 or letter not in SYSRQ_LETTERS:
        return None
    return (LEFTALT, SYSRQ, _PLAIN[letter])
