"""Whether this process can serve: PostgreSQL, RabbitMQ and Mongo answer, and no read model is
being rebuilt. `/readyz` answers from what the last probe saw, at once, however slow a
dependency is to fail.

Probes go through connections the process holds: the read-model pool, the Mongo client, and
one AMQP connection kept for the purpose. A probe never opens a connection it then abandons:
while the broker is away, one reconnection at a time is tried, each to its own end, so the
process holds a fixed number of connections whatever the broker's health.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import asyncpg
import pymongo.errors
from aio_pika.abc import AbstractRobustConnection
from pymongo.asynchronous.database import AsyncDatabase

from infra.faults import describe, is_store_fault
from infra.metrics import consumers_in_store_outage
from infra.readiness import ReadModelStates, RebuildMarks
from infra.settings import Settings

PROBE_SECONDS = 1.0  # how often the dependencies are probed
ANSWER_SECONDS = 5.0  # how long a probe may take before it says "timed out": a loaded
# machine answers slowly, and a slow answer is not a dead dependency
CONNECT_SECONDS = 10.0
NOT_YET = "not yet probed"
PROBE_COLLECTION = "readiness_probes"  # one document per process, its last probe's time


class BrokerLink:
    """The one AMQP connection a process keeps for its readiness probe."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connection: AbstractRobustConnection | None = None
        self._connecting: asyncio.Task[AbstractRobustConnection] | None = None

    async def check(self) -> None:
        connection = self._connection
        if connection is None or connection.is_closed:
            if self._connecting is None:
                self._connecting = asyncio.create_task(self._connect())
            attempt = self._connecting
            try:
                # A probe that gives up waiting leaves the attempt running: the next probe
                # waits for the same one, so no connection is ever opened and abandoned.
                connection = await asyncio.shield(attempt)
            finally:
                if attempt.done():
                    self._connecting = None
            self._connection = connection
        channel = await connection.channel()
        await channel.close()

    async def _connect(self) -> AbstractRobustConnection:
        return await aio_pika.connect_robust(self.url, timeout=CONNECT_SECONDS)

    async def close(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(BaseException):
                await self._connecting
        if self._connection is not None:
            await self._connection.close()


class Readiness:
    def __init__(
        self,
        settings: Settings,
        pool: asyncpg.Pool,
        mongo: AsyncDatabase[dict[str, Any]],
        states: ReadModelStates,
        marks: RebuildMarks,
    ) -> None:
        self.states = states
        self.marks = marks
        self.broker = BrokerLink(settings.rabbitmq_url)
        # Mongo is asked to write, not to ping: a ping is answered by a server whose data
        # file is corrupt or whose disk is full, and the read models would look healthy.
        probes = mongo[PROBE_COLLECTION]
        here = f"{socket.gethostname()}:{os.getpid()}"
        self._probes: dict[str, Callable[[], Awaitable[object]]] = {
            "postgresql": lambda: pool.fetchval("SELECT 1"),
            "rabbitmq": self.broker.check,
            "mongo": lambda: probes.update_one(
                {"_id": here}, {"$set": {"at": datetime.now(UTC)}}, upsert=True
            ),
        }
        # Read models another process is rebuilding, followed on the probe's round.
        self._following: asyncio.Task[None] | None = None
        self._seen: dict[str, str] = dict.fromkeys(self._probes, NOT_YET)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._waiting: list[str] = []  # consumers waiting out a store fault, last round

    async def watch(self, stop: asyncio.Event) -> None:
        """A part: probe each dependency every second, one probe in flight per dependency."""
        try:
            while not stop.is_set():
                for name, probe in self._probes.items():
                    task = self._running.get(name)
                    if task is None or task.done():
                        self._running[name] = asyncio.create_task(self._probe(name, probe))
                if self._following is None or self._following.done():
                    self._following = asyncio.create_task(self.follow_rebuilds())
                self._waiting = await asyncio.to_thread(consumers_in_store_outage)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=PROBE_SECONDS)
        finally:
            for task in self._running.values():
                task.cancel()
            await self.broker.close()

    async def follow_rebuilds(self) -> None:
        """Take the rebuild marks kept in PostgreSQL (a projector process may be rebuilding);
        while PostgreSQL is away the last marks hold."""
        with contextlib.suppress(Exception):
            marked = await asyncio.wait_for(self.marks.marked(), timeout=ANSWER_SECONDS)
            self.states.follow(marked)

    async def _probe(self, name: str, probe: Callable[[], Awaitable[object]]) -> None:
        try:
            await asyncio.wait_for(probe(), timeout=ANSWER_SECONDS)
        except TimeoutError:
            self._seen[name] = "timed out"
        except Exception as error:
            answered = isinstance(error, pymongo.errors.OperationFailure | asyncpg.PostgresError)
            if answered and is_store_fault(error):
                self._seen[name] = f"store fault: {describe(error)}"
            else:
                self._seen[name] = f"unreachable: {type(error).__name__}"
        else:
            self._seen[name] = "ok"

    async def probe_once(self) -> dict[str, str]:
        """Probe every dependency now (for a process that does not watch)."""
        await asyncio.gather(*(self._probe(n, p) for n, p in self._probes.items()))
        return dict(self._seen)

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state ("ok", or why not) and each read model still rebuilding.
        Right after start, it waits (bounded) for the first probes rather than say "not yet"."""
        if not self._running:
            checks = await self.probe_once()
            self._waiting = await asyncio.to_thread(consumers_in_store_outage)
            return checks | self._faults()
        first = [self._running[n] for n, seen in self._seen.items() if seen == NOT_YET]
        if first:
            await asyncio.wait(first, timeout=ANSWER_SECONDS)
        return dict(self._seen) | self._faults()

    def _faults(self) -> dict[str, str]:
        """Consumers, in any process of the platform, waiting out a fault of their store (as
        the shared metrics said on the last round), and read models being rebuilt."""
        checks = {f"consumer {c}": "store fault: holding its messages" for c in self._waiting}
        for name in self.states.not_ready():
            checks[f"read model {name}"] = "rebuilding"
        return checks
