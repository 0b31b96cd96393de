"""Real PostgreSQL, RabbitMQ and a MongoDB wire server for every test that needs them.

Each test session gets its own databases, exchange and queue names, so neither a running
`make run` nor another test run on the same machine is disturbed; each test starts from
empty stores. The session's PostgreSQL database is dropped when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from uuid import uuid4

import aio_pika
import asyncpg
import httpx
import pytest
from eventsourcing.application import LRUCache

from api.problems import FHIR_MEDIA_TYPE, MEDIA_TYPE
from clinic.parts import http_app
from clinic.platform import Platform
from clinic.registry import CONTEXTS
from infra.db import drop_database
from infra.keys import fresh_secrets
from infra.mongo import EmbeddedMongo
from infra.settings import Settings
from security.sessions import Claims
from tests.integration.helpers import staff_account

RUN = uuid4().hex[:8]
# The server the session makes its database on: the machine's, or CI's own (.ci/run).
POSTGRES_SERVER = os.environ.get("CLINIC_TEST_POSTGRES", "postgresql://127.0.0.1:5432")
# The broker: the machine's, or CI's own node (.ci/run), which `rabbitmqctl` must then name.
RABBITMQ_URL = os.environ.get("CLINIC_TEST_RABBITMQ", "amqp://guest:guest@127.0.0.1:5672/")
RABBITMQ_NODE = os.environ.get("CLINIC_TEST_RABBITMQ_NODE")


def rabbitmqctl(*args: str) -> list[str]:
    """The command line of `rabbitmqctl ARGS` for the tests' broker."""
    node = ("-n", RABBITMQ_NODE) if RABBITMQ_NODE else ()
    return ["rabbitmqctl", *node, *args]


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    """A real MongoDB from CLINIC_TEST_MONGO_URL, or the mongoeco wire server; never skipped."""
    configured = os.environ.get("CLINIC_TEST_MONGO_URL")
    if configured:
        yield configured
        return
    server = EmbeddedMongo(Settings().embedded_mongo_python, port=0)
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def settings(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The session's settings, with random keys of its own: no test relies on a key anyone
    else knows, and none reads the developer's secrets file."""
    return Settings(
        **fresh_secrets(),
        secrets_file=tmp_path_factory.mktemp("secrets") / "absent",
        access_log_held_dir=tmp_path_factory.mktemp("access-log-held"),
        database_url=os.environ.get(
            "CLINIC_TEST_DATABASE_URL", f"{POSTGRES_SERVER}/sonrisa_test_{RUN}"
        ),
        mongo_url=mongo_url,
        mongo_database=f"sonrisa_test_{RUN}",
        rabbitmq_url=RABBITMQ_URL,
        exchange=f"clinic.events.test.{RUN}",
        queue_prefix=f"test.{RUN}.",
        relay_poll_seconds=0.2,
        consumer_batch_wait_seconds=0.01,
        read_your_writes_timeout_seconds=5.0,
    )


async def _delete_queues(platform: Platform, *, exchange_too: bool = False) -> None:
    """Consumers' queues (and, at the end of the session, the exchange) leave the broker."""
    connection = await aio_pika.connect(platform.settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        for queue, _ in platform.queues():
            await channel.queue_delete(queue)
            await channel.queue_delete(f"{queue}.dlq")
        if exchange_too:
            await channel.exchange_delete(platform.settings.exchange)


async def _empty_stores(platform: Platform) -> None:
    await _empty_tables(platform)
    for application in platform.applications.values():
        # An aggregate cache (the inventory's) trusts that events are never taken away; a
        # test that empties the store takes them away, so what was cached goes too.
        # (LRUCache.clear() resets its order, not its entries: a fresh cache is made.)
        cache = application.repository.cache
        if isinstance(cache, LRUCache):
            application.repository.cache = LRUCache(cache.maxsize)
    for collection in await platform.mongo_db.list_collection_names():
        await platform.mongo_db[collection].delete_many({})
    await _purge_queues(platform)


async def _empty_tables(platform: Platform) -> None:
    """Truncate the tables a test wrote to, and start every table's sequence again: the same
    empty store as truncating all of them, without the cost (new files for each of thirty
    tables) on every one of a thousand tests."""
    tables = [
        row["tablename"]
        for row in await platform.pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
    ]
    if not tables:
        return
    written = await platform.pool.fetch(
        " UNION ALL ".join(
            f'SELECT {n} AS i WHERE EXISTS (SELECT FROM "{name}")' for n, name in enumerate(tables)
        )
    )
    if written:
        names = ", ".join(f'"{tables[row["i"]]}"' for row in written)
        await platform.pool.execute(f"TRUNCATE {names} RESTART IDENTITY")
    # A table emptied by its own test (rows written, then deleted) keeps a used sequence.
    await platform.pool.execute(
        """
        SELECT setval(d.objid::regclass, s.seqstart, false)
        FROM pg_depend d
        JOIN pg_sequence s ON s.seqrelid = d.objid
        JOIN pg_class t ON t.oid = d.refobjid
        WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
          AND t.relnamespace = 'public'::regnamespace AND t.relkind IN ('r', 'p')
        """
    )


class _PurgeConnection:
    """The session's one broker connection for emptying its queues between tests (opening
    one per test cost more than the purges); opened again when a test's fault closed it."""

    connection: aio_pika.abc.AbstractConnection | None = None

    @classmethod
    async def get(cls, url: str) -> aio_pika.abc.AbstractConnection:
        if cls.connection is None or cls.connection.is_closed:
            cls.connection = await aio_pika.connect(url)
        return cls.connection

    @classmethod
    async def drop(cls) -> None:
        if cls.connection is not None:
            connection, cls.connection = cls.connection, None
            with contextlib.suppress(Exception):  # dropped because it failed
                await connection.close()


async def _purge_queues(platform: Platform) -> None:
    """Empty the session's queues between tests rather than delete them: a quorum queue
    deleted and declared again within milliseconds, many times a minute, made the broker close
    channels with INTERNAL_ERROR. They are deleted once, when the session ends."""
    for tried in range(2):
        connection = await _PurgeConnection.get(platform.settings.rabbitmq_url)
        try:
            await _purge_through(connection, platform)
            return
        except Exception:
            await _PurgeConnection.drop()  # closed under us (a broker fault test): anew
            if tried:
                raise


PURGE_LANES = 6  # channels purging side by side: each purge of a quorum queue is a round trip


async def _purge_through(connection: aio_pika.abc.AbstractConnection, platform: Platform) -> None:
    names = [name for queue, _ in platform.queues() for name in (queue, f"{queue}.dlq")]
    lanes = [names[n::PURGE_LANES] for n in range(PURGE_LANES)]
    await asyncio.gather(*(_purge_lane(connection, lane) for lane in lanes if lane))


async def _purge_lane(connection: aio_pika.abc.AbstractConnection, names: list[str]) -> None:
    channel = await connection.channel()
    try:
        for name in names:
            try:  # one round trip, no passive declare first
                await (await channel.get_underlay_channel()).queue_purge(name)
            except aio_pika.exceptions.ChannelClosed:  # not declared yet: nothing to purge
                channel = await connection.channel()
    finally:
        if not channel.is_closed:
            await channel.close()


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Platform]:
    """A platform on these settings, its schemas made; its queues and exchange leave the
    broker when it closes."""
    platform = await Platform.open(settings, CONTEXTS)
    try:
        await platform.migrate()
        yield platform
    finally:
        await _delete_queues(platform, exchange_too=True)
        await _PurgeConnection.drop()
        await platform.close()


@pytest.fixture(scope="session")
async def opened_platform(settings: Settings) -> AsyncIterator[Platform]:
    async with opened(settings) as platform:
        yield platform
    if "CLINIC_TEST_DATABASE_URL" not in os.environ:
        await drop_database(settings.asyncpg_dsn())


@pytest.fixture
async def platform(opened_platform: Platform) -> Platform:
    """The platform, with every store emptied: each test starts from nothing."""
    await _empty_stores(opened_platform)
    return opened_platform


@asynccontextmanager
async def running(*parts: Callable[[asyncio.Event], Awaitable[None]]) -> AsyncIterator[None]:
    """Run long-lived parts (relay, consumers, a server) as tasks; stop and await them on exit."""
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(part(stop)) for part in parts]
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)


@pytest.fixture
async def projectors(platform: Platform) -> AsyncIterator[None]:
    """Every projector consuming from its queue, in this test's event loop."""
    async with running(*(platform.consumer(name).run for name in platform.projectors)):
        yield


@pytest.fixture
async def pipeline(platform: Platform, projectors: None) -> AsyncIterator[None]:
    """The relay and every projector: a command's events flow to the read models."""
    async with running(platform.relay().run):
        yield


SignIn = Callable[..., Awaitable[dict[str, str]]]


@pytest.fixture
def sign_in(platform: Platform) -> SignIn:
    """Headers of a signed-in session for a new, active staff account with these roles
    (`staff_account`): what the session records is attributed to somebody the clinic knows."""

    async def headers(*roles: str, name: str = "Test Staff") -> dict[str, str]:
        staff_id = await asyncio.to_thread(staff_account, platform, *roles, name=name)
        claims = Claims(staff_id, uuid4(), tuple(sorted(roles)), name)
        pair = await platform.tokens.start_session(claims)
        return {"Authorization": f"Bearer {pair.access_token}"}

    return headers


@pytest.fixture
async def anonymous(platform: Platform, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the real app, signed in as nobody."""
    transport = httpx.ASGITransport(app=http_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        yield http


@pytest.fixture
async def client(anonymous: httpx.AsyncClient, sign_in: SignIn) -> httpx.AsyncClient:
    """An HTTP client signed in as a dentist (a real account, so records are attributed to
    them), who may do everything with patients."""
    anonymous.headers.update(await sign_in("dentist"))
    return anonymous


async def eventually(
    check: Callable[[], Awaitable[bool]], within: float = 20.0, what: str = "condition"
) -> None:
    """Wait until `check()` holds; fail with `what` when it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


async def event_count(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM patients_events"))


def problem_type(response: httpx.Response) -> str:
    """The problem an error answer names, in either of the API's error formats: problem+json's
    `type` under /api, the OperationOutcome's coded issue under /fhir (api/problems.py)."""
    if response.headers["content-type"] == FHIR_MEDIA_TYPE:
        [issue] = response.json()["issue"]
        [coding] = issue["details"]["coding"]
        return f"{coding['system']}/{coding['code']}"
    assert response.headers["content-type"] == MEDIA_TYPE, response.headers["content-type"]
    return str(response.json()["type"])
