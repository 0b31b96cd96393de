"""The reminder worker's ear on the bus: scheduling's appointment events become the
reminders context's own commands.

It has its own durable queue bound to the appointment events. Each handler is idempotent
(ADR 12), and an event whose appointment the worker has not seen booked (its queue was
created after the booking, or a message was dead-lettered) is healed by replaying that
appointment's history from the event store, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from commands.reminders import Reminders
from domain.shared import Meta
from infra.eventstore import Envelope, EventStoreReader

BOOKED = "AppointmentBooked"
MOVED = "AppointmentRescheduled"
ENDED = {
    "AppointmentCancelled": "cancelled",
    "PatientDidNotAttend": "no_show",
    "AppointmentCompleted": "completed",
}
WORKER = "reminders"


def meta_of(envelope: Envelope) -> Meta:
    """The worker acts on its own account, caused by the event it reacts to."""
    return Meta("reminders-worker", "system", envelope.correlation_id, str(envelope.event_id))


class AppointmentReactions:
    """A `BatchHandler` for the consumer runner."""

    name = WORKER
    binding_keys = tuple(f"scheduling.{e}" for e in (BOOKED, MOVED, *ENDED))

    def __init__(self, reminders: Reminders, reader: EventStoreReader) -> None:
        self.reminders = reminders
        self.reader = reader

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in sorted(envelopes, key=lambda e: e.notification_id):
            if envelope.aggregate_type != "Appointment":
                continue
            if envelope.event_type != BOOKED and not await self._known(envelope.aggregate_id):
                history = await self.reader.aggregate_events(
                    "scheduling", envelope.aggregate_id, 0, envelope.version
                )
                for earlier in history:
                    await asyncio.to_thread(self.react, earlier)
                continue
            await asyncio.to_thread(self.react, envelope)

    async def _known(self, appointment: UUID) -> bool:
        return await asyncio.to_thread(self.reminders.plan_of, appointment) is not None

    def react(self, envelope: Envelope) -> None:
        payload, meta = envelope.payload, meta_of(envelope)
        appointment = envelope.aggregate_id
        if envelope.event_type == BOOKED:
            self.reminders.on_booked(
                appointment,
                UUID(payload["patient_id"]),
                datetime.fromisoformat(payload["start"]),
                str(payload.get("appointment_type") or ""),
                envelope.version,
                meta,
            )
        elif envelope.event_type == MOVED:
            self.reminders.on_rescheduled(
                appointment, datetime.fromisoformat(payload["start"]), envelope.version, meta
            )
        elif envelope.event_type in ENDED:
            self.reminders.on_ended(
                appointment,
                ENDED[envelope.event_type],
                envelope.timestamp,
                envelope.version,
                meta,
            )
