"""The one place that wires Sonrisa together: settings and the registry's declarations in,
running parts out.

Tests and the CLI build a `Platform` from `Settings`; nothing else constructs pools,
clients, Applications or projectors. What exists comes from the contexts the registry
declares, so this module names none of them. Readiness (`clinic.readiness`), rebuilds
(`clinic.rebuild`) and the bus's running parts (`clinic.pipeline`) are parts of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
from fastapi import APIRouter
from pydantic_settings import BaseSettings
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from api.permissions import PermissionTable
from api.services import Services
from bus.relay import POSITION_DDL
from clinic.declaration import Context
from clinic.pipeline import Pipeline
from clinic.readiness import Readiness
from commands.base import ClinicApplication
from infra import mongo
from infra.db import create_pool, ensure_database
from infra.eventstore import EventStoreReader, contexts_of
from infra.keys import Keyring
from infra.readiness import ReadModelStates, RebuildMarks
from infra.settings import Settings
from infra.tracing import Tracing
from projections.base import DocumentStore, Projection, Projector
from projections.mongo import MongoProjection, MongoStore
from projections.postgres import PostgresProjection, PostgresStore
from security.access_log import AccessLog, HeldEntries
from security.idempotency import IdempotencyKeys
from security.sessions import Tokens
from security.throttle import LoginThrottle

T = TypeVar("T")


def store_for(
    projection: Projection, pool: asyncpg.Pool, database: AsyncDatabase[dict[str, Any]]
) -> DocumentStore:
    if isinstance(projection, PostgresProjection):
        return PostgresStore(pool, projection)
    if isinstance(projection, MongoProjection):
        return MongoStore(database, projection)
    raise TypeError(f"{projection.name} is neither a PostgreSQL nor a Mongo projection")


@dataclass
class Platform(Pipeline):
    settings: Settings
    contexts: tuple[Context, ...]
    keys: dict[str, Keyring]
    pool: asyncpg.Pool
    mongo_client: AsyncMongoClient[dict[str, Any]]
    mongo_db: AsyncDatabase[dict[str, Any]]
    reader: EventStoreReader
    applications: dict[type[ClinicApplication], ClinicApplication]
    tokens: Tokens
    throttle: LoginThrottle
    access_log: AccessLog
    idempotency: IdempotencyKeys
    marks: RebuildMarks
    tracing: Tracing
    states: ReadModelStates = field(default_factory=ReadModelStates)
    projectors: dict[str, Projector] = field(default_factory=dict)
    provided: dict[type, object] = field(default_factory=dict)
    context_settings: dict[type, BaseSettings] = field(default_factory=dict)
    health: Readiness | None = None

    @classmethod
    async def open(cls, settings: Settings, contexts: Sequence[Context]) -> Platform:
        keys = settings.keyrings()  # no keys, no platform: there is no default key
        dsn = settings.asyncpg_dsn()
        await ensure_database(dsn)
        applications: dict[type[ClinicApplication], ClinicApplication] = {}
        for kind in applications_of(contexts):
            applications[kind] = await asyncio.to_thread(kind, settings.postgres_env())
        pool = await create_pool(dsn, max_size=read_model_pool_size(settings, contexts))
        client = mongo.connect(settings.effective_mongo_url())
        database = client[settings.mongo_database]
        platform = cls(
            settings=settings,
            contexts=tuple(contexts),
            keys=keys,
            pool=pool,
            mongo_client=client,
            mongo_db=database,
            reader=EventStoreReader(pool, contexts_of(applications_of(contexts))),
            applications=applications,
            tokens=Tokens.of(pool, keys["jwt"], settings),
            throttle=LoginThrottle.of(pool, settings),
            access_log=AccessLog(
                pool, keys["audit"], held=HeldEntries(settings.access_log_held_folder())
            ),
            idempotency=IdempotencyKeys(pool),
            marks=RebuildMarks(pool),
            tracing=Tracing(settings.otlp_endpoint, settings.process_name or "sonrisa"),
        )
        platform.health = Readiness(settings, pool, database, platform.states, platform.marks)
        for context in contexts:
            if context.settings is not None:
                platform.context_settings[context.settings] = context.settings()
            if context.application is not None and context.set_up is not None:
                context.set_up(applications[context.application], platform)
            for read_model in context.read_models:
                platform.projectors[read_model.name] = Projector(
                    read_model, store_for(read_model, pool, database), platform.reader
                )
            for make in context.provides:
                made = make(platform)
                platform.provided[type(made)] = made
        return platform

    def application(self, kind: type[T]) -> T:
        found: object = self.applications.get(kind)  # type: ignore[arg-type]
        assert isinstance(found, kind), f"no {kind.__name__} among the applications"
        return found

    def get(self, kind: type[T]) -> T:
        """A context's query object (or other service) by its type."""
        found = self.provided.get(kind)
        if not isinstance(found, kind):
            raise LookupError(f"no {kind.__name__} among the services")
        return found

    def settings_of(self, kind: type[T]) -> T:
        found = self.context_settings.get(kind)
        assert isinstance(found, kind), f"no {kind.__name__} among the contexts' settings"
        return found

    def services(self) -> Services:
        """What the HTTP layer works with."""
        assert self.health is not None
        return Services(
            settings=self.settings,
            tokens=self.tokens,
            throttle=self.throttle,
            access_log=self.access_log,
            idempotency=self.idempotency,
            readiness=self.health.readiness,
            permissions=self.permissions(),
            provided=(*self.applications.values(), *self.provided.values()),
        )

    def permissions(self) -> PermissionTable:
        return PermissionTable(*(c.grants for c in self.contexts))

    def routers(self) -> tuple[APIRouter, ...]:
        return routers_of(self.contexts)

    async def migrate(self, *, mongo: bool = True) -> None:
        """Create what the event store and read models need; safe to run again."""
        await self.pool.execute(POSITION_DDL)
        for part in (self.tokens, self.throttle, self.access_log, self.idempotency, self.marks):
            await part.migrate()
        for context in self.contexts:
            for table in context.tables:
                await table(self).migrate()
        for projector in self.projectors.values():
            if mongo or not isinstance(projector.store, MongoStore):
                await projector.store.migrate()

    async def close(self) -> None:
        await asyncio.to_thread(self.tracing.shutdown)
        await self.access_log.close()
        await self.pool.close()
        await self.mongo_client.close()
        for application in self.applications.values():
            await asyncio.to_thread(application.close)


def read_model_pool_size(settings: Settings, contexts: Sequence[Context]) -> int:
    """The setting, but never fewer than one connection per consumer this platform can host,
    plus one: a consumer healing a version gap holds a connection and asks for a second, so
    with every connection held by a consumer waiting for another, the projectors deadlock."""
    consumers = sum(len(c.read_models) + len(c.workers) for c in contexts)
    return max(settings.read_model_pool_size, consumers + 1)


def applications_of(contexts: Sequence[Context]) -> tuple[type[ClinicApplication], ...]:
    return tuple(c.application for c in contexts if c.application is not None)


def routers_of(contexts: Sequence[Context]) -> tuple[APIRouter, ...]:
    return tuple(router for c in contexts for router in c.routers)
