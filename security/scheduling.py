"""The `scheduling` context's secrets: providers' calendar feeds (issue 21), a subscription URL
for a calendar app, which cannot send a bearer token, so the URL's token is the permission.

A token is the feed's id and 32 random bytes, base64url. Only the SHA-256 of the random part
is kept, like refresh tokens (security/sessions.py): the table alone opens no feed. A token is
looked up by its id among the feeds not revoked, and its hash compared in constant time with
the stored one, or with a stand-in when there is none, so an unknown, a malformed and a
revoked token take the same path and the same time, and are refused the same way.

Reads are counted per token and per source address over an hour, in PostgreSQL so every API
process shares the count, the way free-text messages are (security/message_limits.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from infra.db import OwnTables
from infra.logs import get_logger
from infra.metrics import CALENDAR_FEED_READS_REFUSED
from infra.settings import Settings
from security.quota import Quota, wait_for_room

log = get_logger("security.scheduling")

SECRET_BYTES = 32
TOKEN_LENGTH = 64  # base64url of 16 bytes of id and 32 of secret, unpadded
# Compared against when no feed matches, so a miss costs what a hit costs.
_STAND_IN = hashlib.sha256(b"sonrisa: no such calendar feed").digest()
# The locks' namespaces ("FEDA", "FEDT"), always taken in this order.
ADDRESS_LOCK = 0x46454441
TOKEN_LOCK = 0x46454454


@dataclass(frozen=True, slots=True)
class Feed:
    """A subscription to one provider's appointments (never its secret)."""

    id: UUID
    provider_id: UUID
    created_by: UUID
    created_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "id": str(self.id),
            "provider_id": str(self.provider_id),
            "created_by": str(self.created_by),
            "created_at": self.created_at.isoformat(),
        }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_of(feed_id: UUID, secret: bytes) -> str:
    return _b64(feed_id.bytes + secret)


def parts_of(token: str) -> tuple[UUID, bytes]:
    """The feed id and secret a token names. A token that is not one of ours names a random
    id (no feed has it) and its own bytes: it then fails the way an unknown one does."""
    try:
        if len(token) == TOKEN_LENGTH and token.isascii():
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            if len(raw) == 16 + SECRET_BYTES and _b64(raw) == token:
                return UUID(bytes=raw[:16]), raw[16:]
    except (ValueError, binascii.Error):
        pass
    return uuid4(), token.encode("utf-8", "replace")


def _digest(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()


def _feed(row: asyncpg.Record) -> Feed:
    return Feed(row["feed_id"], row["provider_id"], row["created_by"], row["created_at"])


class CalendarFeeds(OwnTables):
    """The feeds and the hashes of their secrets; revoked ones are kept, marked."""

    DDL = """
        CREATE TABLE IF NOT EXISTS calendar_feeds (
            feed_id uuid PRIMARY KEY,
            provider_id uuid NOT NULL,
            secret_hash bytea NOT NULL,
            created_by uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_by uuid,
            revoked_at timestamptz
        );
        CREATE INDEX IF NOT EXISTS calendar_feeds_provider
            ON calendar_feeds (provider_id) WHERE revoked_at IS NULL;
    """

    async def create(self, provider_id: UUID, created_by: UUID) -> tuple[Feed, str]:
        """A new feed and its token: the only time the token exists in the clear."""
        feed_id, secret = uuid4(), secrets.token_bytes(SECRET_BYTES)
        row = await self.pool.fetchrow(
            "INSERT INTO calendar_feeds (feed_id, provider_id, secret_hash, created_by) "
            "VALUES ($1, $2, $3, $4) RETURNING feed_id, provider_id, created_by, created_at",
            feed_id,
            provider_id,
            _digest(secret),
            created_by,
        )
        assert row is not None  # INSERT … RETURNING gives its row
        return _feed(row), token_of(feed_id, secret)

    async def active(self, providers: Collection[UUID] | None) -> list[Feed]:
        """The feeds not revoked, of these providers (None: of every provider)."""
        rows = await self.pool.fetch(
            "SELECT feed_id, provider_id, created_by, created_at FROM calendar_feeds "
            "WHERE revoked_at IS NULL AND ($1::uuid[] IS NULL OR provider_id = ANY($1)) "
            "ORDER BY created_at, feed_id",
            None if providers is None else list(providers),
        )
        return [_feed(r) for r in rows]

    async def revoke(self, feed_id: UUID, by: UUID, providers: Collection[UUID] | None) -> bool:
        """Revokes a feed of these providers (None: of any); False when there is none."""
        revoked = await self.pool.fetchval(
            "UPDATE calendar_feeds SET revoked_at = now(), revoked_by = $2 "
            "WHERE feed_id = $1 AND revoked_at IS NULL "
            "AND ($3::uuid[] IS NULL OR provider_id = ANY($3)) RETURNING true",
            feed_id,
            by,
            None if providers is None else list(providers),
        )
        return bool(revoked)

    async def open(self, token: str) -> Feed | None:
        """The live feed this token opens, or None: unknown, malformed and revoked alike."""
        feed_id, secret = parts_of(token)
        row = await self.pool.fetchrow(
            "SELECT feed_id, provider_id, created_by, created_at, secret_hash "
            "FROM calendar_feeds WHERE feed_id = $1 AND revoked_at IS NULL",
            feed_id,
        )
        stored = bytes(row["secret_hash"]) if row is not None else _STAND_IN
        matches = hmac.compare_digest(_digest(secret), stored)
        return _feed(row) if row is not None and matches else None


class TooManyReads(Exception):
    """The token, or the address, has read as many feeds as the hour allows."""

    def __init__(self, retry_after: int, limit: str, allowed: int, window: timedelta) -> None:
        super().__init__(f"{allowed} calendar feed reads per {limit} in {window}")
        self.retry_after = retry_after
        self.limit = limit  # "token" or "address"
        seconds = int(window.total_seconds())
        self.quota = Quota(f"feed-reads-per-{limit}", allowed, seconds, 0, retry_after)


@dataclass(frozen=True, slots=True)
class ReadLimits:
    per_token: int
    per_address: int
    window: timedelta = timedelta(hours=1)


class FeedReads(OwnTables):
    """Counts feed reads over a sliding hour, per token (by its hash) and per address."""

    DDL = """
        CREATE TABLE IF NOT EXISTS calendar_feed_reads (
            id bigserial PRIMARY KEY,
            token_hash text NOT NULL,
            address text NOT NULL,
            read_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS calendar_feed_reads_token
            ON calendar_feed_reads (token_hash, read_at);
        CREATE INDEX IF NOT EXISTS calendar_feed_reads_address
            ON calendar_feed_reads (address, read_at);
        CREATE INDEX IF NOT EXISTS calendar_feed_reads_at ON calendar_feed_reads (read_at);
    """

    def __init__(self, pool: asyncpg.Pool, limits: ReadLimits) -> None:
        super().__init__(pool)
        self.limits = limits

    @classmethod
    def of(cls, pool: asyncpg.Pool, settings: Settings) -> FeedReads:
        return cls(
            pool,
            ReadLimits(
                per_token=settings.calendar_feed_reads_per_token_per_hour,
                per_address=settings.calendar_feed_reads_per_address_per_hour,
            ),
        )

    async def take(self, token: str, address: str) -> Quota:
        """Counts one read, or raises TooManyReads when the token or the address has had its
        hour's worth. Any token counts, known or not: the answer tells nothing about it."""
        # Hashed: the table must not become a list of working feed URLs.
        key = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
        limits, window = self.limits, self.limits.window
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", ADDRESS_LOCK, address
            )
            await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", TOKEN_LOCK, key)
            for limit, value, allowed in (
                ("token", key, limits.per_token),
                ("address", address, limits.per_address),
            ):
                column = "token_hash" if limit == "token" else "address"
                wait = await wait_for_room(
                    conn, "calendar_feed_reads", column, "read_at", value, window, allowed
                )
                if wait is not None:
                    CALENDAR_FEED_READS_REFUSED.labels(limit).inc()
                    log.warning("calendar feed read refused", limit=limit)
                    raise TooManyReads(wait, limit, allowed, window)
            await conn.execute(
                "INSERT INTO calendar_feed_reads (token_hash, address) VALUES ($1, $2)",
                key,
                address,
            )
            standing = await conn.fetchrow(
                "SELECT count(*), ceil(extract(epoch FROM min(read_at) + $2::interval "
                "- clock_timestamp())) FROM calendar_feed_reads WHERE token_hash = $1 "
                "AND read_at > clock_timestamp() - $2::interval",
                key,
                window,
            )
        assert standing is not None  # an aggregate without GROUP BY has its one row
        await self.pool.execute(
            "DELETE FROM calendar_feed_reads WHERE read_at < clock_timestamp() - $1::interval",
            window,
        )
        read, frees = standing
        seconds = int(window.total_seconds())
        return Quota(
            "feed-reads-per-token",
            limits.per_token,
            seconds,
            limits.per_token - read,
            int(frees or seconds),
        )
