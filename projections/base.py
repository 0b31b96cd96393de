"""The one projection mechanism: a pure fold per aggregate, stored idempotently and in order.

A projection says how one event changes one aggregate's document (`evolve`); a
store (PostgreSQL or Mongo) keeps each document with the aggregate version it
has reached. Live batches and rebuilds run the same `evolve`, so a rebuild equals
the live read model (invariant 1). Versions make a redelivery a no-op
(invariant 2) and a version gap is healed from the event store (invariant 3).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID

from infra.eventstore import Envelope, EventStoreReader

Document = dict[str, Any]


class GapNotHealed(RuntimeError):
    """The event store does not have the events a message says came before it."""


class Projection(ABC):
    """A read model built from the events of some contexts, one document per aggregate."""

    name: ClassVar[str]
    contexts: ClassVar[tuple[str, ...]]
    aggregate_types: ClassVar[frozenset[str]]

    def handles(self, envelope: Envelope) -> bool:
        return envelope.context in self.contexts and envelope.aggregate_type in self.aggregate_types

    @property
    def binding_keys(self) -> tuple[str, ...]:
        return tuple(f"{context}.#" for context in self.contexts)

    @abstractmethod
    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        """The document after this event; pure, no I/O."""


@dataclass(slots=True)
class Versioned:
    version: int
    document: Document


class DocumentStore(Protocol):
    """Where a projection's documents live; each write carries its aggregate version."""

    @property
    def projection(self) -> Projection: ...

    async def migrate(self) -> None:
        """Create the store's tables or indexes; safe to repeat."""

    async def apply(
        self,
        decide: Callable[[dict[UUID, Versioned]], Awaitable[dict[UUID, Versioned]]],
        ids: Sequence[UUID],
        positions: dict[str, int],
    ) -> None:
        """Load the documents of `ids`, let `decide` fold events into them, write them back."""

    async def replace_all(
        self, documents: dict[UUID, Versioned], positions: dict[str, int]
    ) -> None:
        """Swap the whole read model for freshly folded documents."""

    async def status(self) -> dict[str, int]:
        """The highest notification id applied, per context."""

    async def version_of(self, aggregate_id: UUID) -> int:
        """The aggregate version the read model has reached (0: never seen)."""

    async def dump(self) -> dict[UUID, Versioned]:
        """Every document with its version, to compare read models."""


def fold(
    projection: Projection, current: Versioned | None, events: Iterable[Envelope]
) -> Versioned | None:
    """Apply events in version order, skipping those already applied."""
    for envelope in sorted(events, key=lambda e: e.version):
        version = current.version if current else 0
        if envelope.version <= version:
            continue
        if envelope.version != version + 1:
            raise GapNotHealed(
                f"{projection.name}: {envelope.aggregate_id} is at version {version} "
                f"and got version {envelope.version}"
            )
        current = Versioned(
            envelope.version,
            projection.evolve(current.document if current else None, envelope),
        )
    return current


def fold_until(
    projection: Projection, events: Iterable[Envelope], moment: datetime
) -> Versioned | None:
    """The document as the live read model held it at `moment` (for auditors' as-of reads)."""
    return fold(projection, None, [e for e in events if e.timestamp <= moment])


class Projector:
    """Applies batches of envelopes to one projection's store: idempotent, ordered, healed."""

    def __init__(self, projection: Projection, store: DocumentStore, reader: EventStoreReader):
        self.projection = projection
        self.store = store
        self.reader = reader

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def binding_keys(self) -> tuple[str, ...]:
        return self.projection.binding_keys

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        mine = [e for e in envelopes if self.projection.handles(e)]
        positions: dict[str, int] = {}
        for envelope in envelopes:
            positions[envelope.context] = max(
                positions.get(envelope.context, 0), envelope.notification_id
            )
        by_aggregate: dict[UUID, list[Envelope]] = {}
        for envelope in mine:
            by_aggregate.setdefault(envelope.aggregate_id, []).append(envelope)

        async def decide(current: dict[UUID, Versioned]) -> dict[UUID, Versioned]:
            changed: dict[UUID, Versioned] = {}
            for aggregate_id, events in by_aggregate.items():
                before = current.get(aggregate_id)
                after = fold(self.projection, before, await self._heal(before, events))
                if after is not None and (before is None or after.version != before.version):
                    changed[aggregate_id] = after
            return changed

        await self.store.apply(decide, list(by_aggregate), positions)

    async def _heal(self, current: Versioned | None, events: list[Envelope]) -> list[Envelope]:
        """Fetch from the event store whatever is missing between the document and the batch."""
        have = current.version if current else 0
        wanted = max(e.version for e in events)
        if wanted <= have:
            return events
        versions = {e.version for e in events}
        if all(v in versions for v in range(have + 1, wanted + 1)):
            return events
        first = events[0]
        return await self.reader.aggregate_events(first.context, first.aggregate_id, have, wanted)

    async def rebuild(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Fold every event in the store, then swap the read model; returns events read."""
        documents: dict[UUID, Versioned] = {}
        positions: dict[str, int] = {}
        count = 0
        async for chunk in self.reader.stream(self.projection.contexts):
            for envelope in chunk:
                positions[envelope.context] = envelope.notification_id
                if self.projection.handles(envelope):
                    folded = fold(self.projection, documents.get(envelope.aggregate_id), [envelope])
                    if folded is not None:
                        documents[envelope.aggregate_id] = folded
            count += len(chunk)
            progress(len(chunk))
        await self.store.replace_all(documents, positions)
        await self._catch_up(positions)
        return count

    async def _catch_up(self, positions: dict[str, int]) -> None:
        """Apply what was written to the store while the rebuild was folding."""
        for context in self.projection.contexts:
            after = positions.get(context, 0)
            while chunk := await self.reader.notifications(context, after, 1000):
                await self.handle_batch(chunk)
                after = chunk[-1].notification_id
