"""The consumer runner: one durable queue per consumer, batches, retries, a dead-letter queue.

A batch is handed to the consumer whole; if it fails, each message is retried
on its own so one poison message cannot hold the others back. A message that
still fails goes to `<queue>.dlq` with the error in its headers and is counted
(invariant 4). Connection loss is survived with backoff.

A fault of the store (`outage`: PostgreSQL or Mongo away, full, corrupt) is not the message's
fault: the consumer holds the batch and tries it again with backoff, for as long as the
fault lasts, and says so in a metric (`STORE_OUTAGE`). It never dead-letters for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from pydantic import ValidationError

from bus.connection import backoff, connect
from bus.dead_letters import copy_of
from bus.topology import declare_consumer_queue, declare_exchange
from infra.eventstore import Envelope
from infra.logs import get_logger
from infra.metrics import CONSUMED, DEAD_LETTERED, STORE_OUTAGE, STORE_OUTAGE_RETRIES
from infra.tracing import Tracing

log = get_logger("bus.consumer")
OUTAGE_BACKOFF_CAP = 5.0  # seconds between tries of a batch while its store is at fault


def _network_fault(error: BaseException) -> bool:
    return isinstance(error, OSError | TimeoutError)


@functools.lru_cache(maxsize=4096)
def parse(raw: bytes) -> Envelope:
    """The envelope in a message body; pydantic's ValidationError when it is not one.

    Every consumer of a process gets each event in a message of its own, with the same
    body: the body is parsed once per process and the (frozen) envelope shared, so four
    read models fed by one patient event cost one parse, not four. Projections read
    payloads and never change them."""
    return Envelope.model_validate_json(raw)


class BatchHandler(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def binding_keys(self) -> tuple[str, ...]: ...

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None: ...


class ConsumerRunner:
    def __init__(
        self,
        handler: BatchHandler,
        *,
        rabbitmq_url: str,
        exchange: str,
        queue: str,
        batch_size: int = 200,
        batch_wait_seconds: float = 0.02,
        attempts: int = 3,
        outage: Callable[[BaseException], bool] = _network_fault,
        describe: Callable[[BaseException], str] = lambda error: type(error).__name__,
        tracing: Tracing | None = None,
    ) -> None:
        self.handler = handler
        self.rabbitmq_url = rabbitmq_url
        self.exchange_name = exchange
        self.queue_name = queue
        self.batch_size = batch_size
        self.batch_wait_seconds = batch_wait_seconds
        self.attempts = attempts
        self.outage = outage
        self.describe = describe
        self.tracing = tracing or Tracing(None)

    async def run(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                await self._consume(stop)
                failures = 0
            except (aio_pika.exceptions.AMQPError, OSError) as error:
                failures += 1
                wait = backoff(failures)
                log.warning(
                    "consumer lost RabbitMQ; reconnecting",
                    consumer=self.queue_name,
                    error=str(error),
                    backoff=round(wait, 2),
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)

    async def _consume(self, stop: asyncio.Event) -> None:
        connection = await connect(self.rabbitmq_url, self.queue_name)
        try:
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=self.batch_size * 2)
            exchange = await declare_exchange(channel, self.exchange_name)
            queue = await declare_consumer_queue(
                channel, exchange, self.queue_name, self.handler.binding_keys
            )
            inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

            async def receive(incoming: AbstractIncomingMessage) -> None:
                await inbox.put(incoming)

            tag = await queue.consume(receive)
            log.info("consumer started", consumer=self.queue_name)
            try:
                while not stop.is_set():
                    batch = await self._next_batch(inbox, stop)
                    if batch:
                        await self._process(channel, batch, stop)
            finally:
                with contextlib.suppress(Exception):
                    await queue.cancel(tag)
        finally:
            await connection.close()

    async def _next_batch(
        self, inbox: asyncio.Queue[AbstractIncomingMessage], stop: asyncio.Event
    ) -> list[AbstractIncomingMessage]:
        getter = asyncio.ensure_future(inbox.get())
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([getter, stopper], return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not getter.done():
            getter.cancel()
            return []
        batch = [getter.result()]
        deadline = asyncio.get_running_loop().time() + self.batch_wait_seconds
        while len(batch) < self.batch_size:
            if not inbox.empty():
                batch.append(inbox.get_nowait())
                continue
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(inbox.get(), timeout=remaining))
            except TimeoutError:
                break
        return batch

    async def _process(
        self, channel: AbstractChannel, batch: list[AbstractIncomingMessage], stop: asyncio.Event
    ) -> None:
        readable: list[tuple[AbstractIncomingMessage, Envelope]] = []
        for incoming in batch:
            try:
                readable.append((incoming, parse(incoming.body)))
            except (ValidationError, ValueError) as error:
                await self._dead_letter(channel, incoming, error)
        if not readable:
            return
        try:
            with contextlib.ExitStack() as spans:  # one per message, below the event it carries
                for incoming, _ in readable:
                    carried = (incoming.headers or {}).get("traceparent")
                    spans.enter_context(
                        self.tracing.consumed(
                            f"consume {self.queue_name}",
                            carried if isinstance(carried, str) else None,
                        )
                    )
                applied = await self._until_no_outage([e for _, e in readable], stop)
        except Exception as error:
            log.warning(
                "batch failed; retrying one by one",
                consumer=self.queue_name,
                size=len(readable),
                error=type(error).__name__,
            )
            for incoming, envelope in readable:
                if stop.is_set():
                    return  # unsettled: the broker redelivers them to whoever consumes next
                await self._one(channel, incoming, envelope, stop)
            return
        if not applied:
            return
        for incoming, _ in readable:
            await incoming.ack()
        CONSUMED.labels(self.queue_name, "applied").inc(len(readable))

    async def _until_no_outage(self, envelopes: list[Envelope], stop: asyncio.Event) -> bool:
        """Apply the batch, waiting out faults of the store (away, full, corrupt): those are
        not the messages' fault and must not dead-letter them. False when stopped meanwhile."""
        tries = 0
        applied = False
        try:
            while True:
                try:
                    await self.handler.handle_batch(envelopes)
                    applied = True
                except Exception as error:
                    if not self.outage(error):
                        raise
                    tries += 1
                    self._in_outage(error, tries)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            stop.wait(), timeout=backoff(tries, cap=OUTAGE_BACKOFF_CAP)
                        )
                    if stop.is_set():
                        return False
                else:
                    return True
        finally:
            if tries:
                STORE_OUTAGE.labels(self.queue_name).set(0)
                if applied:
                    log.info("store back; batch applied", consumer=self.queue_name, tries=tries)

    def _in_outage(self, error: Exception, tries: int) -> None:
        what = self.describe(error)
        STORE_OUTAGE.labels(self.queue_name).set(1)
        STORE_OUTAGE_RETRIES.labels(self.queue_name, type(error).__name__).inc()
        if tries == 1 or tries % 20 == 0:
            log.warning(
                "store fault; holding the batch and trying again",
                consumer=self.queue_name,
                fault=what,
                tries=tries,
            )

    async def _one(
        self,
        channel: AbstractChannel,
        incoming: AbstractIncomingMessage,
        envelope: Envelope,
        stop: asyncio.Event,
    ) -> None:
        with structlog.contextvars.bound_contextvars(
            correlation_id=envelope.correlation_id, event_id=str(envelope.event_id)
        ):
            for attempt in range(1, self.attempts + 1):
                try:
                    # A store fault met here is waited out too: only the message's own
                    # failure counts as an attempt.
                    if not await self._until_no_outage([envelope], stop):
                        return  # stopped: unsettled, the broker redelivers it
                except Exception as error:
                    if attempt == self.attempts:
                        await self._dead_letter(channel, incoming, error)
                        return
                    await asyncio.sleep(0.05 * 2**attempt)
                else:
                    await incoming.ack()
                    CONSUMED.labels(self.queue_name, "applied").inc()
                    return

    async def _dead_letter(
        self, channel: AbstractChannel, incoming: AbstractIncomingMessage, error: BaseException
    ) -> None:
        headers = dict(incoming.headers or {})
        headers.update(
            {
                "x-error": str(error)[:2000],
                "x-error-type": type(error).__name__,
                "x-failed-at": datetime.now(UTC).isoformat(),
                "x-original-routing-key": incoming.routing_key or "",
                "x-consumer": self.queue_name,
            }
        )
        await channel.default_exchange.publish(
            copy_of(incoming, headers), routing_key=f"{self.queue_name}.dlq"
        )
        await incoming.ack()
        DEAD_LETTERED.labels(self.queue_name).inc()
        CONSUMED.labels(self.queue_name, "dead_lettered").inc()
        log.error(
            "message dead-lettered",
            consumer=self.queue_name,
            error_type=type(error).__name__,
            message_id=incoming.message_id,
        )
