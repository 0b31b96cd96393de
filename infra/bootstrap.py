"""The one place that wires Sonrisa together: settings in, running parts out.

Tests and the CLI build a `Platform` from `Settings`; nothing else constructs
pools, clients, Applications or projectors.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bus.consumer import ConsumerRunner
from bus.envelope import CONTEXTS, EventStoreReader
from bus.relay import POSITION_DDL, Relay
from commands.patients import Patients
from infra import mongo
from infra.db import create_pool, ensure_database
from infra.settings import Settings
from projections.base import Projector
from projections.mongo import MongoStore
from projections.patients import PatientChart, PatientDirectory
from projections.postgres import PostgresStore


@dataclass
class Platform:
    settings: Settings
    pool: asyncpg.Pool
    mongo_client: AsyncMongoClient[dict[str, Any]]
    mongo_db: AsyncDatabase[dict[str, Any]]
    reader: EventStoreReader
    patients: Patients
    directory: PostgresStore
    chart: MongoStore
    projectors: dict[str, Projector] = field(default_factory=dict)

    @classmethod
    async def open(cls, settings: Settings) -> Platform:
        dsn = settings.asyncpg_dsn()
        await ensure_database(dsn)
        patients = await asyncio.to_thread(Patients, settings.postgres_env())
        pool = await create_pool(dsn)
        client = mongo.connect(settings.effective_mongo_url())
        database = client[settings.mongo_database]
        reader = EventStoreReader(pool)
        directory = PostgresStore(pool, PatientDirectory())
        chart = MongoStore(database, PatientChart())
        platform = cls(settings, pool, client, database, reader, patients, directory, chart)
        platform.projectors = {
            store.projection.name: Projector(store.projection, store, reader)
            for store in (directory, chart)
        }
        return platform

    async def migrate(self, *, mongo: bool = True) -> None:
        """Create what the event store and read models need; safe to run again."""
        await self.pool.execute(POSITION_DDL)
        await self.directory.migrate()
        if mongo:
            await self.chart.migrate()

    async def close(self) -> None:
        await self.pool.close()
        await self.mongo_client.close()
        await asyncio.to_thread(self.patients.close)

    def mongo_projections(self) -> list[str]:
        return [n for n, p in self.projectors.items() if isinstance(p.store, MongoStore)]

    def queues(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            (self.settings.queue_name(name), projector.binding_keys)
            for name, projector in self.projectors.items()
        ]

    def relay(self) -> Relay:
        return Relay(
            dsn=self.settings.asyncpg_dsn(),
            pool=self.pool,
            reader=self.reader,
            rabbitmq_url=self.settings.rabbitmq_url,
            exchange=self.settings.exchange,
            contexts=CONTEXTS,
            queues=self.queues(),
            batch_size=self.settings.relay_batch_size,
            poll_seconds=self.settings.relay_poll_seconds,
        )

    def consumer(self, name: str) -> ConsumerRunner:
        if name not in self.projectors:
            known = ", ".join(sorted(self.projectors))
            raise KeyError(f"unknown projection {name!r}; known: {known}")
        return ConsumerRunner(
            self.projectors[name],
            rabbitmq_url=self.settings.rabbitmq_url,
            exchange=self.settings.exchange,
            queue=self.settings.queue_name(name),
            batch_size=self.settings.consumer_batch_size,
            batch_wait_seconds=self.settings.consumer_batch_wait_seconds,
            attempts=self.settings.consumer_attempts,
        )
