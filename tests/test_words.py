"""One pluralisation rule (tvirt.words.plural) for the app and every command.

"1 vCPUs" came from counts written by hand as f"{n} vCPUs"; this test reads the sources
of tvirt/ and screens/ and fails on any count of a known noun that does not go through
plural().
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tvirt.words import plural

ROOT = Path(__file__).parent.parent
NOUNS = (
    "VMs vCPUs CPUs volumes bricks hosts devices steps entries snapshots networks pools "
    "peers leases marks disks NICs keys"
).split()
# A number in braces followed by a counted noun: f"{len(x)} volumes".
HAND_MADE = re.compile(r"\{[^{}]+\} (" + "|".join(NOUNS) + r")\b")
# Braces that hold a word, not a count: "start VMs".
NOT_COUNTS = ("verb}",)


@pytest.mark.parametrize(
    ("count", "noun", "words"),
    [(0, "VM", "0 VMs"), (1, "VM", "1 VM"), (1, "vCPU", "1 vCPU"), (2, "vCPU", "2 vCPUs"),
     (1, "entry", "1 entry"), (3, "entry", "3 entries"), (2, "key", "2 keys"),
     (1, "volume", "1 volume"), (2, "process", "2 processes")],
)
def test_plural(count: int, noun: str, words: str) -> None:
    assert plural(count, noun) == words


def test_every_count_goes_through_plural() -> None:
    found = []
    for path in sorted([*ROOT.glob("tvirt/*.py"), *ROOT.glob("screens/*.py")]):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for match in HAND_MADE.finditer(line):
                if not any(word in match.group(0) for word in NOT_COUNTS):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "counts written by hand; use plural():\n" + "\n".join(found)
