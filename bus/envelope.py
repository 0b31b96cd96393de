"""The message every event travels in, and how it is read from the event store.

One shape for the relay, gap healing, rebuilds and audits: whatever reads events
reads them as `Envelope`s made here, so a projection sees the same thing live and
on a rebuild.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    UUIDAsHex,
)
from pydantic import BaseModel, ConfigDict

from commands.base import register_clinic_transcodings
from domain.shared import Meta

CONTEXTS: tuple[str, ...] = ("patients", "identity", "scheduling")
_SKIPPED = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}
# Secrets stay in the event store; the bus and every reader of envelopes see that they changed.
_REDACTED = {"password_hash", "secret"}


class Envelope(BaseModel):
    """One event on the bus: JSON body of a message on `clinic.events`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID
    context: str
    event_type: str
    aggregate_type: str
    aggregate_id: UUID
    version: int
    notification_id: int
    timestamp: datetime
    meta: dict[str, str]
    payload: dict[str, Any]

    @property
    def routing_key(self) -> str:
        return f"{self.context}.{self.event_type}"

    @property
    def correlation_id(self) -> str:
        return self.meta.get("correlation_id", "")

    @property
    def causation_id(self) -> str:
        return self.meta.get("causation_id", "")


def event_id_for(aggregate_id: UUID, version: int) -> UUID:
    """Stable id: the same event read twice (relay restart, rebuild) keeps its id."""
    return uuid5(NAMESPACE_URL, f"sonrisa:{aggregate_id}:{version}")


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


class EventDecoder:
    """Turns stored events into envelopes, with the same transcodings the Applications use."""

    def __init__(self) -> None:
        transcoder = JSONTranscoder()
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
        register_clinic_transcodings(transcoder)
        self._transcoder = transcoder

    def envelope(self, context: str, row: asyncpg.Record | dict[str, Any]) -> Envelope:
        """Decodes the stored state directly: no domain classes are imported or built, so a
        reader of the log does not depend on today's code accepting yesterday's events."""
        originator_id = row["originator_id"]
        assert isinstance(originator_id, UUID)
        version: int = row["originator_version"]
        topic: str = row["topic"]
        state: dict[str, Any] = self._transcoder.decode(bytes(row["state"]))
        meta = state.get("meta")
        aggregate_type, _, event_type = topic.rpartition(":")[2].rpartition(".")
        # Trusted, already typed values from our own store: no need to validate them again.
        return Envelope.model_construct(
            event_id=event_id_for(originator_id, version),
            context=context,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=originator_id,
            version=version,
            notification_id=row["notification_id"],
            timestamp=state["timestamp"],
            meta=meta.as_dict() if isinstance(meta, Meta) else {},
            payload={
                k: "[redacted]" if k in _REDACTED else _plain(v)
                for k, v in state.items()
                if k not in _SKIPPED
            },
        )


def events_table(context: str) -> str:
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r}")
    return f"{context}_events"


class EventStoreReader:
    """Reads the event store's tables directly with asyncpg (read-only, never writes)."""

    def __init__(self, pool: asyncpg.Pool, decoder: EventDecoder | None = None) -> None:
        self.pool = pool
        self.decoder = decoder or EventDecoder()

    async def notifications(self, context: str, after: int, limit: int) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {events_table(context)} WHERE notification_id > $1 "  # noqa: S608
            "ORDER BY notification_id LIMIT $2",
            after,
            limit,
        )
        return [self.decoder.envelope(context, row) for row in rows]

    async def aggregate_events(
        self, context: str, aggregate_id: UUID, after_version: int = 0, up_to: int | None = None
    ) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {events_table(context)} WHERE originator_id = $1 "  # noqa: S608
            "AND originator_version > $2 AND ($3::bigint IS NULL OR originator_version <= $3) "
            "ORDER BY originator_version",
            aggregate_id,
            after_version,
            up_to,
        )
        return [self.decoder.envelope(context, row) for row in rows]

    async def max_notification_id(self, context: str) -> int:
        value = await self.pool.fetchval(
            f"SELECT coalesce(max(notification_id), 0) FROM {events_table(context)}"  # noqa: S608
        )
        return int(value)

    async def stream(
        self, contexts: Sequence[str], batch: int = 2000
    ) -> AsyncIterator[list[Envelope]]:
        """Every event of the given contexts in notification order, batch by batch."""
        for context in contexts:
            after = 0
            while chunk := await self.notifications(context, after, batch):
                yield chunk
                after = chunk[-1].notification_id


def body(envelope: Envelope) -> bytes:
    return envelope.model_dump_json().encode()


def parse(raw: bytes) -> Envelope:
    """The envelope in a message body; pydantic's ValidationError when it is not one."""
    return Envelope.model_validate_json(raw)
