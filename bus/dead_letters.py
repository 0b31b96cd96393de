"""A consumer's dead-letter queue (`<queue>.dlq`): what is in it, and putting it back.

A message goes there when it failed on its own (it does not parse, its event cannot be
applied), never for a fault of the store. Once the cause is fixed (a projection's bug, a
gap healed), `replay` hands the messages back to the same consumer's queue, and only to it:
the other consumers of the exchange applied them already.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from bus.connection import connect

# Headers the consumer added when it dead-lettered the message; gone when it is replayed.
_DEAD_LETTER_HEADERS = ("x-error", "x-error-type", "x-failed-at", "x-original-routing-key")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    routing_key: str  # the event's type, as the relay routed it
    error_type: str
    error: str
    failed_at: str


def copy_of(message: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    """The message again, persistent, with these headers: to move it between queues."""
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


def _letter(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    return DeadLetter(
        message_id=message.message_id or "",
        routing_key=str(headers.get("x-original-routing-key", "")),
        error_type=str(headers.get("x-error-type", "")),
        error=str(headers.get("x-error", "")),
        failed_at=str(headers.get("x-failed-at", "")),
    )


async def dead_letters(rabbitmq_url: str, queue: str) -> list[DeadLetter]:
    """The messages in `queue`'s dead-letter queue, oldest first, left where they are."""
    connection = await connect(rabbitmq_url, f"dlq:{queue}")
    async with connection:
        channel = await connection.channel()
        dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)
        found = []
        # Taken without acknowledging: they return to the queue, in order, when the channel
        # closes. A message is never taken twice on one channel, so this ends.
        while (message := await dlq.get(fail=False, no_ack=False)) is not None:
            found.append(_letter(message))
        await channel.close()
    return found


async def replay(rabbitmq_url: str, queue: str) -> list[DeadLetter]:
    """Put every dead-lettered message back on `queue`, one at a time: each is published
    (confirmed by the broker) before it leaves the dead-letter queue, so a crash halfway
    replays a message twice at worst, which the projections take as a duplicate."""
    connection = await connect(rabbitmq_url, f"dlq:{queue}")
    replayed = []
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        dlq = await channel.declare_queue(f"{queue}.dlq", passive=True)
        while (message := await dlq.get(fail=False, no_ack=False)) is not None:
            headers = {
                k: v for k, v in (message.headers or {}).items() if k not in _DEAD_LETTER_HEADERS
            }
            await channel.default_exchange.publish(copy_of(message, headers), routing_key=queue)
            await message.ack()
            replayed.append(_letter(message))
    return replayed
