"""The platform's side on the bus: every projector and every worker's reaction has a queue of
its own, filled by the relay and emptied by a consumer; a worker is its consumers and loops.
`Platform` wires the parts; this makes the running ones from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import asyncpg

from bus.consumer import BatchHandler, ConsumerRunner
from bus.relay import Relay
from clinic.declaration import Context, Reaction, Worker
from clinic.supervisor import Part
from infra.eventstore import Envelope, EventStoreReader
from infra.faults import describe, is_store_fault
from infra.readiness import ReadModelStates
from infra.settings import Settings
from infra.tracing import Tracing
from projections.base import Projector

if TYPE_CHECKING:
    from clinic.platform import Platform


@dataclass(frozen=True)
class AfterRebuild:
    """A projector that holds its messages while its read model is rebuilt in the background:
    the rebuild swaps the whole read model in, and a live write meanwhile would race it."""

    projector: Projector
    states: ReadModelStates

    @property
    def name(self) -> str:
        return self.projector.name

    @property
    def binding_keys(self) -> tuple[str, ...]:
        return self.projector.binding_keys

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        await self.states.wait_ready(self.projector.name)
        await self.projector.handle_batch(envelopes)


class Pipeline:
    """What a `Platform` runs on the bus: the relay, a consumer per queue, each worker's parts."""

    settings: Settings
    contexts: tuple[Context, ...]
    pool: asyncpg.Pool
    reader: EventStoreReader
    projectors: dict[str, Projector]
    states: ReadModelStates
    tracing: Tracing

    @property
    def wired(self) -> Platform:
        """This, as the platform the declarations' makers take."""
        return cast("Platform", self)

    def reactions(self) -> dict[str, Reaction]:
        return {r.name: r for w in self.workers().values() for r in w.reactions}

    def workers(self) -> dict[str, Worker]:
        return {w.name: w for c in self.contexts for w in c.workers}

    def queues(self) -> list[tuple[str, tuple[str, ...]]]:
        """Each consumer's queue and what it is bound to: projectors, then reactions."""
        return [
            *((self.settings.queue_name(n), p.binding_keys) for n, p in self.projectors.items()),
            *((self.settings.queue_name(n), r.binding_keys) for n, r in self.reactions().items()),
        ]

    def relay(self) -> Relay:
        return Relay(
            dsn=self.settings.asyncpg_dsn(),
            pool=self.pool,
            reader=self.reader,
            rabbitmq_url=self.settings.rabbitmq_url,
            exchange=self.settings.exchange,
            queues=self.queues(),
            batch_size=self.settings.relay_batch_size,
            poll_seconds=self.settings.relay_poll_seconds,
            tracing=self.tracing,
        )

    def consumer(self, name: str) -> ConsumerRunner:
        """The consumer of one projector's or one reaction's queue."""
        handler: BatchHandler
        if name in self.projectors:
            handler = AfterRebuild(self.projectors[name], self.states)
        elif name in (reactions := self.reactions()):
            handler = reactions[name].handler(self.wired)
        else:
            known = ", ".join(sorted([*self.projectors, *self.reactions()]))
            raise KeyError(f"unknown projection or reaction {name!r}; known: {known}")
        return ConsumerRunner(
            handler,
            rabbitmq_url=self.settings.rabbitmq_url,
            exchange=self.settings.exchange,
            queue=self.settings.queue_name(name),
            batch_size=self.settings.consumer_batch_size,
            batch_wait_seconds=self.settings.consumer_batch_wait_seconds,
            attempts=self.settings.consumer_attempts,
            outage=is_store_fault,
            describe=describe,
            tracing=self.tracing,
        )

    def worker_parts(self, name: str) -> dict[str, Part]:
        """A worker's parts: a consumer per reaction, and its loops."""
        worker = self.workers()[name]
        parts: dict[str, Part] = {
            f"{name}:{r.name}": self.consumer(r.name).run for r in worker.reactions
        }
        parts.update({f"{name}:{n}": loop for n, loop in worker.loops(self.wired).items()})
        return parts
