"""The one sentence every read-only refusal uses, so each reads the same everywhere."""

from __future__ import annotations


def refusal(what: str, where: str = "") -> str:
    """'Read-only mode refused to start web01 on lab; restart tvirt without --readonly
    to make changes.' `what` is a verb phrase; `where` names the host, if one."""
    place = f" on {where}" if where else ""
    return (
        f"Read-only mode refused to {what}{place}; "
        "restart tvirt without --readonly to make changes."
    )
