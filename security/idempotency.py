"""Idempotency keys: a retried write gets the first answer back instead of writing twice.

A client that may resend a write (a flaky connection, a double click, the web app on
every write) sends an `Idempotency-Key`. The first request with a key claims it; the
answer it got is kept with the key. A retry with the same key, by the same staff member,
for the same request, gets that answer again; the same key on a different request is
refused. Keys are kept for a day.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from infra.db import OwnTables

KEPT_FOR = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Answer:
    """The first answer to a request, kept to answer its retries."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    access: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request is the first with its key: it runs, then `IdempotencyKeys.keep`."""


@dataclass(frozen=True, slots=True)
class Replay:
    answer: Answer


@dataclass(frozen=True, slots=True)
class InProgress:
    """The first request with this key has not answered yet."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was used for a different request."""


Claim = Claimed | Replay | InProgress | Mismatch


def fingerprint(method: str, path: str, query: bytes, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


class IdempotencyKeys(OwnTables):
    DDL = """
        CREATE TABLE IF NOT EXISTS idempotency_keys (
            scope text NOT NULL,
            key text NOT NULL,
            fingerprint bytea NOT NULL,
            status integer,
            headers jsonb,
            body bytea,
            access jsonb,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        );
        CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
    """

    async def claim(self, scope: str, key: str, request: bytes) -> Claim:
        """Claim the key for this request, or say what became of it."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 "
                "AND created_at < now() - $3::interval",
                scope,
                key,
                KEPT_FOR,
            )
            claimed = await conn.fetchval(
                "INSERT INTO idempotency_keys (scope, key, fingerprint) VALUES ($1, $2, $3) "
                "ON CONFLICT (scope, key) DO NOTHING RETURNING true",
                scope,
                key,
                request,
            )
            if claimed:
                return Claimed()
            row = await conn.fetchrow(
                "SELECT fingerprint, status, headers, body, access FROM idempotency_keys "
                "WHERE scope = $1 AND key = $2",
                scope,
                key,
            )
        if row is None:  # released between our insert and our read: try once more
            return await self.claim(scope, key, request)
        if bytes(row["fingerprint"]) != request:
            return Mismatch()
        if row["status"] is None:
            return InProgress()
        headers = [(str(k), str(v)) for k, v in row["headers"]]
        return Replay(Answer(row["status"], headers, bytes(row["body"]), row["access"]))

    async def keep(self, scope: str, key: str, answer: Answer) -> None:
        await self.pool.execute(
            "UPDATE idempotency_keys SET status = $3, headers = $4, body = $5, access = $6 "
            "WHERE scope = $1 AND key = $2",
            scope,
            key,
            answer.status,
            [list(pair) for pair in answer.headers],
            answer.body,
            answer.access,
        )

    async def release(self, scope: str, key: str) -> None:
        """The request failed without an answer worth repeating: a retry may run it again."""
        await self.pool.execute(
            "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status IS NULL",
            scope,
            key,
        )

    async def forget_expired(self) -> int:
        done = await self.pool.execute(
            "DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval", KEPT_FOR
        )
        return int(done.split()[-1])
