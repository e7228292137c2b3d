"""Text sparklines: a series of numbers as block characters, for table cells and lists.

Textual's Sparkline widget cannot live inside a DataTable cell or an OptionList entry, so
these are plain strings. Pure functions, no widgets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
GAP = " "  # an unknown point, and the padding before the first point


def sparkline(
    values: Sequence[float | None],
    width: int,
    *,
    low: float = 0.0,
    high: float | None = None,
) -> str:
    """The newest `width` values as exactly `width` characters, oldest on the left.

    Values are scaled from `low` to `high` (default: the largest known value shown; with
    no span at all every point is the lowest block); out-of-range values are clamped. Unknown
    values (None, NaN) are gaps, and a short series is padded with gaps on the left, so
    the string's width never changes as points arrive.
    """
    if width <= 0:
        return ""
    shown = list(values)[-width:]
    known = [v for v in shown if v is not None and not math.isnan(v)]
    top = high if high is not None else max(known, default=low)
    span = top - low
    chars = []
    for value in shown:
        if value is None or math.isnan(value):
            chars.append(GAP)
            continue
        share = (value - low) / span if span > 0 else 0.0
        index = round(min(max(share, 0.0), 1.0) * (len(BLOCKS) - 1))
        chars.append(BLOCKS[index])
    return GAP * (width - len(chars)) + "".join(chars)
