"""The broker stopped and started under writes: `clinic up` notices its return at once.

A RabbitMQ node of the test's own is stopped (the Erlang VM too, its port closed) while
registrations flow, then started again. Writes are acknowledged throughout (they wait in
the event store), the relay and every consumer come back by themselves, and the read
models then equal their rebuild. How long after the node's return a new registration
reached the patient directory is printed (the wait between tries is at most a second:
`bus.connection.backoff`, and aio-pika's own reconnect interval is a second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from clinic.platform import Platform
from infra.settings import Settings
from tests.chaos.harness import SECONDS, ClinicUp, Writer, started
from tests.chaos.own_rabbitmq import OwnRabbitMQ
from tests.chaos.test_faults import _settled
from tests.chaos.test_postgres_stop import _signed_in
from tests.conftest import eventually, opened


@pytest.fixture
async def own_rabbitmq() -> AsyncIterator[OwnRabbitMQ]:
    async with started(OwnRabbitMQ()) as node:
        yield node


@pytest.fixture
async def on_own_broker(
    platform: Platform, settings: Settings, own_rabbitmq: OwnRabbitMQ
) -> AsyncIterator[Platform]:
    """The session's (emptied) stores, with `own_rabbitmq` as the broker."""
    async with opened(settings.model_copy(update={"rabbitmq_url": own_rabbitmq.url})) as own:
        yield own


async def test_consumers_resume_by_themselves_when_a_stopped_broker_returns(
    on_own_broker: Platform, own_rabbitmq: OwnRabbitMQ, tmp_path: Path
) -> None:
    platform = on_own_broker
    up = ClinicUp(platform.settings, tmp_path)
    up.start()
    try:
        await up.ready()
        writer = Writer(up.base, await _signed_in(platform, "receptionist"), uuid4().hex[:8])
        writing = asyncio.create_task(writer.run_until_stopped())
        await asyncio.sleep(SECONDS)
        await asyncio.to_thread(own_rabbitmq.stop)
        writer.mark("stopped")
        await asyncio.sleep(SECONDS)
        await asyncio.to_thread(own_rabbitmq.start)
        back = time.monotonic()
        acknowledged_before = set(writer.tally.acknowledged)

        async def a_new_write_is_projected() -> bool:
            new = [t for t in writer.tally.acknowledged if t not in acknowledged_before]
            if not new:
                return False
            patient = UUID(writer.tally.acknowledged[new[0]])
            return await platform.projectors["patient_directory"].store.version_of(patient) > 0

        await eventually(a_new_write_is_projected, within=60, what="the consumers to resume")
        resumed = time.monotonic() - back
        await asyncio.sleep(SECONDS)
        writer.stop()
        await writing

        assert writer.recovery("stopped") >= 0  # writes were acknowledged after the stop
        verdict = await _settled(platform, up, writer)
        print(
            f"\nchaos: broker stopped and started: {verdict.acknowledged} writes acknowledged, "
            f"0 lost; a new write reached the patient directory {resumed:.2f} s after the "
            "node was back"
        )
    finally:
        up.stop()
