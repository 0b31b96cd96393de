"""A store outage is not the message's fault: projectors wait it out and dead-letter nothing."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from pymongo import AsyncMongoClient

from bus.consumer import ConsumerRunner
from clinic.platform import Platform
from commands.patients import Patients
from infra.faults import is_store_fault
from infra.mongo import EmbeddedMongo
from projections.base import Projector
from projections.mongo import MongoStore
from projections.patients import PatientChart
from tests.conftest import eventually, running
from tests.integration.helpers import (
    META,
    dead_letters,
    delete_queue,
    envelopes_of,
    publish,
    registration,
)


async def test_a_projector_waits_out_a_mongo_outage_and_then_catches_up(
    platform: Platform,
) -> None:
    python = platform.settings.embedded_mongo_python
    server = EmbeddedMongo(python, port=0)
    url = await asyncio.to_thread(server.start)
    # Quick to give up, so the outage outlasts every retry a poison message would get.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, serverSelectionTimeoutMS=300)
    port = server.port
    store = MongoStore(client["outage"], PatientChart())
    queue = platform.settings.queue_name("outage_chart")
    runner = ConsumerRunner(
        Projector(store.projection, store, platform.reader),
        rabbitmq_url=platform.settings.rabbitmq_url,
        exchange=platform.settings.exchange,
        queue=queue,
        outage=is_store_fault,
    )
    try:
        async with running(runner.run):
            await eventually(lambda: _consuming(platform, queue), what="the consumer to start")
            server.stop()
            written = await asyncio.to_thread(
                platform.application(Patients).register, registration(9), META
            )
            await publish(platform, await envelopes_of(platform, written.id))
            await asyncio.sleep(4)

            server = EmbeddedMongo(python, port=port)
            await asyncio.to_thread(server.start)
            await eventually(lambda: _has(store, written.id), within=60, what="the catch-up")
        assert await dead_letters(platform, "outage_chart") == []
    finally:
        server.stop()
        await client.close()
        await delete_queue(platform, queue)


async def _has(store: MongoStore, patient_id: UUID) -> bool:
    try:
        return await store.version_of(patient_id) == 1
    except Exception:
        return False


async def _consuming(platform: Platform, queue: str) -> bool:
    import aio_pika

    connection = await aio_pika.connect(platform.settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        try:
            declared = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return False
        return bool(declared.declaration_result.consumer_count)
