"""The one place that wires Sonrisa together: settings in, running parts out.

Tests and the CLI build a `Platform` from `Settings`; nothing else constructs
pools, clients, Applications or projectors.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pymongo.errors
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bus.consumer import ConsumerRunner
from bus.envelope import CONTEXTS, EventStoreReader
from bus.relay import POSITION_DDL, Relay
from commands.identity import Identity
from commands.patients import Patients
from commands.scheduling import Scheduling
from infra import mongo
from infra.access_log import AccessLog
from infra.db import create_pool, ensure_database
from infra.identity import LoginThrottle, Tokens
from infra.settings import Settings
from projections.base import Projector
from projections.identity import StaffDirectory
from projections.mongo import MongoStore
from projections.patients import PatientChart, PatientDirectory
from projections.postgres import PostgresStore
from projections.scheduling import AppointmentBook, ClinicSetupView, ProviderDirectory, Waitlist

# Failures of the stores themselves, not of a message: wait them out, never dead-letter.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    pymongo.errors.ConnectionFailure,
)


@dataclass
class Platform:
    settings: Settings
    pool: asyncpg.Pool
    mongo_client: AsyncMongoClient[dict[str, Any]]
    mongo_db: AsyncDatabase[dict[str, Any]]
    reader: EventStoreReader
    patients: Patients
    identity: Identity
    scheduling: Scheduling
    directory: PostgresStore
    chart: MongoStore
    staff: PostgresStore
    appointments: PostgresStore
    clinic_setup: PostgresStore
    providers: PostgresStore
    waitlist: PostgresStore
    tokens: Tokens
    throttle: LoginThrottle
    access_log: AccessLog
    projectors: dict[str, Projector] = field(default_factory=dict)

    @classmethod
    async def open(cls, settings: Settings) -> Platform:
        dsn = settings.asyncpg_dsn()
        await ensure_database(dsn)
        patients = await asyncio.to_thread(Patients, settings.postgres_env())
        identity = await asyncio.to_thread(Identity, settings.postgres_env())
        scheduling = await asyncio.to_thread(Scheduling, settings.postgres_env())
        pool = await create_pool(dsn, max_size=settings.read_model_pool_size)
        client = mongo.connect(settings.effective_mongo_url())
        database = client[settings.mongo_database]
        reader = EventStoreReader(pool)
        directory = PostgresStore(pool, PatientDirectory())
        chart = MongoStore(database, PatientChart())
        staff = PostgresStore(pool, StaffDirectory())
        appointments = PostgresStore(pool, AppointmentBook())
        clinic_setup = PostgresStore(pool, ClinicSetupView())
        providers = PostgresStore(pool, ProviderDirectory())
        waitlist = PostgresStore(pool, Waitlist())
        tokens = Tokens(
            pool,
            secret=settings.secret("jwt_secret"),
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_minutes=settings.access_token_minutes,
            refresh_days=settings.refresh_token_days,
        )
        throttle = LoginThrottle(
            pool,
            per_account=settings.login_failures_per_account,
            per_address=settings.login_failures_per_address,
            window_seconds=settings.login_failure_window_seconds,
        )
        access_log = AccessLog(pool, settings.secret("audit_key").encode())
        platform = cls(
            settings=settings,
            pool=pool,
            mongo_client=client,
            mongo_db=database,
            reader=reader,
            patients=patients,
            identity=identity,
            scheduling=scheduling,
            directory=directory,
            chart=chart,
            staff=staff,
            appointments=appointments,
            clinic_setup=clinic_setup,
            providers=providers,
            waitlist=waitlist,
            tokens=tokens,
            throttle=throttle,
            access_log=access_log,
        )
        stores: tuple[PostgresStore | MongoStore, ...] = (
            directory,
            chart,
            staff,
            appointments,
            clinic_setup,
            providers,
            waitlist,
        )
        platform.projectors = {
            store.projection.name: Projector(store.projection, store, reader) for store in stores
        }
        return platform

    async def migrate(self, *, mongo: bool = True) -> None:
        """Create what the event store and read models need; safe to run again."""
        await self.pool.execute(POSITION_DDL)
        await self.tokens.migrate()
        await self.access_log.migrate()
        await self.directory.migrate()
        for store in (
            self.staff,
            self.appointments,
            self.clinic_setup,
            self.providers,
            self.waitlist,
        ):
            await store.migrate()
        if mongo:
            await self.chart.migrate()

    async def close(self) -> None:
        await self.access_log.close()
        await self.pool.close()
        await self.mongo_client.close()
        await asyncio.to_thread(self.patients.close)
        await asyncio.to_thread(self.identity.close)
        await asyncio.to_thread(self.scheduling.close)

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
            transient=TRANSIENT_ERRORS,
        )
