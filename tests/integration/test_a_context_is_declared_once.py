"""A bounded context is declared once: a throwaway context, declared here and added to the
registry's tuple, appears in the app's routes and permissions, `clinic migrate`, `clinic
projections status` and `rebuild`, the relay's queues and the parts `clinic up` supervises,
without a line of the wiring changed."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Annotated, Any
from uuid import UUID, uuid4

import aio_pika
import httpx
import pytest
from eventsourcing.domain import Aggregate, event
from fastapi import APIRouter, Depends
from pydantic import BaseModel
from typer.testing import CliRunner

from api.deps import Running
from api.permissions import Actor, allowed
from clinic import registry
from clinic.cli import make_cli
from clinic.declaration import Context, Reaction, Worker
from clinic.parts import described_app, http_app, pipeline_parts
from clinic.platform import Platform
from clinic.processes import plan
from commands.base import ClinicApplication, Written
from domain.shared import Meta, Role
from infra.db import drop_database
from infra.eventstore import Envelope
from infra.settings import Settings, get_settings
from projections.base import Document
from projections.postgres import PostgresProjection
from security.sessions import Claims
from tests.conftest import POSTGRES_SERVER, RUN, eventually, running

META = Meta("staff-1", "admin", "corr-1", "req-1")


class Note(Aggregate):
    @event("NoteWritten")
    def __init__(self, text: str) -> None:
        self.text = text


class Notebooks(ClinicApplication):
    """The throwaway context's command side; its events live in `notebooks_events`."""

    def write(self, text: str) -> Written:
        return self.create(lambda: Note(text))


class NoteIndex(PostgresProjection):
    name = "throwaway_notes"
    contexts = ("notebooks",)
    aggregate_types = frozenset({"Note"})
    table = "throwaway_notes"
    columns_ddl = "text text NOT NULL"
    column_names = ("text",)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        return {"text": envelope.payload["text"]}

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (document["text"],)


class NoteQueries:
    def __init__(self, platform: Platform) -> None:
        self.pool = platform.pool

    async def texts(self) -> list[str]:
        return [r["text"] for r in await self.pool.fetch("SELECT text FROM throwaway_notes")]


class NotesOut(BaseModel):
    texts: list[str]


router = APIRouter(prefix="/api")
READ_NOTES = "notes:read"


@router.get("/notes", response_model=NotesOut)
async def notes(who: Annotated[Actor, Depends(allowed(READ_NOTES))], running: Running) -> NotesOut:
    return NotesOut(texts=await running.get(NoteQueries).texts())


class NoteListener:
    """A worker's reaction: hears every note written."""

    name = "throwaway_listener"
    binding_keys = ("notebooks.#",)
    heard: list[UUID] = []  # what the test reads back

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        self.heard.extend(e.aggregate_id for e in envelopes)


THROWAWAY = Context(
    name="notebooks",
    application=Notebooks,
    read_models=(NoteIndex(),),
    provides=(NoteQueries,),
    routers=(router,),
    grants={READ_NOTES: (Role.ADMIN,)},
    workers=(
        Worker(
            "notekeeper",
            "Keeps an ear on notes.",
            reactions=(Reaction(NoteListener.name, NoteListener.binding_keys, NoteListener),),
        ),
    ),
)
WITH_THROWAWAY = (*registry.CONTEXTS, THROWAWAY)


@pytest.fixture(scope="module")
def throwaway_settings(settings: Settings) -> Settings:
    """A database, exchange and queues of their own: the session's stores stay as they were."""
    return settings.model_copy(
        update={
            "database_url": f"{POSTGRES_SERVER}/sonrisa_test_{RUN}_throwaway",
            "exchange": f"clinic.events.test.{RUN}.throwaway",
            "queue_prefix": f"test.{RUN}.throwaway.",
        }
    )


@pytest.fixture
async def platform(throwaway_settings: Settings) -> AsyncIterator[Platform]:
    opened = await Platform.open(throwaway_settings, WITH_THROWAWAY)
    try:
        await opened.migrate()
        yield opened
    finally:
        async with await aio_pika.connect(throwaway_settings.rabbitmq_url) as connection:
            channel = await connection.channel()
            for queue, _ in opened.queues():
                await channel.queue_delete(queue)
                await channel.queue_delete(f"{queue}.dlq")
            await channel.exchange_delete(throwaway_settings.exchange)
        await opened.close()
        await drop_database(throwaway_settings.asyncpg_dsn())


@pytest.fixture
def clinic_environment(throwaway_settings: Settings) -> Iterator[dict[str, str]]:
    """The `CLINIC_*` variables of the throwaway settings, for the command line in-process."""
    environment = throwaway_settings.environment()
    get_settings.cache_clear()
    yield environment
    get_settings.cache_clear()


async def _clinic(environment: dict[str, str], *args: str) -> str:
    """`clinic ARGS` over the registry plus the throwaway context, in a thread of its own."""
    cli = make_cli(WITH_THROWAWAY)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, list(args), env={**os.environ, **environment}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_the_throwaway_route_is_in_the_document_and_the_permission_table(
    settings: Settings,
) -> None:
    paths = described_app(settings, WITH_THROWAWAY).openapi()["paths"]
    assert "/api/notes" in paths
    assert "/api/notes" not in described_app(settings).openapi()["paths"]


async def test_the_throwaway_context_is_served_guarded_and_projected(platform: Platform) -> None:
    note = await asyncio.to_thread(platform.application(Notebooks).write, "sin gluten")
    parts = await pipeline_parts(platform)
    assert {"projector:throwaway_notes", "notekeeper:throwaway_listener"} <= set(parts)
    processes = {c.name: c.args for c in plan(platform.settings, platform.contexts)}
    assert processes["notekeeper"] == ("worker", "notekeeper")
    assert any("throwaway_notes" in args for args in processes.values())
    assert (platform.settings.queue_name("throwaway_notes"), ("notebooks.#",)) in platform.queues()

    async with running(*parts.values()):
        await eventually(lambda: _has(platform, "sin gluten"), what="the note in its read model")
        await eventually(
            lambda: _true(note.id in NoteListener.heard), what="the worker to hear the note"
        )

    transport = httpx.ASGITransport(app=http_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        for role, expected in ((Role.ADMIN, 200), (Role.RECEPTIONIST, 403)):
            claims = Claims(uuid4(), uuid4(), (role.value,), "Test Staff")
            pair = await platform.tokens.start_session(claims)
            headers = {"Authorization": f"Bearer {pair.access_token}"}
            answer = await http.get("/api/notes", headers=headers)
            assert answer.status_code == expected, answer.text
    assert answer.status_code == 403
    assert "notes:read" in answer.json()["detail"]


async def test_migrate_status_and_rebuild_know_the_throwaway_read_model(
    platform: Platform, clinic_environment: dict[str, str]
) -> None:
    await platform.pool.execute("DROP TABLE throwaway_notes")
    await _clinic(clinic_environment, "migrate")
    assert await platform.pool.fetchval("SELECT to_regclass('throwaway_notes') IS NOT NULL")

    await asyncio.to_thread(platform.application(Notebooks).write, "alergia al látex")
    status = await _clinic(clinic_environment, "projections", "status")
    assert "throwaway_notes" in status
    rebuilt = await _clinic(clinic_environment, "projections", "rebuild", "throwaway_notes")
    assert "throwaway_notes rebuilt from 1 events" in rebuilt
    assert await platform.get(NoteQueries).texts() == ["alergia al látex"]


async def _has(platform: Platform, text: str) -> bool:
    return text in await platform.get(NoteQueries).texts()


async def _true(value: bool) -> bool:
    return value
