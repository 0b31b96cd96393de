"""The one place that wires Sonrisa together: settings in, running parts out.

Tests and the CLI build a `Platform` from `Settings`; nothing else constructs
pools, clients, Applications or projectors. What exists comes from the registry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import aio_pika
import asyncpg
import pymongo.errors
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from api.services import Services
from bus.consumer import ConsumerRunner
from bus.relay import POSITION_DDL, Relay
from bus.reminders.choreography import AppointmentReactions
from bus.reminders.dispatcher import Dispatcher, Links
from clinic import registry
from commands.base import ClinicApplication
from commands.identity import Identity
from commands.patients import Patients
from commands.reminders import Reminders
from commands.scheduling import Scheduling
from commands.treatments import Treatments
from domain.reminders import Backoff, Channel
from infra import mongo
from infra.db import UNAVAILABLE, create_pool, ensure_database
from infra.eventstore import Envelope, EventStoreReader
from infra.links import LinkSigner
from infra.outbound import HttpSmsConfig, HttpSmsSender, Sender, SmtpConfig, SmtpSender
from infra.readiness import ReadModelStates
from infra.sealing import Sealer
from infra.settings import Settings
from projections.base import DocumentStore, Projection, Projector
from projections.identity import StaffQueries
from projections.mongo import MongoProjection, MongoStore
from projections.patients import PatientQueries
from projections.postgres import PostgresProjection, PostgresStore
from projections.reminders import ReminderQueries
from projections.scheduling import SchedulingQueries
from projections.treatments import TreatmentQueries
from security.access_log import AccessLog
from security.idempotency import IdempotencyKeys
from security.reminder_links import LinkUses
from security.sessions import Tokens
from security.throttle import Limits, LoginThrottle

# Failures of the stores themselves, not of a message: wait them out, never dead-letter.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *UNAVAILABLE,
    TimeoutError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    pymongo.errors.ConnectionFailure,
)
App = TypeVar("App", bound=ClinicApplication)


@dataclass(frozen=True)
class AfterRebuild:
    """A projector that holds its messages while its read model is rebuilt in the background:
    the rebuild swaps the whole read model in, and a live write meanwhile would race it."""

    projector: Projector
    states: ReadModelStates

    @property
    def name(self) -> str:
        return self.projector.name

    @property
    def binding_keys(self) -> tuple[str, ...]:
        return self.projector.binding_keys

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        await self.states.wait_ready(self.projector.name)
        await self.projector.handle_batch(envelopes)


def store_for(
    projection: Projection, pool: asyncpg.Pool, database: AsyncDatabase[dict[str, Any]]
) -> DocumentStore:
    if isinstance(projection, PostgresProjection):
        return PostgresStore(pool, projection)
    if isinstance(projection, MongoProjection):
        return MongoStore(database, projection)
    raise TypeError(f"{projection.name} is neither a PostgreSQL nor a Mongo projection")


@dataclass
class Platform:
    settings: Settings
    pool: asyncpg.Pool
    mongo_client: AsyncMongoClient[dict[str, Any]]
    mongo_db: AsyncDatabase[dict[str, Any]]
    reader: EventStoreReader
    applications: dict[type[ClinicApplication], ClinicApplication]
    tokens: Tokens
    throttle: LoginThrottle
    access_log: AccessLog
    idempotency: IdempotencyKeys
    links: LinkSigner  # signs patients' confirm and cancel links
    projectors: dict[str, Projector] = field(default_factory=dict)
    states: ReadModelStates = field(default_factory=ReadModelStates)
    _seen: dict[str, str] | None = None  # the dependencies as `watch_dependencies` last saw

    @classmethod
    async def open(cls, settings: Settings) -> Platform:
        keys = settings.keyrings()  # no keys, no platform: there is no default key
        dsn = settings.asyncpg_dsn()
        await ensure_database(dsn)
        applications: dict[type[ClinicApplication], ClinicApplication] = {}
        for kind in registry.APPLICATIONS:
            applications[kind] = await asyncio.to_thread(kind, settings.postgres_env())
        identity = applications[Identity]
        assert isinstance(identity, Identity)
        identity.seal_secrets_with(Sealer(keys["data"]))
        pool = await create_pool(dsn, max_size=settings.read_model_pool_size)
        client = mongo.connect(settings.effective_mongo_url())
        database = client[settings.mongo_database]
        reader = EventStoreReader(pool, registry.CONTEXTS)
        platform = cls(
            settings=settings,
            pool=pool,
            mongo_client=client,
            mongo_db=database,
            reader=reader,
            applications=applications,
            tokens=Tokens(
                pool,
                keys=keys["jwt"],
                algorithm=settings.jwt_algorithm,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                access_minutes=settings.access_token_minutes,
                refresh_days=settings.refresh_token_days,
            ),
            throttle=LoginThrottle(
                pool,
                Limits(
                    per_account_address=settings.login_failures_per_account_address,
                    per_address=settings.login_failures_per_address,
                    per_account=settings.login_failures_per_account,
                    slowdown_seconds=settings.login_slowdown_seconds,
                    slowdown_max_seconds=settings.login_slowdown_max_seconds,
                    window=timedelta(seconds=settings.login_failure_window_seconds),
                ),
            ),
            access_log=AccessLog(pool, keys["audit"]),
            idempotency=IdempotencyKeys(pool),
            links=LinkSigner(keys["links"]),
        )
        reminders = applications[Reminders]
        assert isinstance(reminders, Reminders)
        reminders.backoff = Backoff(
            first=timedelta(seconds=settings.reminders_retry_first_seconds),
            longest=timedelta(seconds=settings.reminders_retry_longest_seconds),
            attempts=settings.reminders_attempts,
        )
        platform.projectors = {
            p.name: Projector(p, store_for(p, pool, database), reader) for p in registry.READ_MODELS
        }
        return platform

    def application(self, kind: type[App]) -> App:
        found = self.applications[kind]
        assert isinstance(found, kind)
        return found

    @property
    def patients(self) -> Patients:
        return self.application(Patients)

    @property
    def identity(self) -> Identity:
        return self.application(Identity)

    @property
    def scheduling(self) -> Scheduling:
        return self.application(Scheduling)

    @property
    def treatments(self) -> Treatments:
        return self.application(Treatments)

    @property
    def reminders(self) -> Reminders:
        return self.application(Reminders)

    @property
    def reminder_queries(self) -> ReminderQueries:
        return ReminderQueries(self.pool)

    def reminder_senders(self) -> dict[Channel, Sender]:
        """Email always; SMS and WhatsApp when an HTTP provider is configured."""
        s = self.settings
        senders: dict[Channel, Sender] = {
            Channel.EMAIL: SmtpSender(
                SmtpConfig(
                    s.smtp_host,
                    s.smtp_port,
                    s.smtp_tls,
                    s.smtp_username,
                    s.smtp_password.get_secret_value() if s.smtp_password else None,
                    s.smtp_sender,
                    s.smtp_timeout_seconds,
                )
            )
        }
        if s.sms_url:
            token = s.sms_token.get_secret_value() if s.sms_token else ""
            for channel in (Channel.SMS, Channel.WHATSAPP):
                senders[channel] = HttpSmsSender(
                    HttpSmsConfig(
                        s.sms_url,
                        s.sms_provider,
                        s.sms_account,
                        token,
                        s.sms_sender,
                        whatsapp=channel is Channel.WHATSAPP,
                    )
                )
        return senders

    def reminder_dispatcher(self, worker: str | None = None) -> Dispatcher:
        s = self.settings
        return Dispatcher(
            self.reminders,
            self.reminder_queries,
            self.reminder_senders(),
            Links(self.links, s.public_url, timedelta(days=s.reminder_link_days)),
            batch_size=s.reminders_batch_size,
            lease_seconds=s.reminders_lease_seconds,
            poll_seconds=s.reminders_poll_seconds,
            worker=worker,
        )

    def reminder_consumer(self) -> ConsumerRunner:
        reactions = AppointmentReactions(self.reminders, self.reader)
        return ConsumerRunner(
            reactions,
            rabbitmq_url=self.settings.rabbitmq_url,
            exchange=self.settings.exchange,
            queue=self.settings.queue_name(reactions.name),
            batch_size=self.settings.consumer_batch_size,
            batch_wait_seconds=self.settings.consumer_batch_wait_seconds,
            attempts=self.settings.consumer_attempts,
            transient=TRANSIENT_ERRORS,
        )

    def services(self) -> Services:
        """What the HTTP layer works with."""
        return Services(
            settings=self.settings,
            patients=self.patients,
            identity=self.identity,
            scheduling=self.scheduling,
            patient_records=PatientQueries(self.pool, self.mongo_db, self.reader, self.states),
            staff_directory=StaffQueries(self.pool),
            appointment_book=SchedulingQueries(self.pool),
            tokens=self.tokens,
            throttle=self.throttle,
            access_log=self.access_log,
            idempotency=self.idempotency,
            readiness=self.readiness,
            treatments=self.treatments,
            treatment_records=TreatmentQueries(self.pool, self.mongo_db, self.reader, self.states),
            reminders=self.reminders,
            reminder_list=self.reminder_queries,
            links=self.links,
            link_uses=LinkUses(self.pool),
        )

    async def migrate(self, *, mongo: bool = True) -> None:
        """Create what the event store and read models need; safe to run again."""
        await self.pool.execute(POSITION_DDL)
        for part in (
            self.tokens,
            self.throttle,
            self.access_log,
            self.idempotency,
            LinkUses(self.pool),
        ):
            await part.migrate()
        for projector in self.projectors.values():
            if mongo or not isinstance(projector.store, MongoStore):
                await projector.store.migrate()

    async def close(self) -> None:
        await self.access_log.close()
        await self.pool.close()
        await self.mongo_client.close()
        for application in self.applications.values():
            await asyncio.to_thread(application.close)

    def mongo_projections(self) -> list[str]:
        return [n for n, p in self.projectors.items() if isinstance(p.store, MongoStore)]

    def queues(self) -> list[tuple[str, tuple[str, ...]]]:
        return [
            (self.settings.queue_name(name), projector.binding_keys)
            for name, projector in self.projectors.items()
        ]

    def worker_queues(self) -> list[tuple[str, tuple[str, ...]]]:
        """The queues of the workers that react to events (the reminder worker)."""
        reactions = AppointmentReactions
        return [(self.settings.queue_name(reactions.name), reactions.binding_keys)]

    def relay(self) -> Relay:
        return Relay(
            dsn=self.settings.asyncpg_dsn(),
            pool=self.pool,
            reader=self.reader,
            rabbitmq_url=self.settings.rabbitmq_url,
            exchange=self.settings.exchange,
            queues=[*self.queues(), *self.worker_queues()],
            batch_size=self.settings.relay_batch_size,
            poll_seconds=self.settings.relay_poll_seconds,
        )

    def consumer(self, name: str) -> ConsumerRunner:
        if name not in self.projectors:
            known = ", ".join(sorted(self.projectors))
            raise KeyError(f"unknown projection {name!r}; known: {known}")
        return ConsumerRunner(
            AfterRebuild(self.projectors[name], self.states),
            rabbitmq_url=self.settings.rabbitmq_url,
            exchange=self.settings.exchange,
            queue=self.settings.queue_name(name),
            batch_size=self.settings.consumer_batch_size,
            batch_wait_seconds=self.settings.consumer_batch_wait_seconds,
            attempts=self.settings.consumer_attempts,
            transient=TRANSIENT_ERRORS,
        )

    async def watch_dependencies(self, stop: asyncio.Event) -> None:
        """A part: probe the dependencies every second, so `/readyz` answers from what was
        last seen at once, however slow a dependency is to fail."""
        while not stop.is_set():
            self._seen = await self._probe()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state ("ok", or why not) and each read model still rebuilding."""
        checks = dict(self._seen) if self._seen is not None else await self._probe()
        for name in self.states.not_ready():
            checks[f"read model {name}"] = "rebuilding"
        return checks

    async def _probe(self) -> dict[str, str]:
        async def rabbitmq() -> None:
            connection = await aio_pika.connect(self.settings.rabbitmq_url, timeout=0.8)
            await connection.close()

        return dict(
            await asyncio.gather(
                _check("postgresql", self.pool.fetchval("SELECT 1", timeout=0.8)),
                _check("rabbitmq", rabbitmq()),
                _check("mongo", self.mongo_db.command("ping")),
            )
        )

    async def empty_read_models(self) -> list[str]:
        """Read models that hold nothing although the event store has events for them: a new
        or lost document store. They need a rebuild before they can answer."""
        heads = await self.reader.heads()
        return [
            name
            for name, projector in self.projectors.items()
            if any(heads[c] for c in projector.projection.contexts)
            and not await projector.store.status()
        ]

    async def rebuild(self, name: str) -> int:
        """Rebuild one read model while everything else serves; its readers get 503 with
        Retry-After until it is whole. Returns the number of events read."""
        self.states.rebuilding(name)
        try:
            return await self.projectors[name].rebuild()
        finally:
            self.states.ready(name)


async def _check(name: str, probe: Any) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, timeout=0.8)
    except TimeoutError:
        return name, "timed out"
    except Exception as error:
        return name, f"unreachable: {type(error).__name__}"
    return name, "ok"
