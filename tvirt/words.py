"""Counting in words: one pluralisation rule for the app and every command.

"1 vCPU", "2 vCPUs", "1 entry", "3 entries". Every count that ends in a noun goes through
`plural`; tests/test_words.py fails on a count of VMs written by hand in the sources.
"""

from __future__ import annotations


def plural_of(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    return noun + "s"


def plural(count: int, noun: str) -> str:
    """'1 VM', '0 VMs', '2 vCPUs', '3 entries'."""
    return f"{count} {noun if count == 1 else plural_of(noun)}"
