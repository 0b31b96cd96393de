"""One way to open a RabbitMQ connection: robust (it reconnects by itself), and never
silent about it: each loss and each reconnect is logged and counted."""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from aio_pika.abc import AbstractRobustConnection

from infra.logs import get_logger
from infra.metrics import BROKER_CONNECTION_EVENTS

log = get_logger("bus.connection")


async def connect(url: str, name: str) -> AbstractRobustConnection:
    """A robust connection named `name` in the broker's connection list."""
    connection = await aio_pika.connect_robust(
        url, client_properties={"connection_name": f"sonrisa:{name}"}
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
