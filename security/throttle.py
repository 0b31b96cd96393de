"""The sign-in throttle (ADR 8): hard limits per account and address and per address; for an
account alone only a slow-down, never a lock, so nobody can keep a staff member out.

Each try reserves its place before the password is checked: the reservation is written as a
failure, under a lock per source address, in the same transaction that counts. However many
tries arrive at once, no more than the limit get past. A success removes the reservation (and
the failures of that account from that address); a failure simply leaves it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from infra.db import OwnTables
from infra.logs import get_logger
from infra.metrics import SIGN_IN_THROTTLED
from infra.settings import Settings
from security.quota import Quota

log = get_logger("security.throttle")

ADDRESS_LOCK = 0x5349474E  # with the address's hash: one counter at a time per address


class Throttled(Exception):
    """Too many failed sign-ins from this address (for this account, or for any)."""

    def __init__(self, retry_after: int, limit: str, quota: Quota) -> None:
        super().__init__(f"try again in {retry_after} seconds")
        self.retry_after = retry_after
        self.limit = limit
        self.quota = quota


@dataclass(frozen=True, slots=True)
class Attempt:
    """A reserved try: counted as a failure until it succeeds. `delay` is how long to hold
    the answer (seconds) because the account is under attack from elsewhere."""

    id: int
    account: str
    address: str
    delay: float
    quota: Quota  # the failures this account may still have from this address


@dataclass(frozen=True, slots=True)
class Limits:
    per_account_address: int
    per_address: int
    per_account: int  # beyond this, tries on the account are slowed down, never refused
    slowdown_seconds: float
    slowdown_max_seconds: float
    window: timedelta


class LoginThrottle(OwnTables):
    """Counts failed sign-ins over a sliding window, atomically."""

    DDL = """
        DROP TABLE IF EXISTS auth_login_failures;
        CREATE TABLE IF NOT EXISTS auth_sign_in_failures (
            id bigserial PRIMARY KEY,
            account text NOT NULL,
            address text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS auth_sign_in_failures_address
            ON auth_sign_in_failures (address, failed_at);
        CREATE INDEX IF NOT EXISTS auth_sign_in_failures_account
            ON auth_sign_in_failures (account, failed_at);
    """

    def __init__(self, pool: asyncpg.Pool, limits: Limits) -> None:
        self.pool = pool
        self.limits = limits

    @classmethod
    def of(cls, pool: asyncpg.Pool, settings: Settings) -> LoginThrottle:
        return cls(
            pool,
            Limits(
                per_account_address=settings.login_failures_per_account_address,
                per_address=settings.login_failures_per_address,
                per_account=settings.login_failures_per_account,
                slowdown_seconds=settings.login_slowdown_seconds,
                slowdown_max_seconds=settings.login_slowdown_max_seconds,
                window=timedelta(seconds=settings.login_failure_window_seconds),
            ),
        )

    @staticmethod
    def account_of(email: str) -> str:
        # Hashed: the table must not become a list of who tried to sign in.
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()

    async def begin(self, email: str, address: str) -> Attempt:
        """Reserve a try, or raise Throttled when this address has had too many failures."""
        account = self.account_of(email)
        window = self.limits.window
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", ADDRESS_LOCK, address
            )
            for limit, allowed, scope in (
                ("account-address", self.limits.per_account_address, account),
                ("address", self.limits.per_address, None),
            ):
                free_at = await conn.fetchval(
                    "SELECT ceil(extract(epoch FROM failed_at + $4::interval - clock_timestamp()))"
                    " FROM auth_sign_in_failures WHERE address = $1 "
                    "AND ($2::text IS NULL OR account = $2) "
                    "AND failed_at > clock_timestamp() - $4::interval "
                    "ORDER BY failed_at DESC OFFSET $3 LIMIT 1",
                    address,
                    scope,
                    allowed - 1,
                    window,
                )
                if free_at is not None:
                    SIGN_IN_THROTTLED.labels(limit).inc()
                    wait = max(1, int(free_at))
                    raise Throttled(wait, limit, self._quota(limit, allowed, 0, wait))
            standing = await conn.fetchrow(
                "SELECT count(*), ceil(extract(epoch FROM min(failed_at) + $3::interval "
                "- clock_timestamp())) FROM auth_sign_in_failures WHERE address = $1 "
                "AND account = $2 AND failed_at > clock_timestamp() - $3::interval",
                address,
                account,
                window,
            )
            failures = await conn.fetchval(
                "SELECT count(*) FROM auth_sign_in_failures "
                "WHERE account = $1 AND failed_at > clock_timestamp() - $2::interval",
                account,
                window,
            )
            attempt_id = await conn.fetchval(
                "INSERT INTO auth_sign_in_failures (account, address) VALUES ($1, $2) RETURNING id",
                account,
                address,
            )
        assert standing is not None  # an aggregate without GROUP BY has its one row
        used, frees = standing
        allowed = self.limits.per_account_address
        reset = int(frees) if frees is not None else int(window.total_seconds())
        quota = self._quota("account-address", allowed, allowed - used - 1, reset)
        return Attempt(attempt_id, account, address, self._delay(account, failures), quota)

    def _quota(self, limit: str, allowed: int, remaining: int, reset: int) -> Quota:
        """Failed sign-ins left under one limit, as the RateLimit headers tell them."""
        window = int(self.limits.window.total_seconds())
        return Quota(f"sign-in-{limit}", allowed, window, remaining, reset)

    def _delay(self, account: str, failures: int) -> float:
        """Nothing below the account's soft limit; above it a delay that doubles with every
        further limit's worth of failures, up to the maximum."""
        limits = self.limits
        excess = failures - limits.per_account
        if excess < 0:
            return 0.0
        SIGN_IN_THROTTLED.labels("account-slowdown").inc()
        log.warning("sign-ins slowed down for an account under attack", account=account[:12])
        delay = limits.slowdown_seconds * 2 ** (excess / limits.per_account)
        return float(min(delay, limits.slowdown_max_seconds))

    async def failed(self, attempt: Attempt) -> None:
        """The reservation stays as the failure's record; failures past the window go."""
        await self.pool.execute(
            "DELETE FROM auth_sign_in_failures WHERE failed_at < clock_timestamp() - $1::interval",
            self.limits.window,
        )

    async def succeeded(self, attempt: Attempt) -> None:
        await self.pool.execute(
            "DELETE FROM auth_sign_in_failures WHERE id = $1 OR (account = $2 AND address = $3)",
            attempt.id,
            attempt.account,
            attempt.address,
        )
