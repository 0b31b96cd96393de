"""Arrange event histories and talk to RabbitMQ the way the relay does."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from uuid import UUID, uuid4

import aio_pika

from bus.relay import message
from bus.topology import declare_consumer_queue, declare_exchange
from clinic.platform import Platform
from commands.base import Written
from commands.identity import Identity
from commands.patients import Patients, RaiseAlert, RegisterPatient, UpdatePatient
from domain.identity import StaffMember
from domain.shared import Meta, Role
from infra.eventstore import Envelope
from projections.base import Versioned

META = Meta("staff-1", "receptionist", "corr-1", "req-1")
SETUP = Meta("test-setup", Role.ADMIN.value, "test-setup", "test-setup")


def registration(n: int) -> RegisterPatient:
    return RegisterPatient(
        given_name=f"Paciente {n}",
        family_name=f"Apellido {n:05d}",
        birth_date=date(1950 + n % 60, 1 + n % 12, 1 + n % 28),
        sex="female" if n % 2 else "male",
        phone=f"+34 6{n:08d}",
    )


def registered_patient(platform: Platform, n: int = 0) -> UUID:
    """A patient the clinic has registered: a clinical record names a patient who exists."""
    return platform.application(Patients).register(registration(n), META).id


def staff_account(platform: Platform, *roles: str, name: str = "Test Staff") -> UUID:
    """A real, active staff account with these roles, saved straight to the store: what it
    records is attributed to somebody the clinic knows. It has no password (no one signs in
    to it with one) and is not on the admin roster (tests of admins register through the API)."""
    staff = StaffMember.register(name, f"{uuid4()}@staff.example.org", list(roles), SETUP)
    platform.application(Identity).save(staff)
    return staff.id


def clinician(platform: Platform, role: str = Role.DENTIST.value) -> Meta:
    """Who acts when a real, active clinician's account records something, in that role."""
    return Meta(str(staff_account(platform, role)), role, "corr-1", "req-1")


def three_event_history(platform: Platform, n: int) -> UUID:
    """Registered, alert raised, contact details changed: versions 1, 2 and 3."""
    patients = platform.application(Patients)
    written: Written = patients.register(registration(n), META)
    patients.raise_alert(
        written.id, RaiseAlert(code="latex", description="Latex allergy"), META, None
    )
    update = UpdatePatient(**{**registration(n).model_dump(), "phone": f"+34 7{n:08d}"})
    patients.update(written.id, update, 2, META)
    return written.id


async def envelopes_of(platform: Platform, aggregate_id: UUID) -> list[Envelope]:
    return await platform.reader.aggregate_events("patients", aggregate_id)


async def publish(
    platform: Platform, envelopes: Sequence[Envelope] = (), raw: Sequence[bytes] = ()
) -> None:
    """Publish as the relay would (confirmed), declaring the consumers' queues first."""
    connection = await aio_pika.connect(platform.settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await declare_exchange(channel, platform.settings.exchange)
        for queue, keys in platform.queues():
            await declare_consumer_queue(channel, exchange, queue, keys)
        for body in raw:
            await _confirmed(exchange, aio_pika.Message(body=body), "patients.PatientRegistered")
        for envelope in envelopes:
            await _confirmed(exchange, message(envelope), envelope.routing_key)


async def _confirmed(
    exchange: aio_pika.abc.AbstractExchange, sent: aio_pika.Message, key: str
) -> None:
    """A nack means the broker did not take it (a quorum queue just declared may not be up
    yet): publish again, as the relay does. A copy some queue did take is a duplicate, which
    every consumer skips."""
    for attempt in range(10):
        try:
            await exchange.publish(sent, key)
            return
        except aio_pika.exceptions.DeliveryError:
            if attempt == 9:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))


async def dead_letters(
    platform: Platform, consumer: str
) -> list[aio_pika.abc.AbstractIncomingMessage]:
    connection = await aio_pika.connect(platform.settings.rabbitmq_url)
    found = []
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(f"{platform.settings.queue_name(consumer)}.dlq")
        while (got := await queue.get(fail=False, no_ack=True)) is not None:
            found.append(got)
    return found


async def delete_queue(platform: Platform, queue: str) -> None:
    """A test's own consumer queue, and its dead-letter queue, leave the broker."""
    connection = await aio_pika.connect(platform.settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await channel.queue_delete(f"{queue}.dlq")


async def caught_up(platform: Platform) -> bool:
    """Every projector has applied everything in the event store of its contexts."""
    for projector in platform.projectors.values():
        status = await projector.store.status()
        for context in projector.projection.contexts:
            if status.get(context, 0) < await platform.reader.max_notification_id(context):
                return False
    return True


async def read_models(platform: Platform) -> dict[str, dict[UUID, Versioned]]:
    return {name: await projector.store.dump() for name, projector in platform.projectors.items()}


async def in_thread(function: object, *args: object) -> object:
    return await asyncio.to_thread(function, *args)  # type: ignore[arg-type]
