"""What every benchmark runs against: a fresh `sonrisa_bench` database, bench-only exchange
and queue names, a Mongo wire server, the real `Platform` and the real API over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit
from uuid import uuid4

import aio_pika
import asyncpg
import httpx
from rich.console import Console

from bench.report import Row, table
from clinic.parts import http_app
from clinic.platform import Platform
from clinic.registry import CONTEXTS
from clinic.supervisor import api_part
from domain.shared import Role
from infra.keys import fresh_secrets
from infra.logs import configure_logging
from infra.mongo import EmbeddedMongo
from infra.settings import Settings
from security.sessions import Claims

DATABASE = "sonrisa_bench"
CLINIC = Path(sys.executable).with_name("clinic")
API_START_SECONDS = 20.0


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does; `--quick` picks the small set."""

    register: int  # patients registered per side in (a), over all rounds
    concurrency: int  # requests / saves in flight in (a)
    relay_events: int  # events in the store that (b) relays from position 0
    lag_seconds: float  # how long (c) holds its steady rate
    lag_rate: float  # commands per second in (c)
    rebuild_events: int  # events in the store that (d) rebuilds from (topped up after (b))
    rounds: int  # alternating rounds of each side in (a), (b), (d) and (e)
    booking_weeks: int  # weeks of calendar each side of (e) fills per round (240 requests/week)
    availability_requests: int  # GET /api/availability per side in (f)
    startup_events: tuple[int, ...]  # events in the store for each size (t) starts with
    chart_events: int  # events in the store when (u) rebuilds the Mongo chart
    burst: int  # registrations sent at once in (v)
    chart_rebuild_patients: int  # patients, one treatment each, whose chart (w) rebuilds
    import_rows: int = 10_000  # rows of the CSV export (x) imports


FULL = Sizes(
    register=2400,
    concurrency=16,
    relay_events=5000,
    lag_seconds=10,
    lag_rate=100,
    rebuild_events=20_000,
    rounds=3,
    booking_weeks=2,
    availability_requests=600,
    startup_events=(10_000, 200_000),
    chart_events=3000,
    burst=300,
    chart_rebuild_patients=10_000,
)
QUICK = Sizes(
    register=400,
    concurrency=16,
    relay_events=1000,
    lag_seconds=3,
    lag_rate=100,
    rebuild_events=2000,
    rounds=2,
    booking_weeks=1,
    availability_requests=100,
    startup_events=(10_000,),
    chart_events=1000,
    burst=100,
    chart_rebuild_patients=500,
    import_rows=1000,
)


def bench_settings(mongo_url: str, run: str, database: str = DATABASE) -> Settings:
    """The environment's settings, pointed at bench-only names; every other knob as configured."""
    configured = Settings()
    url = urlsplit(configured.database_url)
    return Settings(
        **fresh_secrets(),  # keys of the bench's own, as no key has a default
        database_url=url._replace(path=f"/{database}").geturl(),
        mongo_url=mongo_url,
        mongo_database=f"sonrisa_bench_{run}",
        exchange=f"clinic.events.bench.{run}",
        queue_prefix=f"bench.{run}.",
    )


async def recreate_database(dsn: str) -> None:
    url = urlsplit(dsn)
    conn = await asyncpg.connect(url._replace(path="/postgres").geturl())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await conn.close()


async def sign_in(platform: Platform) -> dict[str, str]:
    """A front-desk session: registering patients is what receptionists do."""
    claims = Claims(uuid4(), uuid4(), (Role.RECEPTIONIST.value,), "Bench Receptionist")
    pair = await platform.tokens.start_session(claims)
    return {"Authorization": f"Bearer {pair.access_token}"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Harness:
    settings: Settings
    platform: Platform
    base_url: str
    log_path: Path
    embedded: EmbeddedMongo | None
    log_file: IO[str]
    headers: dict[str, str] = field(default_factory=dict)
    children: list[asyncio.subprocess.Process] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Future[None]] = field(default_factory=list)

    @classmethod
    async def open(cls, database: str = DATABASE) -> Harness:
        run = uuid4().hex[:8]
        embedded: EmbeddedMongo | None = None
        mongo_url = os.environ.get("CLINIC_MONGO_URL")
        if not mongo_url:
            embedded = EmbeddedMongo(Settings().embedded_mongo_python, port=0)
            mongo_url = await asyncio.to_thread(embedded.start)
        settings = bench_settings(mongo_url, run, database)
        # Production logs every request at the configured level: keep that cost, not the noise.
        log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
            "w", prefix="sonrisa-bench-", suffix=".log", delete=False
        )
        configure_logging(settings.log_level, stream=log_file)
        try:
            await recreate_database(settings.asyncpg_dsn())
            platform = await Platform.open(settings, CONTEXTS)
            await platform.migrate()
        except BaseException:
            if embedded is not None:
                embedded.stop()
            raise
        port = free_port()
        harness = cls(
            settings=settings,
            platform=platform,
            base_url=f"http://127.0.0.1:{port}",
            log_path=Path(log_file.name),
            embedded=embedded,
            log_file=log_file,
        )
        try:
            harness.headers = await sign_in(platform)
            serve = api_part(http_app(platform), "127.0.0.1", port)
            harness.start(serve(harness.stop))
            await harness.wait_for_api()
        except BaseException:
            await harness.close()
            raise
        return harness

    def start(self, part: Awaitable[None]) -> None:
        self.tasks.append(asyncio.ensure_future(part))

    async def wait_for_api(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            try:
                async with asyncio.timeout(API_START_SECONDS):
                    while True:
                        with contextlib.suppress(httpx.TransportError):
                            if (await client.get("/healthz")).status_code == 200:
                                return
                        await asyncio.sleep(0.05)
            except TimeoutError:
                raise RuntimeError("the API did not start") from None

    def environment(self) -> dict[str, str]:
        """What a `clinic` subprocess needs to join this run: same database, broker, names."""
        return {**os.environ, **self.settings.environment()}

    async def spawn(self, *args: str) -> asyncio.subprocess.Process:
        """`clinic ARGS...` with this run's settings, logging to this run's log. The schemas
        exist already: parts started together would collide creating them ("tuple
        concurrently updated"), as `clinic up`'s children would (ADR 20)."""
        process = await asyncio.create_subprocess_exec(
            str(CLINIC),
            *args,
            env={**self.environment(), "CLINIC_MIGRATE_ON_START": "false"},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=self.log_file,
            stderr=self.log_file,
        )
        self.children.append(process)
        return process

    async def reap(self, process: asyncio.subprocess.Process, grace: float = 15.0) -> None:
        """SIGTERM, as a supervisor would; SIGKILL when it does not stop within `grace`."""
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), timeout=grace)
            except TimeoutError:
                process.kill()
                await process.wait()

    def ours(self) -> set[int]:
        """This process, the Mongo wire server and the `clinic` parts it started."""
        pids = {os.getpid(), *(p.pid for p in self.children)}
        if self.embedded is not None and self.embedded.process is not None:
            pids.add(self.embedded.process.pid)
        return pids

    def client(self, concurrency: int) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx.AsyncClient(
            base_url=self.base_url, headers=self.headers, limits=limits, timeout=30.0
        )

    async def truncate(self, *tables: str) -> None:
        names = ", ".join(f'"{t}"' for t in tables)
        await self.platform.pool.execute(f"TRUNCATE {names} RESTART IDENTITY")

    async def close(self) -> None:
        for process in self.children:
            await self.reap(process)
        self.stop.set()
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=30)
            for task in pending:
                task.cancel()
        try:
            await self._delete_broker_objects()
            if self.embedded is None:
                with contextlib.suppress(Exception):
                    await self.platform.mongo_client.drop_database(self.settings.mongo_database)
        finally:
            await self.platform.close()
            if self.embedded is not None:
                self.embedded.stop()
            self.log_file.close()

    async def _delete_broker_objects(self) -> None:
        connection = await aio_pika.connect(self.settings.rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            for queue, _ in self.platform.queues():
                await channel.queue_delete(queue)
                await channel.queue_delete(f"{queue}.dlq")
            await channel.exchange_delete(self.settings.exchange)

    def log_problems(self) -> int:
        """Warnings and errors the platform logged during the run."""
        self.log_file.flush()
        text = self.log_path.read_text(errors="replace")
        return sum(
            1
            for line in text.splitlines()
            if '"level": "warning"' in line or '"level": "error"' in line or "Traceback" in line
        )


Benchmark = Callable[["Harness", Sizes], Awaitable[list[Row]]]


def run_alone(benchmark: Benchmark, title: str, database: str = DATABASE) -> None:
    """`python -m bench.NAME [--quick]`: one benchmark module's rows alone, in a database of
    its own when named (so running it never drops a `make bench` in progress)."""

    async def alone(sizes: Sizes) -> None:
        harness = await Harness.open(database)
        try:
            rows = await benchmark(harness, sizes)
        finally:
            await harness.close()
        Console(width=160).print(table(rows, title, ""))

    asyncio.run(alone(QUICK if "--quick" in sys.argv else FULL))
