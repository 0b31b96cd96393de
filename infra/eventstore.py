"""The event store's reader: the envelope every event is read in, and how it is decoded.

One shape for the relay, gap healing, rebuilds and audits: whatever reads events
reads them as `Envelope`s made here, so a projection sees the same thing live and
on a rebuild. The transcodings are the ones the command side writes with, and the
contexts are named after the command side's Applications (their `name`, lower case,
is the prefix of their events table), so neither list is kept by hand twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import asyncpg
from eventsourcing.application import Application
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Transcoding,
    UUIDAsHex,
)
from pydantic import BaseModel, ConfigDict

from domain.shared import Meta

_SKIPPED = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}
# Secrets stay in the event store; the bus and every reader of envelopes see that they changed.
_REDACTED = {"password_hash", "secret"}


def context_of(application: type[Application[Any]]) -> str:
    """The bounded context an Application writes: eventsourcing names its table after it."""
    return application.name.lower()


def contexts_of(applications: Iterable[type[Application[Any]]]) -> tuple[str, ...]:
    return tuple(context_of(a) for a in applications)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class MetaAsDict(Transcoding):
    type = Meta
    name = "meta"

    def encode(self, obj: Meta) -> dict[str, str]:
        return obj.as_dict()

    def decode(self, data: dict[str, Any]) -> Meta:
        return Meta.from_dict(data)


def register_clinic_transcodings(transcoder: JSONTranscoder) -> None:
    """What the clinic's events hold beyond eventsourcing's defaults."""
    transcoder.register(DateAsISO())
    transcoder.register(MetaAsDict())


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


class EventStoreReader:
    """Reads the event store's tables directly with asyncpg (read-only, never writes)."""

    def __init__(
        self, pool: asyncpg.Pool, contexts: Sequence[str], decoder: EventDecoder | None = None
    ) -> None:
        self.pool = pool
        self.contexts = tuple(contexts)
        self.decoder = decoder or EventDecoder()

    def table(self, context: str) -> str:
        """The events table of a known context (never a name taken from input)."""
        if context not in self.contexts:
            raise ValueError(f"unknown context {context!r}; known: {', '.join(self.contexts)}")
        return f"{context}_events"

    async def notifications(self, context: str, after: int, limit: int) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.table(context)} WHERE notification_id > $1 "  # noqa: S608
            "ORDER BY notification_id LIMIT $2",
            after,
            limit,
        )
        return [self.decoder.envelope(context, row) for row in rows]

    async def aggregate_events(
        self, context: str, aggregate_id: UUID, after_version: int = 0, up_to: int | None = None
    ) -> list[Envelope]:
        rows = await self.pool.fetch(
            f"SELECT * FROM {self.table(context)} WHERE originator_id = $1 "  # noqa: S608
            "AND originator_version > $2 AND ($3::bigint IS NULL OR originator_version <= $3) "
            "ORDER BY originator_version",
            aggregate_id,
            after_version,
            up_to,
        )
        return [self.decoder.envelope(context, row) for row in rows]

    async def max_notification_id(self, context: str) -> int:
        value = await self.pool.fetchval(
            f"SELECT coalesce(max(notification_id), 0) FROM {self.table(context)}"  # noqa: S608
        )
        return int(value)

    async def heads(self) -> dict[str, int]:
        """The newest notification id of every context."""
        return {c: await self.max_notification_id(c) for c in self.contexts}

    async def stream(
        self, contexts: Sequence[str], batch: int = 2000, after: Mapping[str, int] | None = None
    ) -> AsyncIterator[list[Envelope]]:
        """Every event of the given contexts in notification order (each after its position
        in `after`, if given), batch by batch. The next batch is read while the caller works
        on this one (the database works meanwhile)."""
        for context in contexts:
            start = (after or {}).get(context, 0)
            ahead = asyncio.ensure_future(self.notifications(context, start, batch))
            try:
                while chunk := await ahead:
                    last = chunk[-1].notification_id
                    ahead = asyncio.ensure_future(self.notifications(context, last, batch))
                    yield chunk
            finally:
                ahead.cancel()
