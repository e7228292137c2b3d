"""Sizes as people type them: ``10G``, ``512MiB``, ``1.5 TiB``, ``100M``, ``4096``.

Units follow libvirt's own ``unit`` attribute and qemu-img:

- a bare number is bytes (``b``, ``B`` and ``bytes`` say so explicitly), unless the
  caller names another unit (memory takes MiB, see tvirt/validate.py);
- one letter, ``K M G T P`` (any case), is binary: ``10G`` is 10 x 1024^3 bytes;
- ``KiB MiB GiB TiB PiB`` are binary too;
- ``KB MB GB TB PB`` (with the B, any case) are decimal: ``1GB`` is 10^9 bytes.

Fractions are allowed (``1.5 TiB``) and round down to whole bytes. Zero, negative,
unparsable and absurd sizes (over 1 PiB, MAX_BYTES) raise SizeError with a sentence.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from tvirt.errors import UsageError

KIB = 1024
MIB = KIB**2
GIB = KIB**3
TIB = KIB**4
PIB = KIB**5
MAX_BYTES = PIB

_UNITS: dict[str, int] = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "k": KIB,
    "kib": KIB,
    "m": MIB,
    "mib": MIB,
    "g": GIB,
    "gib": GIB,
    "t": TIB,
    "tib": TIB,
    "p": PIB,
    "pib": PIB,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
}

_PATTERN = re.compile(r"^\s*([+-]?[0-9]*\.?[0-9]*)\s*([a-zA-Z]*)\s*$")


class SizeError(UsageError, ValueError):
    """A size that cannot be used, with a sentence saying why."""


def parse_size(text: str, what: str = "size", bare: int = 1) -> int:
    """Bytes for a size such as ``10G``; raises SizeError with a sentence otherwise.

    ``what`` names the value in the sentences ("memory size"), so a form can tell which
    field a refusal is about; ``bare`` is the unit of a number without one (bytes, or
    MIB for memory as virt-install takes it).
    """
    match = _PATTERN.match(text)
    if not text.strip():
        raise SizeError(f"Give a {what}, for example 10G, 512MiB or 1.5 TiB.")
    if match is None or match.group(1) in ("", ".", "+", "-", "+.", "-."):
        raise SizeError(
            f"{text.strip()!r} is not a {what}; write a number and a unit, "
            "for example 10G, 512MiB or 1.5 TiB."
        )
    number, unit = match.group(1), match.group(2)
    factor = bare if not unit else _UNITS.get(unit.lower())
    if factor is None:
        raise SizeError(
            f"{unit!r} is not a unit of {what}; use bytes, K, M, G, T, P (binary, also "
            "KiB..PiB) or KB, MB, GB, TB, PB (decimal)."
        )
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise SizeError(f"{text.strip()!r} is not a number for a {what}.") from None
    if value < 0:
        raise SizeError(f"A {what} cannot be negative.")
    size = int(value * factor)
    if size <= 0:
        raise SizeError(f"A {what} must be at least one byte; zero is not a {what}.")
    if size > MAX_BYTES:
        raise SizeError(
            f"A {what} of {text.strip()} is more than {format_size(MAX_BYTES)}, "
            "which is surely a typo."
        )
    return size


def format_size(size: int) -> str:
    """A short binary size such as ``1.5 GiB``; bytes below 1 KiB."""
    if size < KIB:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        value /= 1024
        # Compare after rounding: 1048575 B is "1 MiB", not "1024 KiB".
        text = f"{value:.1f}".rstrip("0").rstrip(".")
        if float(text) < 1024 or unit == "EiB":
            return f"{text} {unit}"
    raise AssertionError("unreachable")
