"""The wait a refused free-text message is told (Retry-After): until the oldest message that
fills the window leaves it, in whole seconds, never zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from security.quota import seconds_until_free

NOW = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_place_frees_when_the_limit_th_newest_message_leaves_the_window() -> None:
    assert seconds_until_free(NOW - timedelta(minutes=10), HOUR, NOW) == 50 * 60


def test_a_part_of_a_second_is_waited_as_a_whole_one() -> None:
    assert seconds_until_free(NOW - HOUR + timedelta(milliseconds=1), HOUR, NOW) == 1
    assert seconds_until_free(NOW - timedelta(seconds=10.5), HOUR, NOW) == 3590


def test_nobody_waits_below_the_limit_or_once_the_window_has_passed() -> None:
    assert seconds_until_free(None, HOUR, NOW) is None
    assert seconds_until_free(NOW - HOUR, HOUR, NOW) is None
    assert seconds_until_free(NOW - 2 * HOUR, HOUR, NOW) is None
