"""Where a caller stands against a limit, told in the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers): the policy (`q` requests per `w` seconds) and what is
left of it now (`r`), with the seconds until a place frees up (`t`); and when that is, for a
limit counted over a sliding window."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

HEADERS = ("RateLimit-Policy", "RateLimit")


@dataclass(frozen=True, slots=True)
class Quota:
    policy: str
    quota: int
    window: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.policy}";q={self.quota};w={self.window}',
            "RateLimit": f'"{self.policy}";r={max(0, self.remaining)};t={max(0, self.reset)}',
        }


def seconds_until_free(nth_newest: datetime | None, window: timedelta, now: datetime) -> int | None:
    """Seconds until a place frees (whole, at least 1), given the limit-th newest use (a
    message sent, a feed read) in a sliding window: when it leaves the window, one fewer than
    the limit remain. None when there were fewer than the limit (`nth_newest` is None) or it
    has left already."""
    if nth_newest is None:
        return None
    left = (nth_newest + window - now).total_seconds()
    if left <= 0:
        return None
    return max(1, math.ceil(left))


async def wait_for_room(
    conn: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
    table: str,
    key_column: str,
    time_column: str,
    key: object,
    window: timedelta,
    allowed: int,
) -> int | None:
    """Seconds until `table` holds fewer than `allowed` rows of `key` within the sliding
    `window`, or None when one more fits now. The names are the caller's constants, never
    input; the caller holds the key's advisory lock, so the count and its insert agree."""
    row = await conn.fetchrow(
        f"SELECT (SELECT {time_column} FROM {table} WHERE {key_column} = $1 "  # noqa: S608 - the caller's constants
        f"AND {time_column} > clock_timestamp() - $2::interval "
        f"ORDER BY {time_column} DESC OFFSET $3 LIMIT 1) AS nth, clock_timestamp() AS now",
        key,
        window,
        allowed - 1,
    )
    assert row is not None  # a SELECT without FROM has its one row
    return seconds_until_free(row["nth"], window, row["now"])
