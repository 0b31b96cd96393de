"""One way to open a RabbitMQ connection: robust (it reconnects by itself), and never
silent about it: each loss and each reconnect is logged and counted."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from infra.logs import get_logger
from infra.metrics import BROKER_CONNECTION_EVENTS

log = get_logger("bus.connection")
RECONNECT_SECONDS = 1.0


def backoff(attempt: int, cap: float = RECONNECT_SECONDS) -> float:
    """Seconds to wait before try `attempt` (1, 2, ...): doubling from 0.1 s up to `cap`,
    each drawn at random from its upper half, so processes that lost the broker together do
    not all knock at once when it returns."""
    ceiling = min(cap, 0.1 * 2 ** max(attempt - 1, 0))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - spreading, not secrecy


async def connect(url: str, name: str) -> AbstractRobustConnection:
    """A robust connection named `name` in the broker's connection list."""
    connection = await aio_pika.connect_robust(
        url,
        client_properties={"connection_name": f"sonrisa:{name}"},
        # aio-pika waits 5 s between tries by default: a broker back from a restart would
        # go unnoticed that long. One second keeps the tries few and the return quick.
        reconnect_interval=RECONNECT_SECONDS,
    )

    def lost(_: Any, error: BaseException | None = None) -> None:
        if error is None or isinstance(error, asyncio.CancelledError):
            return  # closed by us, on purpose
        BROKER_CONNECTION_EVENTS.labels(name, "lost").inc()
        log.warning("RabbitMQ connection lost; reconnecting", part=name, error=type(error).__name__)

    def regained(_: Any) -> None:
        BROKER_CONNECTION_EVENTS.labels(name, "reconnected").inc()
        log.info("RabbitMQ connection regained", part=name)

    connection.close_callbacks.add(lost)
    connection.reconnect_callbacks.add(regained)
    return connection
