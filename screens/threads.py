"""Handing a thread worker's result back to its screen, only while that screen is shown.

A worker may finish after its screen was closed (escape while a read runs) or while the
app quits (q pressed just after e). Textual has then removed, or is removing, the widgets
the result would fill, and the first query raises NoMatches. `deliver` puts the call on
the screen's own message queue, which is thread-safe and never blocks the worker, and
drops it when the screen is no longer attached or the app is exiting.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode
from textual.widget import Widget


def alive(node: DOMNode) -> bool:
    """Attached to a running app and not being removed. is_attached is already false once
    the app exits; Textual has no public flag for "being removed", hence _pruning."""
    return node.is_attached and not (node._pruning or node._closing or node._closed)


def deliver(node: Widget, fn: Callable[..., object], *args: object) -> None:
    """From a thread worker: run fn(*args) on the event loop if node is still alive then."""

    def run() -> None:
        if alive(node):
            fn(*args)

    node.call_later(run)
