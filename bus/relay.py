"""The relay: event store notification log -> RabbitMQ, at least once, in order.

It never publishes inside a command's transaction: it reads committed events
after its tracked position, publishes them with publisher confirms and moves
the position only past the confirmed prefix (invariant 2). It wakes on the
NOTIFY that eventsourcing sends on every insert and polls as well, and only the
holder of a PostgreSQL advisory lock relays, so replicas are safe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractExchange

from bus.connection import backoff, connect
from bus.topology import declare_consumer_queue, declare_exchange
from infra import tracing
from infra.eventstore import Envelope, EventStoreReader
from infra.logs import get_logger
from infra.metrics import RELAY_FAILURES, RELAY_LAG, RELAY_PUBLISHED
from infra.tracing import Tracing

log = get_logger("bus.relay")

RELAY_LOCK_KEY = 0x50_4E_52_49_53_41  # "SONRISA"-ish; one relay leader per database
LAG_SECONDS = 15.0  # how often the leader measures how far behind the store it is
POSITION_DDL = """
CREATE TABLE IF NOT EXISTS bus_relay_position (
    context text PRIMARY KEY,
    notification_id bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""


class LeadershipLost(RuntimeError):
    """This relay can no longer be sure it is the only one; it stops and competes again."""


def traceparent(envelope: Envelope) -> str:
    """W3C trace context: the trace is the correlation id, the span is this event."""
    return tracing.traceparent(envelope.correlation_id, envelope.event_id)


def message(envelope: Envelope) -> aio_pika.Message:
    """The envelope as a persistent message: JSON body, ids and trace context in headers."""
    return aio_pika.Message(
        body=envelope.model_dump_json().encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(envelope.event_id),
        correlation_id=envelope.correlation_id,
        timestamp=envelope.timestamp,
        type=envelope.routing_key,
        headers={
            "causation_id": envelope.causation_id,
            "traceparent": traceparent(envelope),
            "aggregate_id": str(envelope.aggregate_id),
            "version": envelope.version,
        },
    )


class Relay:
    def __init__(
        self,
        *,
        dsn: str,
        pool: asyncpg.Pool,
        reader: EventStoreReader,
        rabbitmq_url: str,
        exchange: str,
        queues: Sequence[tuple[str, Sequence[str]]],
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        tracing: Tracing | None = None,
    ) -> None:
        self.dsn = dsn
        self.pool = pool
        self.reader = reader
        self.rabbitmq_url = rabbitmq_url
        self.exchange_name = exchange
        self.contexts = reader.contexts
        self.queues = tuple(queues)
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.tracing = tracing or Tracing(None)
        self.is_leader = False
        # Only the leader writes the position, so once read it is known without asking.
        self._positions: dict[str, int] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Wait for leadership, then relay until `stop` is set."""
        lock = await asyncpg.connect(self.dsn)
        try:
            while not await lock.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                log.info("relay standing by: another relay holds the lock")
                if await _wait(stop, self.poll_seconds * 5):
                    return
            self.is_leader = True
            self._positions.clear()
            log.info("relay is the leader", contexts=list(self.contexts))
            wake = asyncio.Event()

            def on_notify(*_: Any) -> None:
                wake.set()

            for context in self.contexts:
                await lock.add_listener(self.reader.table(context), on_notify)
            await self._relay_until(stop, wake, lock)
        finally:
            self.is_leader = False
            await lock.close()

    async def _relay_until(
        self, stop: asyncio.Event, wake: asyncio.Event, lock: asyncpg.Connection
    ) -> None:
        connection = await connect(self.rabbitmq_url, f"relay:{self.exchange_name}")
        try:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await declare_exchange(channel, self.exchange_name)
            for queue, keys in self.queues:
                await declare_consumer_queue(channel, exchange, queue, keys)
            failures = 0
            lag_due = 0.0
            while not stop.is_set():
                if lock.is_closed():
                    raise LeadershipLost("the advisory lock's connection closed")
                if time.monotonic() >= lag_due:
                    await self.report_lag()
                    lag_due = time.monotonic() + LAG_SECONDS
                wake.clear()
                try:
                    moved = 0
                    for context in self.contexts:
                        moved += await self.publish_pending(context, exchange)
                    failures = 0
                except (aio_pika.exceptions.AMQPError, asyncpg.PostgresError, OSError) as error:
                    RELAY_FAILURES.inc()
                    failures += 1
                    wait = backoff(failures)
                    log.warning("relay round failed; retrying", error=str(error), backoff=wait)
                    await _wait(stop, wait)
                    continue
                if moved == 0:
                    await _wait_any(stop, wake, self.poll_seconds)
        finally:
            await connection.close()

    async def report_lag(self) -> dict[str, int]:
        """Sets `sonrisa_relay_lag_events` per context: the store's head less what was
        published. A store that cannot be asked leaves the last figures as they were."""
        try:
            heads = await self.reader.heads()
            lag = {c: max(0, heads[c] - await self._position_of(c)) for c in self.contexts}
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("relay lag not measured", error=type(error).__name__)
            return {}
        for context, behind in lag.items():
            RELAY_LAG.labels(context).set(behind)
        return lag

    async def _position_of(self, context: str) -> int:
        if context not in self._positions:
            self._positions[context] = await self.position(context)
        return self._positions[context]

    async def _publish(self, exchange: AbstractExchange, envelope: Envelope) -> object:
        with self.tracing.event(
            f"publish {envelope.routing_key}",
            envelope.correlation_id,
            envelope.causation_id,
            envelope.event_id,
        ):
            return await exchange.publish(message(envelope), envelope.routing_key, mandatory=True)

    async def position(self, context: str) -> int:
        value = await self.pool.fetchval(
            "SELECT notification_id FROM bus_relay_position WHERE context = $1", context
        )
        return int(value or 0)

    async def publish_pending(self, context: str, exchange: AbstractExchange) -> int:
        """Publish the next batch; advance past the confirmed prefix; return how many."""
        after = await self._position_of(context)
        envelopes = await self.reader.notifications(context, after, self.batch_size)
        if not envelopes:
            return 0
        results = await asyncio.gather(
            *(self._publish(exchange, e) for e in envelopes), return_exceptions=True
        )
        confirmed, failure = _confirmed_prefix(envelopes, results)
        if confirmed:
            await self.pool.execute(
                "INSERT INTO bus_relay_position (context, notification_id) VALUES ($1, $2) "
                "ON CONFLICT (context) DO UPDATE SET notification_id = EXCLUDED.notification_id, "
                "updated_at = now()",
                context,
                confirmed[-1].notification_id,
            )
            self._positions[context] = confirmed[-1].notification_id
            RELAY_PUBLISHED.labels(context).inc(len(confirmed))
        if failure is not None:
            raise failure
        return len(confirmed)


def _confirmed_prefix(
    envelopes: Sequence[Envelope], results: Sequence[object]
) -> tuple[list[Envelope], BaseException | None]:
    confirmed: list[Envelope] = []
    for envelope, result in zip(envelopes, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError):
                raise result
            return confirmed, (
                result
                if isinstance(result, aio_pika.exceptions.AMQPError | OSError)
                else aio_pika.exceptions.AMQPError(str(result))
            )
        confirmed.append(envelope)
    return confirmed, None


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True when `stop` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
