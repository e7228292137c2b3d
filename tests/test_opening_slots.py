"""At most PER_SERVER remote connections open at once to one server (issue 20: fifty ssh
handshakes at one moment overflow sshd's MaxStartups), different servers side by side, and
at most OPEN_AT_ONCE in all. The real semaphores the workers use; places are freed when an
attempt ends or is overdue, once each."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tvirt.opening import OPEN_AT_ONCE, PER_SERVER, SLOTS, Opening, server_slots


@pytest.fixture
def openings() -> Iterator[list[Opening]]:
    made: list[Opening] = []
    yield made
    for opening in made:
        opening.give_slot()


def take(openings: list[Opening], server: str, count: int) -> None:
    for _ in range(count):
        opening = Opening(deadline=0.0, server=server)
        opening.take_slot()
        openings.append(opening)


def test_the_ninth_attempt_to_one_server_waits_for_a_place(openings: list[Opening]) -> None:
    take(openings, "alpha.test", PER_SERVER)
    alpha = server_slots("alpha.test")
    assert not alpha.acquire(blocking=False)  # every place of that server is held
    openings[0].give_slot()
    openings[0].give_slot()  # an overdue attempt that then ends frees its place once
    assert alpha.acquire(blocking=False)  # exactly one place came back
    assert not alpha.acquire(blocking=False)
    alpha.release()
    take(openings, "alpha.test", 1)
    assert not alpha.acquire(blocking=False)


def test_another_server_opens_beside_a_full_one(openings: list[Opening]) -> None:
    take(openings, "alpha.test", PER_SERVER)
    done = threading.Event()

    def other() -> None:
        take(openings, "beta.test", 1)
        done.set()

    threading.Thread(target=other, daemon=True).start()
    # An event, not a time bound: it is set only if beta's place was not held up.
    assert done.wait(30)


def test_at_most_open_at_once_in_all(openings: list[Opening]) -> None:
    servers = OPEN_AT_ONCE // PER_SERVER
    for index in range(servers):
        take(openings, f"server{index}.test", PER_SERVER)
    assert not SLOTS.acquire(blocking=False)  # every place of all is held
    assert server_slots("fresh.test").acquire(blocking=False)  # its own are free...
    server_slots("fresh.test").release()
    openings.pop().give_slot()
    assert SLOTS.acquire(blocking=False)  # ...and one of all comes back with an end
    SLOTS.release()


def test_giving_back_a_place_never_held_changes_nothing(openings: list[Opening]) -> None:
    Opening(deadline=0.0, server="gamma.test").give_slot()  # a local attempt holds none
    take(openings, "gamma.test", PER_SERVER)
    assert not server_slots("gamma.test").acquire(blocking=False)
