"""The sign-in throttle: failed sign-ins counted per account and per address."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import asyncpg

DDL = """
CREATE TABLE IF NOT EXISTS auth_login_failures (
    key text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS auth_login_failures_key ON auth_login_failures (key, failed_at);
"""


class LoginThrottle:
    """Counts failed sign-ins per account and per address over a sliding window."""

    def __init__(
        self, pool: asyncpg.Pool, *, per_account: int, per_address: int, window_seconds: int
    ) -> None:
        self.pool = pool
        self.limits = {"account": per_account, "address": per_address}
        self.window = timedelta(seconds=window_seconds)

    async def migrate(self) -> None:
        await self.pool.execute(DDL)

    @staticmethod
    def keys(email: str, address: str) -> dict[str, str]:
        # The email is hashed: the table must not become a list of who tried to sign in.
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        return {"account": f"account:{account}", "address": f"address:{address}"}

    async def retry_after(self, email: str, address: str) -> int:
        """Seconds to wait before another try, 0 when a try is allowed now."""
        wait = 0
        for kind, key in self.keys(email, address).items():
            rows = await self.pool.fetch(
                "SELECT failed_at FROM auth_login_failures WHERE key = $1 "
                "AND failed_at > now() - $2::interval ORDER BY failed_at DESC LIMIT $3",
                key,
                self.window,
                self.limits[kind],
            )
            if len(rows) >= self.limits[kind]:
                oldest: datetime = rows[-1]["failed_at"]
                free_at = oldest + self.window
                wait = max(wait, int((free_at - datetime.now(UTC)).total_seconds()) + 1)
        return wait

    async def failed(self, email: str, address: str) -> None:
        await self.pool.executemany(
            "INSERT INTO auth_login_failures (key) VALUES ($1)",
            [(key,) for key in self.keys(email, address).values()],
        )
        await self.pool.execute(
            "DELETE FROM auth_login_failures WHERE failed_at < now() - $1::interval", self.window
        )

    async def succeeded(self, email: str, address: str) -> None:
        await self.pool.execute(
            "DELETE FROM auth_login_failures WHERE key = $1",
            self.keys(email, address)["account"],
        )
