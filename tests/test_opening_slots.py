"""At most OPEN_AT_ONCE remote connections open at once (issue 20: fifty ssh handshakes at
one moment overflow sshd's MaxStartups). The real semaphore the workers use; places are
freed when an attempt ends or is overdue, once each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tvirt.opening import OPEN_AT_ONCE, SLOTS, Opening


@pytest.fixture
def openings() -> Iterator[list[Opening]]:
    made: list[Opening] = []
    yield made
    for opening in made:
        opening.give_slot()


def test_the_ninth_attempt_waits_for_a_place(openings: list[Opening]) -> None:
    for _ in range(OPEN_AT_ONCE):
        opening = Opening(deadline=0.0)
        opening.take_slot()
        openings.append(opening)
    assert not SLOTS.acquire(blocking=False)  # every place is held
    openings[0].give_slot()
    openings[0].give_slot()  # an overdue attempt that then ends frees its place once
    assert SLOTS.acquire(blocking=False)  # exactly one place came back
    assert not SLOTS.acquire(blocking=False)
    SLOTS.release()
    late = Opening(deadline=0.0)
    late.take_slot()
    openings.append(late)
    assert not SLOTS.acquire(blocking=False)


def test_giving_back_a_place_never_held_changes_nothing(openings: list[Opening]) -> None:
    Opening(deadline=0.0).give_slot()  # a local connection's attempt holds none
    for _ in range(OPEN_AT_ONCE):
        opening = Opening(deadline=0.0)
        opening.take_slot()
        openings.append(opening)
    assert not SLOTS.acquire(blocking=False)
