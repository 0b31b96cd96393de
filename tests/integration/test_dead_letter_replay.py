"""Dead-lettered messages can be put back once their cause is fixed: listed first (a dry run
that leaves them where they are), then handed back to their own consumer only."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Sequence

import aio_pika

from bus.consumer import ConsumerRunner
from bus.dead_letters import dead_letters, replay
from clinic.platform import Platform
from commands.patients import Patients
from infra.eventstore import Envelope
from tests.conftest import eventually, running
from tests.integration.helpers import META, delete_queue, envelopes_of, publish, registration
from tests.integration.test_relay_crash import CLINIC, clinic_env


class Directory:
    """A read model with a defect that refuses every message until it is fixed."""

    name = "replay_directory"
    binding_keys = ("patients.#",)

    def __init__(self) -> None:
        self.fixed = False
        self.applied: list[Envelope] = []

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        if not self.fixed:
            raise KeyError("a field this version of the projection did not expect")
        self.applied.extend(envelopes)


async def _waiting(platform: Platform, queue: str) -> int:
    connection = await aio_pika.connect(platform.settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)


async def test_a_dry_run_lists_the_dead_letters_and_a_replay_hands_them_back(
    platform: Platform,
) -> None:
    directory = Directory()
    queue = platform.settings.queue_name("replay_directory")
    runner = ConsumerRunner(
        directory,
        rabbitmq_url=platform.settings.rabbitmq_url,
        exchange=platform.settings.exchange,
        queue=queue,
        attempts=2,
    )
    written = await asyncio.to_thread(
        platform.application(Patients).register, registration(1), META
    )
    (registered,) = await envelopes_of(platform, written.id)
    url = platform.settings.rabbitmq_url
    try:
        async with running(runner.run):
            await eventually(lambda: _declared(platform, queue), what="the consumer's queue")
            await publish(platform, [registered])

            async def dead_lettered() -> bool:
                return await _waiting(platform, f"{queue}.dlq") == 1

            await eventually(dead_lettered, what="the refused message to be dead-lettered")

            listed = await dead_letters(url, queue)
            assert [(d.message_id, d.error_type) for d in listed] == [
                (str(registered.event_id), "KeyError")
            ]
            assert listed[0].routing_key == registered.routing_key
            assert await _waiting(platform, f"{queue}.dlq") == 1, "a dry run took it away"

            directory.fixed = True
            replayed = await replay(url, queue)
            assert [d.message_id for d in replayed] == [str(registered.event_id)]

            async def applied() -> bool:
                return [e.event_id for e in directory.applied] == [registered.event_id]

            await eventually(applied, what="the replayed message to be applied")
            assert await _waiting(platform, f"{queue}.dlq") == 0
    finally:
        await delete_queue(platform, queue)


async def test_the_command_line_lists_then_puts_back_a_projections_dead_letters(
    platform: Platform,
) -> None:
    queue = platform.settings.queue_name("patient_directory")
    async with running(platform.consumer("patient_directory").run):
        await publish(platform, raw=[b"\x00not an envelope"])

        async def dead_lettered() -> bool:
            return await _waiting(platform, f"{queue}.dlq") == 1

        await eventually(dead_lettered, what="the unreadable message to be dead-lettered")

    def clinic(*args: str, name: str = "patient_directory") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLINIC, "projections", "dlq", "replay", name, *args],
            env=clinic_env(platform.settings, COLUMNS="200"),
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )

    dry = await asyncio.to_thread(clinic, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "ValidationError" in dry.stdout
    assert "1 message(s) would be put back" in dry.stdout
    assert await _waiting(platform, f"{queue}.dlq") == 1

    done = await asyncio.to_thread(clinic)
    assert done.returncode == 0, done.stderr
    assert "1 message(s) put back" in done.stdout
    assert await _waiting(platform, f"{queue}.dlq") == 0
    assert await _waiting(platform, queue) == 1, "not back on the projection's own queue"

    unknown = await asyncio.to_thread(clinic, "--dry-run", name="no_such_projection")
    assert unknown.returncode == 2
    assert "patient_directory" in unknown.stdout  # names the ones it knows


async def _declared(platform: Platform, queue: str) -> bool:
    try:
        await _waiting(platform, queue)
    except aio_pika.exceptions.ChannelClosed:
        return False
    return True
