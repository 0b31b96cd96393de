"""Appointments and the diaries that keep them from overlapping.

Pure domain. The consistency boundary is a `Diary`: one per provider, per
operatory and per patient, per clinic-local day. Booking reserves the slot in
all three diaries and the appointment is saved with them in one transaction,
so two concurrent bookings of overlapping slots cannot both succeed: the
second meets a version conflict, reloads, and is refused (ADR 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.shared import (
    DomainError,
    InvalidValue,
    Meta,
    MetaSinceV2,
    TransitionRefused,
    optional_text,
)

LATE_CANCELLATION = timedelta(hours=24)
LONGEST_APPOINTMENT = timedelta(hours=8)


class SlotTaken(TransitionRefused):
    """Someone or something is already booked at that time."""


class OutsideHours(DomainError):
    """The slot breaks the clinic's calendar: closed, outside hours, provider away."""


class Status(StrEnum):
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


LIVE = frozenset({Status.BOOKED, Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED})


class Resource(StrEnum):
    PROVIDER = "provider"
    OPERATORY = "operatory"
    PATIENT = "patient"


@dataclass(frozen=True, slots=True)
class Slot:
    """A half-open interval [start, end) in UTC: back-to-back slots do not overlap."""

    start: datetime
    end: datetime

    @classmethod
    def of(cls, start: datetime, minutes: int) -> Slot:
        if start.tzinfo is None:
            raise InvalidValue("start must include its time zone", field="start")
        if minutes <= 0:
            raise InvalidValue("duration must be positive", field="duration")
        length = timedelta(minutes=minutes)
        if length > LONGEST_APPOINTMENT:
            raise InvalidValue("an appointment lasts at most 8 hours", field="duration")
        utc = start.astimezone(ZoneInfo("UTC"))
        return cls(utc, utc + length)

    def overlaps(self, other: Slot) -> bool:
        return self.start < other.end and other.start < self.end

    def local_day(self, zone: ZoneInfo) -> date:
        day = self.start.astimezone(zone).date()
        if (self.end - timedelta(microseconds=1)).astimezone(zone).date() != day:
            raise InvalidValue("an appointment must start and end on the same day", field="start")
        return day


def diary_id(resource: Resource, resource_id: UUID, day: date) -> UUID:
    return uuid5(NAMESPACE_URL, f"sonrisa:diary:{resource.value}:{resource_id}:{day.isoformat()}")


class Diary(Aggregate):
    """What one provider, chair or patient is booked for on one local day."""

    class DiaryOpened(MetaSinceV2, Aggregate.Created):
        resource: str
        resource_id: UUID
        day: date
        meta: Meta

    class SlotReserved(MetaSinceV2, Aggregate.Event):
        appointment_id: UUID
        start: datetime
        end: datetime
        meta: Meta

    class SlotReleased(MetaSinceV2, Aggregate.Event):
        appointment_id: UUID
        meta: Meta

    @staticmethod
    def create_id(resource: str, resource_id: UUID, day: date, meta: Meta) -> UUID:
        return diary_id(Resource(resource), resource_id, day)

    @event(DiaryOpened)
    def __init__(self, resource: str, resource_id: UUID, day: date, meta: Meta) -> None:
        self.bookings: dict[UUID, Slot] = {}

    def reserve(self, appointment_id: UUID, slot: Slot, what: str, meta: Meta) -> None:
        for other_id, other in self.bookings.items():
            if other_id != appointment_id and other.overlaps(slot):
                raise SlotTaken(f"{what} is already booked at that time")
        self._reserved(appointment_id=appointment_id, start=slot.start, end=slot.end, meta=meta)

    @event(SlotReserved)
    def _reserved(self, appointment_id: UUID, start: datetime, end: datetime, meta: Meta) -> None:
        self.bookings[appointment_id] = Slot(start, end)

    def release(self, appointment_id: UUID, meta: Meta) -> None:
        if appointment_id in self.bookings:
            self._released(appointment_id=appointment_id, meta=meta)

    @event(SlotReleased)
    def _released(self, appointment_id: UUID, meta: Meta) -> None:
        del self.bookings[appointment_id]


class Appointment(Aggregate):
    """A patient's visit: with whom, in which chair, when, and how it went."""

    @event("AppointmentBooked")
    def __init__(
        self,
        patient_id: UUID,
        provider_id: UUID,
        operatory_id: UUID,
        start: datetime,
        end: datetime,
        appointment_type: str,
        notes: str | None,
        override_reason: str | None,
        overridden: list[str],
        meta: Meta,
    ) -> None:
        self.patient_id = patient_id
        self.provider_id = provider_id
        self.operatory_id = operatory_id
        self.slot = Slot(start, end)
        self.appointment_type = appointment_type
        self.status = Status.BOOKED

    @classmethod
    def book(
        cls,
        *,
        patient_id: UUID,
        provider_id: UUID,
        operatory_id: UUID,
        slot: Slot,
        appointment_type: str,
        notes: str | None,
        now: datetime,
        meta: Meta,
        breaks: list[str] | None = None,
        override_reason: str | None = None,
    ) -> Appointment:
        """`breaks` are the calendar rules the slot breaks; only an override may book them."""
        if slot.start < now:
            raise InvalidValue("an appointment cannot be booked in the past", field="start")
        reason = optional_text(override_reason, "override reason", max_length=500)
        if breaks and reason is None:
            raise OutsideHours("cannot book: " + "; ".join(breaks))
        return cls(
            patient_id=patient_id,
            provider_id=provider_id,
            operatory_id=operatory_id,
            start=slot.start,
            end=slot.end,
            appointment_type=appointment_type,
            notes=optional_text(notes, "notes", max_length=2000, multiline=True),
            override_reason=reason if breaks else None,
            overridden=list(breaks or []),
            meta=meta,
        )

    def diaries(self, zone: ZoneInfo) -> list[tuple[Resource, UUID, date]]:
        day = self.slot.local_day(zone)
        return [
            (Resource.PROVIDER, self.provider_id, day),
            (Resource.OPERATORY, self.operatory_id, day),
            (Resource.PATIENT, self.patient_id, day),
        ]

    def _require(self, allowed: set[Status], doing: str) -> None:
        if self.status not in allowed:
            raise TransitionRefused(f"cannot {doing} an appointment that is {self.status.value}")

    def reschedule(
        self,
        slot: Slot,
        now: datetime,
        meta: Meta,
        *,
        provider_id: UUID | None = None,
        operatory_id: UUID | None = None,
    ) -> None:
        """Moves the appointment in time and, if asked, to another provider or chair."""
        self._require({Status.BOOKED, Status.CONFIRMED}, "reschedule")
        if slot.start < now:
            raise InvalidValue("an appointment cannot be moved into the past", field="start")
        self._rescheduled(
            start=slot.start,
            end=slot.end,
            provider_id=provider_id or self.provider_id,
            operatory_id=operatory_id or self.operatory_id,
            meta=meta,
        )

    @event("AppointmentRescheduled")
    def _rescheduled(
        self, start: datetime, end: datetime, provider_id: UUID, operatory_id: UUID, meta: Meta
    ) -> None:
        self.slot = Slot(start, end)
        self.provider_id, self.operatory_id = provider_id, operatory_id
        self.status = Status.BOOKED

    def confirm(self, meta: Meta) -> None:
        self._require({Status.BOOKED}, "confirm")
        self._confirmed(meta=meta)

    @event("AppointmentConfirmed")
    def _confirmed(self, meta: Meta) -> None:
        self.status = Status.CONFIRMED

    def check_in(self, now: datetime, zone: ZoneInfo, meta: Meta) -> None:
        """The patient has arrived: on the appointment's own day, on the clinic's calendar."""
        self._require({Status.BOOKED, Status.CONFIRMED}, "check in")
        day = self.slot.start.astimezone(zone).date()
        if now.astimezone(zone).date() != day:
            raise TransitionRefused(
                f"a patient checks in on the day of their appointment ({day.isoformat()})"
            )
        self._checked_in(meta=meta)

    @event("PatientCheckedIn")
    def _checked_in(self, meta: Meta) -> None:
        self.status = Status.CHECKED_IN

    def complete(self, meta: Meta) -> None:
        self.require_completable()
        self._completed(meta=meta)

    def require_completable(self) -> None:
        """Refuses, saying why, unless the appointment can be completed now (checked in)."""
        self._require({Status.CHECKED_IN}, "complete")

    @property
    def completed(self) -> bool:
        return self.status is Status.COMPLETED

    @event("AppointmentCompleted")
    def _completed(self, meta: Meta) -> None:
        self.status = Status.COMPLETED

    def cancel(self, *, reason: str, by_patient: bool, now: datetime, meta: Meta) -> None:
        self._require({Status.BOOKED, Status.CONFIRMED}, "cancel")
        late = self.slot.start - now < LATE_CANCELLATION
        self._cancelled(
            reason=optional_text(reason, "reason", max_length=500) or "no reason given",
            by_patient=by_patient,
            late=late,
            meta=meta,
        )

    @event("AppointmentCancelled")
    def _cancelled(self, reason: str, by_patient: bool, late: bool, meta: Meta) -> None:
        self.status = Status.CANCELLED

    def mark_no_show(self, now: datetime, meta: Meta) -> None:
        self._require({Status.BOOKED, Status.CONFIRMED}, "mark as a no-show")
        if now < self.slot.start:
            raise TransitionRefused("a patient cannot miss an appointment that has not started")
        self._no_show(meta=meta)

    @event("PatientDidNotAttend")
    def _no_show(self, meta: Meta) -> None:
        self.status = Status.NO_SHOW

    @property
    def holds_its_slot(self) -> bool:
        return self.status in LIVE
