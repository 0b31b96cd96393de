"""(b) The relay draining the event store vs raw aio-pika confirmed publishing of the same
messages, same exchange, same queues bound, same batch size."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractQueue

from bench.harness import Harness, Sizes
from bench.report import Row, ratio_at_least
from bench.workload import chunks, seed_events
from bus.relay import message
from bus.topology import declare_consumer_queue, declare_exchange
from infra.eventstore import Envelope

CONTEXT = "patients"


async def _all_envelopes(harness: Harness) -> list[Envelope]:
    found: list[Envelope] = []
    async for chunk in harness.platform.reader.stream([CONTEXT]):
        found.extend(chunk)
    return found


async def _relay_round(harness: Harness, exchange: AbstractExchange, head: int) -> float:
    """From position 0 to the head, batch after batch, as the relay's loop does."""
    platform = harness.platform
    relay = platform.relay()
    await platform.pool.execute("DELETE FROM bus_relay_position")
    started = time.perf_counter()
    while await relay.publish_pending(CONTEXT, exchange):
        pass
    elapsed = time.perf_counter() - started
    if (position := await relay.position(CONTEXT)) != head:
        raise RuntimeError(f"the relay stopped at {position}, the head is {head}")
    return elapsed


async def _raw_round(
    exchange: AbstractExchange, envelopes: list[Envelope], batch_size: int
) -> float:
    """The same messages, built beforehand; gathered per batch with confirms, nothing else."""
    messages = [(message(e), e.routing_key) for e in envelopes]
    started = time.perf_counter()
    for batch in chunks(messages, batch_size):
        await asyncio.gather(*(exchange.publish(m, key, mandatory=True) for m, key in batch))
    return time.perf_counter() - started


def _routed_here(keys: Sequence[str]) -> bool:
    return any(key.split(".")[0] in (CONTEXT, "#", "*") for key in keys)


async def _drain(queues: list[tuple[AbstractQueue, int]]) -> None:
    """Check every bound queue got every message once, then empty it for the next round."""
    for queue, expected in queues:
        declared = await queue.declare()
        if declared.message_count != expected:
            raise RuntimeError(
                f"{queue.name} holds {declared.message_count} messages, expected {expected}"
            )
        await queue.purge()


async def run(harness: Harness, sizes: Sizes) -> Row:
    platform = harness.platform
    await harness.truncate("patients_events", "bus_relay_position")
    await asyncio.to_thread(seed_events, platform, sizes.relay_events, 20_000_000)
    head = await platform.reader.max_notification_id(CONTEXT)
    envelopes = await _all_envelopes(harness)
    batch_size = platform.settings.relay_batch_size
    seconds = {"relay": 0.0, "raw": 0.0}
    connection = await aio_pika.connect_robust(platform.settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_exchange(channel, platform.settings.exchange)
        queues = [
            (
                await declare_consumer_queue(channel, exchange, name, keys),
                len(envelopes) if _routed_here(keys) else 0,
            )
            for name, keys in platform.queues()
        ]
        for queue, _ in queues:  # whatever (c)'s projectors had not consumed yet
            await queue.purge()
        for round_ in range(sizes.rounds):
            order = ("relay", "raw") if round_ % 2 == 0 else ("raw", "relay")
            for side in order:
                if side == "relay":
                    seconds[side] += await _relay_round(harness, exchange, head)
                else:
                    seconds[side] += await _raw_round(exchange, envelopes, batch_size)
                await _drain(queues)
    total = len(envelopes) * sizes.rounds
    bound = sum(1 for _, expected in queues if expected)
    size = sum(len(message(e).body) for e in envelopes) / len(envelopes)
    return Row(
        "(b) relay, events/s",
        total / seconds["relay"],
        total / seconds["raw"],
        target="ratio ≥ 0.7",
        met=ratio_at_least(0.7),
        detail=(
            f"{len(envelopes)} events (~{size:.0f} B bodies) x{sizes.rounds}: "
            f"Relay.publish_pending from position 0 vs prebuilt messages, confirmed "
            f"publish in gathers of {batch_size}; {bound} quorum queues bound"
        ),
    )
