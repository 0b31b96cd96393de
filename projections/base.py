"""The one projection mechanism: a pure fold per aggregate, stored idempotently and in order.

A projection says how one event changes one aggregate's document (`evolve`); a
store (PostgreSQL or Mongo) keeps each document with the aggregate version it
has reached. Live batches and rebuilds run the same `evolve`, so a rebuild equals
the live read model (invariant 1). Versions make a redelivery a no-op
(invariant 2) and a version gap is healed from the event store (invariant 3).

An event that `evolve` cannot apply parks its aggregate: the aggregate is marked stuck
(with the event and the error) in the same write as the batch, its later events wait,
and every other aggregate keeps flowing. `Projector.retry` folds a stuck aggregate again
from the event store once the cause is fixed (ADR 9).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, runtime_checkable
from uuid import UUID

from infra.eventstore import Envelope, EventStoreReader
from infra.faults import is_store_fault
from infra.logs import get_logger
from infra.metrics import PARKED_EVENTS, PROJECTION_LAG, STUCK_AGGREGATES

Document = dict[str, Any]


class GapNotHealed(RuntimeError):
    """The event store does not have the events a message says came before it."""


class NotInEventStore(RuntimeError):
    """A message carries an event the event store does not hold: it is forged or corrupt."""


class EventNotApplied(Exception):
    """`evolve` failed on this event: a defect of the projection or of the event, not of I/O."""

    def __init__(self, envelope: Envelope, error: Exception) -> None:
        super().__init__(f"{envelope.event_type} v{envelope.version}: {error!r}")
        self.envelope = envelope
        self.error = error


log = get_logger("projections")


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

    def check(self, document: Document) -> None:  # noqa: B027 - most stores take any document
        """Raises when the store could not hold this document (a store's own rules)."""


@dataclass(slots=True)
class Versioned:
    version: int
    document: Document


@dataclass(frozen=True, slots=True)
class Stuck:
    """An aggregate whose next event could not be applied, and why."""

    context: str
    version: int
    event_type: str
    error: str

    @classmethod
    def of(cls, failure: EventNotApplied) -> Stuck:
        event = failure.envelope
        return cls(event.context, event.version, event.event_type, repr(failure.error)[:2000])


@dataclass(slots=True)
class Outcome:
    """What a batch decided: documents to write, aggregates to mark stuck or to free."""

    changed: dict[UUID, Versioned] = field(default_factory=dict)
    stuck: dict[UUID, Stuck] = field(default_factory=dict)
    freed: set[UUID] = field(default_factory=set)


@dataclass(slots=True)
class Rebuilt:
    """A read model folded afresh from the whole event store: its documents, the position
    reached in each context, and the aggregates parked on the way."""

    documents: dict[UUID, Versioned] = field(default_factory=dict)
    positions: dict[str, int] = field(default_factory=dict)
    stuck: dict[UUID, Stuck] = field(default_factory=dict)
    finished: bool = False  # a resumed rebuild that had only its last steps left, now done


Decide = Callable[[dict[UUID, Versioned], dict[UUID, Stuck]], Awaitable[Outcome]]


@runtime_checkable
class PiecewiseRebuild(Protocol):
    """A store whose rebuild is written piece by piece into a shadow, with its progress, and
    swapped in at the end: a restart resumes it where it stopped rather than from zero."""

    async def rebuild_resumed(self, fingerprint: str) -> Rebuilt | None:
        """What an unfinished rebuild by this same code (`fingerprint`) saved, with the
        documents it wrote so far; None (and a fresh shadow) when there is none."""

    async def rebuild_piece(
        self, changed: dict[UUID, Versioned], positions: dict[str, int], stuck: dict[UUID, Stuck]
    ) -> None:
        """Write these documents into the shadow, then the progress they reach."""

    async def rebuild_finished(self, rebuilt: Rebuilt) -> None:
        """Swap the shadow in, with the positions and stuck marks reached."""


class DocumentStore(Protocol):
    """Where a projection's documents live; each write carries its aggregate version."""

    @property
    def projection(self) -> Projection: ...

    async def migrate(self) -> None:
        """Create the store's tables or indexes; safe to repeat."""

    async def apply(self, decide: Decide, ids: Sequence[UUID], positions: dict[str, int]) -> None:
        """Load the documents and stuck marks of `ids`, let `decide` fold events into them,
        and write documents, marks and positions back together."""

    async def replace_all(self, rebuilt: Rebuilt) -> None:
        """Swap the whole read model for freshly folded documents."""

    async def status(self) -> dict[str, int]:
        """The highest notification id applied, per context."""

    async def stuck(self) -> dict[UUID, Stuck]:
        """Every aggregate parked in this read model."""

    async def version_of(self, aggregate_id: UUID) -> int:
        """The aggregate version the read model has reached (0: never seen)."""

    async def dump(self) -> dict[UUID, Versioned]:
        """Every document with its version, to compare read models."""


def fold(
    projection: Projection, current: Versioned | None, events: Iterable[Envelope]
) -> Versioned | None:
    """Apply events in version order, skipping those already applied; `EventNotApplied`
    names the event `evolve` failed on."""
    for envelope in sorted(events, key=lambda e: e.version):
        version = current.version if current else 0
        if envelope.version <= version:
            continue
        if envelope.version != version + 1:
            raise GapNotHealed(
                f"{projection.name}: {envelope.aggregate_id} is at version {version} "
                f"and got version {envelope.version}"
            )
        try:
            document = projection.evolve(current.document if current else None, envelope)
            projection.check(document)
        except Exception as error:
            raise EventNotApplied(envelope, error) from error
        current = Versioned(envelope.version, document)
    return current


def fold_until(
    projection: Projection, events: Iterable[Envelope], moment: datetime
) -> Versioned | None:
    """The document as the live read model held it at `moment` (for auditors' as-of reads)."""
    return fold(projection, None, [e for e in events if e.timestamp <= moment])


REBUILD_CHUNK = 2000  # events a rebuild folds (and a piecewise store saves) at a time


class Projector:
    """Applies batches of envelopes to one projection's store: idempotent, ordered, healed,
    and never held up by one aggregate whose event cannot be applied."""

    def __init__(self, projection: Projection, store: DocumentStore, reader: EventStoreReader):
        self.projection = projection
        self.store = store
        self.reader = reader
        self._gauge_known = False
        self.rebuild_chunk = REBUILD_CHUNK

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def binding_keys(self) -> tuple[str, ...]:
        return self.projection.binding_keys

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        positions: dict[str, int] = {}
        for envelope in envelopes:
            positions[envelope.context] = max(
                positions.get(envelope.context, 0), envelope.notification_id
            )
        by_aggregate: dict[UUID, list[Envelope]] = {}
        for envelope in envelopes:
            if self.projection.handles(envelope):
                by_aggregate.setdefault(envelope.aggregate_id, []).append(envelope)

        async def decide(current: dict[UUID, Versioned], stuck: dict[UUID, Stuck]) -> Outcome:
            outcome = Outcome()
            for aggregate_id, events in by_aggregate.items():
                if aggregate_id in stuck:
                    # It waits for a retry, which re-reads these events from the store.
                    PARKED_EVENTS.labels(self.name).inc(len(events))
                    continue
                before = current.get(aggregate_id)
                try:
                    after = fold(self.projection, before, await self._heal(before, events))
                except EventNotApplied as failure:
                    await self._require_stored(failure.envelope)
                    held = sum(1 for e in events if e.version > failure.envelope.version)
                    outcome.stuck[aggregate_id] = self._park(aggregate_id, failure, held)
                    continue
                if after is not None and (before is None or after.version != before.version):
                    outcome.changed[aggregate_id] = after
            return outcome

        await self.store.apply(decide, list(by_aggregate), positions)
        await self._count_stuck(force=False)

    async def _require_stored(self, envelope: Envelope) -> None:
        """Only a real event parks its aggregate; a message the event store does not back
        fails, so the consumer dead-letters it (invariant 4)."""
        stored = await self.reader.aggregate_events(
            envelope.context, envelope.aggregate_id, envelope.version - 1, envelope.version
        )
        if not stored or stored[0].event_id != envelope.event_id:
            raise NotInEventStore(
                f"{envelope.event_type} v{envelope.version} of {envelope.aggregate_id} "
                "is not in the event store"
            )

    def _park(self, aggregate_id: UUID, failure: EventNotApplied, held: int = 0) -> Stuck:
        """Marks the aggregate stuck; counts its failed event and the `held` ones after it."""
        PARKED_EVENTS.labels(self.name).inc(1 + held)
        self._gauge_known = False
        log.error(
            "event not applied: aggregate parked until a retry",
            projection=self.name,
            aggregate_id=str(aggregate_id),
            event_type=failure.envelope.event_type,
            version=failure.envelope.version,
            error_type=type(failure.error).__name__,
        )
        return Stuck.of(failure)

    async def _count_stuck(self, *, force: bool) -> int:
        if force or not self._gauge_known:
            count = len(await self.store.stuck())
            STUCK_AGGREGATES.labels(self.name).set(count)
            self._gauge_known = True
            return count
        return -1

    async def _heal(self, current: Versioned | None, events: list[Envelope]) -> list[Envelope]:
        """Fetch from the event store whatever is missing between the document and the batch;
        `GapNotHealed` when the store does not have what a message claims came before it."""
        have = current.version if current else 0
        wanted = max(e.version for e in events)
        if wanted <= have:
            return events
        versions = {e.version for e in events}
        if all(v in versions for v in range(have + 1, wanted + 1)):
            return events
        first = events[0]
        found = await self.reader.aggregate_events(first.context, first.aggregate_id, have, wanted)
        if not found or found[-1].version < wanted:
            stored = found[-1].version if found else have
            raise GapNotHealed(
                f"{self.name}: {first.aggregate_type} {first.aggregate_id} is at version "
                f"{stored} in the event store, but a message claims version {wanted}"
            )
        return found

    async def retry(self, only: Sequence[UUID] | None = None) -> dict[UUID, Stuck]:
        """Fold stuck aggregates again from the event store; those that still fail stay
        stuck (with the new error), and are returned."""
        parked = await self.store.stuck()
        ids = [i for i in parked if only is None or i in only]

        async def decide(current: dict[UUID, Versioned], stuck: dict[UUID, Stuck]) -> Outcome:
            outcome = Outcome()
            for aggregate_id in ids:
                mark = stuck.get(aggregate_id)
                if mark is None:
                    continue
                before = current.get(aggregate_id)
                have = before.version if before else 0
                events = await self.reader.aggregate_events(mark.context, aggregate_id, have)
                try:
                    after = fold(self.projection, before, events)
                except EventNotApplied as failure:
                    outcome.stuck[aggregate_id] = self._park(aggregate_id, failure)
                    continue
                outcome.freed.add(aggregate_id)
                if after is not None and after is not before:
                    outcome.changed[aggregate_id] = after
            return outcome

        await self.store.apply(decide, ids, {})
        self._gauge_known = False
        await self._count_stuck(force=True)
        left = await self.store.stuck()
        return {i: s for i, s in left.items() if i in ids}

    async def rebuild(self, progress: Callable[[int], None] = lambda _: None) -> int:
        """Fold every event in the store, then swap the read model; returns events read.
        A store that rebuilds in pieces gets each chunk's documents as they are folded, and
        an unfinished rebuild of the same code is resumed where it stopped."""
        pieces = self.store if isinstance(self.store, PiecewiseRebuild) else None
        resumed = await pieces.rebuild_resumed(self.fingerprint()) if pieces else None
        rebuilt = resumed or Rebuilt()
        if resumed is not None:
            log.info("resuming a rebuild", projection=self.name, positions=resumed.positions)
            if resumed.finished:
                await self._catch_up(resumed.positions)
                await self._count_stuck(force=True)
                return 0
        documents, stuck, positions = rebuilt.documents, rebuilt.stuck, rebuilt.positions
        count = 0
        contexts = self.projection.contexts
        after = dict(positions)
        async for chunk in self.reader.stream(contexts, self.rebuild_chunk, after):
            folded_now: set[UUID] = set()
            for envelope in chunk:
                positions[envelope.context] = envelope.notification_id
                if not self.projection.handles(envelope) or envelope.aggregate_id in stuck:
                    continue
                try:
                    folded = fold(self.projection, documents.get(envelope.aggregate_id), [envelope])
                except EventNotApplied as failure:
                    stuck[envelope.aggregate_id] = self._park(envelope.aggregate_id, failure)
                    continue
                if folded is not None:
                    documents[envelope.aggregate_id] = folded
                    folded_now.add(envelope.aggregate_id)
            if pieces is not None:
                await pieces.rebuild_piece(
                    {i: documents[i] for i in folded_now}, dict(positions), dict(stuck)
                )
            count += len(chunk)
            progress(len(chunk))
        if pieces is not None:
            await pieces.rebuild_finished(rebuilt)
        else:
            await self.store.replace_all(rebuilt)
        await self._catch_up(positions)
        await self._count_stuck(force=True)
        return count

    def fingerprint(self) -> str:
        """The projection's code, as a digest: a rebuild is resumed only by the same code."""
        module = inspect.getmodule(type(self.projection))
        source = inspect.getsource(module) if module is not None else type(self.projection).__name__
        return hashlib.sha256(source.encode()).hexdigest()[:16]

    async def _catch_up(self, positions: dict[str, int]) -> None:
        """Apply what was written to the store while the rebuild was folding."""
        for context in self.projection.contexts:
            after = positions.get(context, 0)
            while chunk := await self.reader.notifications(context, after, 1000):
                await self.handle_batch(chunk)
                after = chunk[-1].notification_id


class ProjectionLag:
    """Sets `sonrisa_projection_lag_events` for these projectors every `seconds`: the events
    of their contexts in the store that their read model has not applied yet. A store that
    cannot be asked leaves the last figure as it was (its outage has an alert of its own)."""

    def __init__(
        self, projectors: Sequence[Projector], reader: EventStoreReader, seconds: float = 15.0
    ) -> None:
        self.projectors = tuple(projectors)
        self.reader = reader
        self.seconds = seconds

    async def measure_once(self) -> dict[str, int]:
        heads = await self.reader.heads()
        lag: dict[str, int] = {}
        for projector in self.projectors:
            try:
                applied = await projector.store.status()
            except Exception as error:
                if not is_store_fault(error):
                    raise
                log.warning("projection lag not measured", projection=projector.name)
                continue
            lag[projector.name] = sum(
                max(0, heads[c] - applied.get(c, 0)) for c in projector.projection.contexts
            )
            PROJECTION_LAG.labels(projector.name).set(lag[projector.name])
        return lag

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.measure_once()
            except Exception as error:
                if not is_store_fault(error):
                    raise
                log.warning("projection lag not measured: the event store is away")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.seconds)
