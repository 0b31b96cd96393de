"""RabbitMQ topology: the topic exchange, and one quorum queue (plus `.dlq`) per consumer."""

from __future__ import annotations

from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

DELIVERY_LIMIT = 20


async def declare_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


async def declare_consumer_queue(
    channel: AbstractChannel, exchange: AbstractExchange, queue: str, binding_keys: Sequence[str]
) -> AbstractQueue:
    """Durable quorum queue, single active consumer; the broker dead-letters what a
    crashing consumer never settles, the consumer itself dead-letters what it cannot handle."""
    await channel.declare_queue(f"{queue}.dlq", durable=True, arguments={"x-queue-type": "quorum"})
    declared = await channel.declare_queue(
        queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-single-active-consumer": True,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": f"{queue}.dlq",
            "x-delivery-limit": DELIVERY_LIMIT,
        },
    )
    for key in binding_keys:
        await declared.bind(exchange, routing_key=key)
    return declared
