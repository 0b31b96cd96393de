"""Events reach every read model exactly once, in order, whatever the bus does to them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from uuid import UUID, uuid4

from prometheus_client import REGISTRY

from clinic.platform import Platform
from commands.patients import Patients
from infra.eventstore import Envelope, event_id_for
from projections.patients import PatientQueries
from tests.conftest import eventually, rabbitmqctl, running
from tests.integration.helpers import (
    META,
    caught_up,
    dead_letters,
    envelopes_of,
    publish,
    read_models,
    registration,
    three_event_history,
)


async def _versions(platform: Platform, patient_id: UUID) -> tuple[int, int]:
    return (
        await platform.projectors["patient_directory"].store.version_of(patient_id),
        await platform.projectors["patient_chart"].store.version_of(patient_id),
    )


async def test_the_same_message_delivered_twice_is_applied_once(
    platform: Platform, projectors: None
) -> None:
    patient_id = await asyncio.to_thread(three_event_history, platform, 1)
    registered, alert, contact = await envelopes_of(platform, patient_id)

    await publish(platform, [registered, alert, alert, registered, contact, alert])

    await eventually(lambda: _at(platform, patient_id, 3), what="version 3 in both read models")
    directory = (await platform.projectors["patient_directory"].store.dump())[patient_id].document
    chart = await platform.get(PatientQueries).chart(patient_id)
    assert directory["active_alerts"] == 1
    assert chart is not None
    assert len(chart["alerts"]) == 1


async def _at(platform: Platform, patient_id: UUID, version: int) -> bool:
    return await _versions(platform, patient_id) == (version, version)


async def test_a_message_after_a_version_gap_is_healed_from_the_event_store(
    platform: Platform, projectors: None
) -> None:
    patient_id = await asyncio.to_thread(three_event_history, platform, 2)
    *_, contact = await envelopes_of(platform, patient_id)

    await publish(platform, [contact])

    await eventually(lambda: _at(platform, patient_id, 3), what="the gap to be healed")
    chart = await platform.get(PatientQueries).chart(patient_id)
    assert chart is not None
    assert chart["contact"]["phone"] == "+34700000002"
    assert [a["code"] for a in chart["alerts"]] == ["latex"]
    assert chart["demographics"]["family_name"] == "Apellido 00002"


def _dead_lettered(consumer: str) -> float:
    return REGISTRY.get_sample_value("sonrisa_dead_lettered_total", {"consumer": consumer}) or 0.0


async def test_a_malformed_message_is_dead_lettered_and_the_projector_keeps_going(
    platform: Platform, projectors: None
) -> None:
    queue = platform.settings.queue_name("patient_directory")
    before = _dead_lettered(queue)
    written = await asyncio.to_thread(
        platform.application(Patients).register, registration(3), META
    )
    (registered,) = await envelopes_of(platform, written.id)

    await publish(platform, [registered], raw=[b"{not json at all"])

    await eventually(lambda: _at(platform, written.id, 1), what="the valid message applied")
    letters = await dead_letters(platform, "patient_directory")
    assert [m.body for m in letters] == [b"{not json at all"]
    assert letters[0].headers["x-error-type"] == "ValidationError"
    assert letters[0].headers["x-original-routing-key"] == "patients.PatientRegistered"
    assert _dead_lettered(queue) == before + 1


async def test_a_forged_event_the_store_does_not_hold_is_dead_lettered_with_its_error(
    platform: Platform, projectors: None
) -> None:
    written = await asyncio.to_thread(
        platform.application(Patients).register, registration(4), META
    )
    (good,) = await envelopes_of(platform, written.id)
    poison = Envelope.model_validate(
        {**json.loads(good.model_dump_json()), "aggregate_id": str(uuid4()), "payload": {}}
    )

    await publish(platform, [poison, good])

    await eventually(lambda: _at(platform, written.id, 1), what="the good message applied")
    letters = await dead_letters(platform, "patient_directory")
    assert len(letters) == 1
    assert json.loads(letters[0].body)["aggregate_id"] == str(poison.aggregate_id)
    headers = letters[0].headers
    assert headers["x-error-type"] == "NotInEventStore"
    assert "is not in the event store" in str(headers["x-error"])
    assert headers["x-consumer"] == platform.settings.queue_name("patient_directory")
    assert headers["x-failed-at"]


async def test_a_rebuild_gives_the_same_read_models_as_the_live_projection(
    platform: Platform, pipeline: None
) -> None:
    for n in range(25):
        await asyncio.to_thread(three_event_history, platform, n)
    await eventually(lambda: caught_up(platform), what="projections to catch up")
    live = await read_models(platform)
    assert len(live["patient_directory"]) == 25

    for name in ("patient_directory", "patient_chart"):
        assert await platform.projectors[name].rebuild() == 75

    assert await read_models(platform) == live


async def test_the_relay_wakes_on_notify_without_waiting_for_its_poll(
    platform: Platform, projectors: None
) -> None:
    platform.settings.relay_poll_seconds, poll = 60.0, platform.settings.relay_poll_seconds
    try:
        relay = platform.relay()
    finally:
        platform.settings.relay_poll_seconds = poll
    async with running(relay.run):
        await eventually(lambda: _leader(relay), what="the relay to lead")
        await asyncio.sleep(0.3)  # the first empty round is over; now it sleeps on its poll
        written = await asyncio.to_thread(
            platform.application(Patients).register, registration(5), META
        )
        await eventually(lambda: _at(platform, written.id, 1), within=5, what="a prompt relay")


async def _leader(relay: object) -> bool:
    return bool(getattr(relay, "is_leader", False))


async def test_only_one_relay_publishes_at_a_time(platform: Platform, projectors: None) -> None:
    first, second = platform.relay(), platform.relay()
    async with running(first.run, second.run):
        await eventually(lambda: _any_leader(first, second), what="a leader")
        await asyncio.sleep(0.5)
        assert [first.is_leader, second.is_leader].count(True) == 1
        written = await asyncio.to_thread(
            platform.application(Patients).register, registration(6), META
        )
        await eventually(lambda: _at(platform, written.id, 1), what="the leader to relay")


async def _any_leader(*relays: object) -> bool:
    return any(getattr(r, "is_leader", False) for r in relays)


def _connections(*markers: str) -> list[str]:
    """Broker-side ids of the connections whose client name contains one of `markers`."""
    listed = subprocess.run(
        rabbitmqctl("-q", "list_connections", "pid", "client_properties", "--no-table-headers"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [
        line.split("\t")[0]
        for line in listed.stdout.splitlines()
        if any(marker in line for marker in markers)
    ]


def _drop_connections(*markers: str) -> int:
    """Have the broker close every connection whose name contains one of `markers`."""
    pids = _connections(*markers)
    closing = [  # side by side: each rabbitmqctl call starts an Erlang node of its own
        subprocess.Popen(
            rabbitmqctl("-q", "close_connection", pid, "test: broker drop"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid in pids
    ]
    for process in closing:
        assert process.wait(timeout=120) == 0
    return len(pids)


async def test_relay_and_projectors_reconnect_when_the_broker_drops_them(
    platform: Platform, pipeline: None
) -> None:
    first = await asyncio.to_thread(platform.application(Patients).register, registration(7), META)
    await eventually(lambda: _at(platform, first.id, 1), what="the first registration projected")

    ours = (platform.settings.exchange, platform.settings.queue_prefix)
    expected = 1 + len(platform.projectors)  # the relay and every projector

    async def all_connected() -> bool:
        return len(await asyncio.to_thread(_connections, *ours)) == expected

    await eventually(all_connected, what="every part to connect")
    assert await asyncio.to_thread(_drop_connections, *ours) == expected

    second = await asyncio.to_thread(platform.application(Patients).register, registration(8), META)
    await eventually(lambda: _at(platform, second.id, 1), within=60, what="a reconnected pipeline")
    parts = [
        f"relay:{platform.settings.exchange}",
        *(platform.settings.queue_name(name) for name in platform.projectors),
    ]

    def uncounted() -> list[tuple[str, str]]:
        """The parts whose loss or regained connection the metric has not counted."""
        return [
            (part, event)
            for part in parts
            for event in ("lost", "reconnected")
            if not REGISTRY.get_sample_value(
                "sonrisa_broker_connection_events_total", {"part": part, "event": event}
            )
        ]

    # A robust connection may publish again a moment before it runs its reconnect callbacks.
    async def all_counted() -> bool:
        return not uncounted()

    await eventually(all_counted, what="every part's loss and return counted")
    assert uncounted() == []


async def test_a_message_with_a_gap_the_store_cannot_heal_is_dead_lettered_not_dropped(
    platform: Platform, projectors: None
) -> None:
    queue = platform.settings.queue_name("patient_directory")
    before = _dead_lettered(queue)
    written = await asyncio.to_thread(
        platform.application(Patients).register, registration(9), META
    )
    (registered,) = await envelopes_of(platform, written.id)
    from_the_future = registered.model_copy(
        update={"version": 6, "event_id": event_id_for(written.id, 6)}
    )

    await publish(platform, [registered, from_the_future])

    await eventually(
        lambda: _true(_dead_lettered(queue) >= before + 1), what="the unhealable message"
    )
    letters = await dead_letters(platform, "patient_directory")
    # Once, or twice if the broker nacked it once and it was published again.
    assert {json.loads(m.body)["version"] for m in letters} == {6}
    assert letters[0].headers["x-error-type"] == "GapNotHealed"
    assert "is at version 1 in the event store" in str(letters[0].headers["x-error"])
    assert await platform.projectors["patient_directory"].store.version_of(written.id) == 1


async def _true(value: bool) -> bool:
    return value


async def test_the_read_model_pool_can_serve_every_consumer_healing_a_gap_at_once(
    platform: Platform,
) -> None:
    # A consumer healing a gap holds a connection and asks for a second: with no spare, all
    # consumers healing at once would wait for each other for ever.
    consumers = len(platform.queues())
    assert consumers > platform.settings.read_model_pool_size, "the setting alone would not do"
    assert platform.pool.get_max_size() > consumers
