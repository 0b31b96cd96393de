"""The platform holds a fixed number of broker connections, whatever the broker's health: a
broker that stops answering is probed through the connection already held, never through new
ones, so a frozen broker is not flooded with connections it cannot serve."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from clinic.platform import Platform
from clinic.readiness import PROBE_SECONDS, Readiness
from commands.patients import Patients
from tests.conftest import eventually, running
from tests.integration.frozen_broker import FrozenBroker
from tests.integration.helpers import META, registration

RELAY = 1  # the relay's one connection
PROBE = 1  # the readiness probe's one connection
FROZEN_SECONDS = 10  # long enough for a probe each second to have opened ten more


def broker_budget(platform: Platform) -> int:
    """The connections a process running the relay, every projector and the readiness watch
    holds: one each, however the broker fares."""
    return RELAY + len(platform.projectors) + PROBE


@pytest.fixture
async def broker(platform: Platform) -> AsyncIterator[FrozenBroker]:
    proxy = FrozenBroker(platform.settings.rabbitmq_url)
    yield proxy
    await proxy.stop()


async def test_a_frozen_broker_gets_no_connections_beyond_the_budget(
    platform: Platform, broker: FrozenBroker
) -> None:
    assert PROBE_SECONDS <= 1.0  # so that a connection per probe would show many times over
    url = await broker.start()
    proxied = dataclasses.replace(
        platform, settings=platform.settings.model_copy(update={"rabbitmq_url": url})
    )
    health = Readiness(
        proxied.settings, platform.pool, platform.mongo_db, platform.states, platform.marks
    )
    budget = broker_budget(platform)
    parts = [
        proxied.relay().run,
        health.watch,
        *(proxied.consumer(name).run for name in platform.projectors),
    ]

    async with running(*parts):
        await eventually(lambda: _holds(broker, budget), within=60, what="every part connected")
        await eventually(lambda: _broker_is(health, "ok"), what="the probe to see the broker")

        held = broker.accepted
        broker.freeze()
        loop = asyncio.get_running_loop()
        thaw_at = loop.time() + FROZEN_SECONDS
        await eventually(
            lambda: _broker_is_not_ok(health), within=60, what="the probe to see the broker frozen"
        )
        written = await asyncio.to_thread(
            platform.application(Patients).register, registration(31), META
        )
        await asyncio.sleep(max(0.0, thaw_at - loop.time()))
        frozen_most, opened_frozen = broker.most, broker.accepted - held
        assert not await _projected(platform, written.id)
        broker.thaw()

        await eventually(
            lambda: _projected(platform, written.id),
            within=120,
            what="the write made while the broker was frozen to be projected",
        )
        await eventually(
            lambda: _broker_is(health, "ok"), within=60, what="the probe to see the broker again"
        )

    assert opened_frozen == 0, f"{opened_frozen} connections opened to a frozen broker"
    assert frozen_most <= budget, f"{frozen_most} connections open at once; budget {budget}"
    assert broker.accepted == held, "the parts recover on the connections they hold"


async def _holds(broker: FrozenBroker, budget: int) -> bool:
    return broker.open == budget


async def _broker_is(health: Readiness, state: str) -> bool:
    return (await health.readiness())["rabbitmq"] == state


async def _broker_is_not_ok(health: Readiness) -> bool:
    return (await health.readiness())["rabbitmq"] != "ok"


async def _projected(platform: Platform, patient_id: UUID) -> bool:
    directory = platform.projectors["patient_directory"].store
    return await directory.version_of(patient_id) == 1
