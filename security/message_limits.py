"""Free-text messages are limited per sender and per patient (issue 15): the clinic's sender
must not become a desk account's megaphone, nor a patient's inbox be flooded.

Each message reserves its place before it is sent: a mark (sender, patient, when) is written,
under a lock per sender and then per patient, in the same transaction that counts the marks
in each window. However many requests arrive at once, in one API process or several, no more
than the limit get past. A message that is then not sent gives its place back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import asyncpg

from infra.db import OwnTables
from infra.logs import get_logger
from infra.metrics import MESSAGES_REFUSED
from infra.settings import Settings
from security.quota import Quota, wait_for_room

log = get_logger("security.message_limits")

# The locks' namespaces ("MSGS", "PATI"), always taken in this order: no two requests wait
# on each other in a circle.
SENDER_LOCK = 0x4D534753
PATIENT_LOCK = 0x50415449


class TooManyMessages(Exception):
    """The sender, or the patient, has had as many free-text messages as the window allows."""

    def __init__(self, retry_after: int, limit: str, allowed: int, window: timedelta) -> None:
        super().__init__(f"{allowed} free-text messages per {limit} in {window}")
        self.retry_after = retry_after
        self.limit = limit  # "sender" or "patient"
        self.allowed = allowed
        self.window = window
        self.quota = Quota(
            f"messages-per-{limit}", allowed, int(window.total_seconds()), 0, retry_after
        )


@dataclass(frozen=True, slots=True)
class Place:
    """A reserved place for one message (`mark`), and what the sender has left."""

    mark: int
    quota: Quota


@dataclass(frozen=True, slots=True)
class Limits:
    per_sender: int
    sender_window: timedelta
    per_patient: int
    patient_window: timedelta


class MessageLimits(OwnTables):
    """Counts free-text messages over sliding windows, atomically."""

    DDL = """
        CREATE TABLE IF NOT EXISTS free_text_messages_sent (
            id bigserial PRIMARY KEY,
            sender uuid NOT NULL,
            patient uuid NOT NULL,
            sent_at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX IF NOT EXISTS free_text_messages_sent_sender
            ON free_text_messages_sent (sender, sent_at);
        CREATE INDEX IF NOT EXISTS free_text_messages_sent_patient
            ON free_text_messages_sent (patient, sent_at);
        CREATE INDEX IF NOT EXISTS free_text_messages_sent_at
            ON free_text_messages_sent (sent_at);
    """

    def __init__(self, pool: asyncpg.Pool, limits: Limits) -> None:
        super().__init__(pool)
        self.limits = limits

    @classmethod
    def of(cls, pool: asyncpg.Pool, settings: Settings) -> MessageLimits:
        return cls(
            pool,
            Limits(
                per_sender=settings.free_text_messages_per_sender_per_hour,
                sender_window=timedelta(hours=1),
                per_patient=settings.free_text_messages_per_patient_per_day,
                patient_window=timedelta(days=1),
            ),
        )

    async def take(self, sender: UUID, patient: UUID) -> Place:
        """Reserve a place for one message from `sender` to `patient`, or raise
        TooManyMessages when either has had as many as its window allows."""
        limits = self.limits
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", SENDER_LOCK, str(sender)
            )
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", PATIENT_LOCK, str(patient)
            )
            for limit, key, allowed, window in (
                ("sender", sender, limits.per_sender, limits.sender_window),
                ("patient", patient, limits.per_patient, limits.patient_window),
            ):
                wait = await wait_for_room(
                    conn, "free_text_messages_sent", limit, "sent_at", key, window, allowed
                )
                if wait is not None:
                    MESSAGES_REFUSED.labels(limit).inc()
                    log.warning("free-text message refused", limit=limit, sender=str(sender))
                    raise TooManyMessages(wait, limit, allowed, window)
            mark: int = await conn.fetchval(
                "INSERT INTO free_text_messages_sent (sender, patient) VALUES ($1, $2) "
                "RETURNING id",
                sender,
                patient,
            )
            standing = await conn.fetchrow(
                "SELECT count(*), ceil(extract(epoch FROM min(sent_at) + $2::interval "
                "- clock_timestamp())) FROM free_text_messages_sent WHERE sender = $1 "
                "AND sent_at > clock_timestamp() - $2::interval",
                sender,
                limits.sender_window,
            )
        assert standing is not None  # an aggregate without GROUP BY has its one row
        seconds = int(limits.sender_window.total_seconds())
        sent, frees = standing
        left = limits.per_sender - sent
        quota = Quota(
            "messages-per-sender", limits.per_sender, seconds, left, int(frees or seconds)
        )
        await self.pool.execute(
            "DELETE FROM free_text_messages_sent WHERE sent_at < clock_timestamp() - $1::interval",
            max(limits.sender_window, limits.patient_window),
        )
        return Place(mark, quota)

    async def give_back(self, mark: int) -> None:
        """The message was not sent: its place is free again."""
        await self.pool.execute("DELETE FROM free_text_messages_sent WHERE id = $1", mark)
