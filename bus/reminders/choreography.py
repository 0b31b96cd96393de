"""The reminder worker's ear on the bus: scheduling's clinic set-up (the clinic's zone) and
appointment events, and treatments' recorded and voided treatments become the reminders
context's own commands.

It has its own durable queue bound to those events. Each handler is idempotent (ADR 12), and
an event whose appointment the worker has not seen booked (its queue was created after the
booking, or a message was dead-lettered) is healed by replaying that appointment's history
from the event store, in order.

The reminders context knows no other context's code: a treatment is read from the envelope's
payload by its field names only, here in the bus layer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from commands.reminders import Reminders
from domain.reminders import CLINIC_ZONE_ID, Ending
from domain.shared import Meta
from infra.eventstore import Envelope, EventStoreReader

SCHEDULING = "scheduling"
SET_UP = "ClinicSetUp"  # its payload's `zone_name` is the clinic's zone
BOOKED = "AppointmentBooked"
MOVED = "AppointmentRescheduled"
ENDED = {
    "AppointmentCancelled": Ending.CANCELLED,
    "PatientDidNotAttend": Ending.NO_SHOW,
    "AppointmentCompleted": Ending.COMPLETED,
}
WORKER = "reminders"
TREATMENTS = "treatments"
RECORDED = "TreatmentRecorded"
VOIDED = "TreatmentVoided"


def meta_of(envelope: Envelope) -> Meta:
    """The worker acts on its own account, caused by the event it reacts to."""
    return Meta("reminders-worker", "system", envelope.correlation_id, str(envelope.event_id))


class AppointmentReactions:
    """A `BatchHandler` for the consumer runner."""

    name = WORKER
    binding_keys = (
        *(f"{SCHEDULING}.{e}" for e in (SET_UP, BOOKED, MOVED, *ENDED)),
        *(f"{TREATMENTS}.{e}" for e in (RECORDED, VOIDED)),
    )

    def __init__(self, reminders: Reminders, reader: EventStoreReader) -> None:
        self.reminders = reminders
        self.reader = reader
        self._zone_sought = False

    async def handle_batch(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in sorted(envelopes, key=lambda e: e.notification_id):
            if envelope.context == TREATMENTS:
                if envelope.aggregate_type == "Treatment":
                    await asyncio.to_thread(self.react_to_treatment, envelope)
                continue
            if envelope.event_type == SET_UP:
                await asyncio.to_thread(self.learn_zone, envelope)
                continue
            if envelope.aggregate_type != "Appointment":
                continue
            if not self._zone_sought:
                await self._seek_zone()
            if envelope.event_type != BOOKED and not await self._known(envelope.aggregate_id):
                history = await self.reader.aggregate_events(
                    SCHEDULING, envelope.aggregate_id, 0, envelope.version
                )
                for earlier in history:
                    await asyncio.to_thread(self.react, earlier)
                continue
            await asyncio.to_thread(self.react, envelope)

    def learn_zone(self, envelope: Envelope) -> None:
        self.reminders.on_clinic_set_up(
            str(envelope.payload["zone_name"]), envelope.version, meta_of(envelope)
        )

    async def _seek_zone(self) -> None:
        """A worker whose queue was made after the clinic was set up never heard of it: before
        its first appointment it reads the set-up from the event store (once a process)."""
        self._zone_sought = True
        if await asyncio.to_thread(self.reminders.exists, CLINIC_ZONE_ID):
            return
        async for chunk in self.reader.stream([SCHEDULING]):
            found = next((e for e in chunk if e.event_type == SET_UP), None)
            if found is not None:
                await asyncio.to_thread(self.learn_zone, found)
                return

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

    def react_to_treatment(self, envelope: Envelope) -> None:
        """Treatments' events by their payload's field names (domain/treatments/records.py)."""
        payload, meta = envelope.payload, meta_of(envelope)
        if envelope.event_type == RECORDED:
            appointment = payload.get("appointment_id")
            self.reminders.on_treatment_recorded(
                envelope.aggregate_id,
                UUID(payload["patient_id"]),
                str(payload["code"]),
                datetime.fromisoformat(payload["performed_at"]),
                UUID(appointment) if appointment else None,
                meta,
            )
        elif envelope.event_type == VOIDED:
            self.reminders.on_treatment_voided(envelope.aggregate_id, meta)
