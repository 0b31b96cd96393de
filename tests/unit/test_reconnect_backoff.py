"""A broker or a part that comes back is noticed within about a second: the waits between
tries grow from a tenth of a second but never past their cap, and are spread at random so
processes that lost the broker together do not knock all at once."""

from __future__ import annotations

from bus.connection import RECONNECT_SECONDS, backoff
from clinic.supervisor import PART_RESTART_CAP


def test_waits_between_tries_grow_but_never_past_a_second() -> None:
    waits = [backoff(attempt) for attempt in range(1, 60)]
    assert max(waits) <= RECONNECT_SECONDS <= 1.0
    assert waits[0] <= 0.1
    assert max(backoff(attempt) for attempt in range(8, 60)) > 0.4  # grown towards the cap


def test_waits_are_spread_at_random_within_their_upper_half() -> None:
    spread = {round(backoff(10), 6) for _ in range(50)}
    assert len(spread) > 10
    assert all(RECONNECT_SECONDS / 2 <= wait <= RECONNECT_SECONDS for wait in spread)


def test_a_crashed_part_runs_again_within_two_seconds() -> None:
    assert PART_RESTART_CAP <= 2.0
    assert max(backoff(n, cap=PART_RESTART_CAP) for n in range(1, 60)) <= PART_RESTART_CAP
