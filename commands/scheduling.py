"""Booking and the appointment lifecycle on the command side: load, decide, save, retry.

A booking saves the appointment with the diaries it reserves in one transaction.
When another booking changed one of those diaries first, the save meets a
version conflict; the decision is taken again on fresh diaries, which then
either fit or refuse with `SlotTaken` (409).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from pydantic import Field, StrictBool, StrictInt, StringConstraints, WithJsonSchema

from commands.base import (
    HOUR,
    WHOLE,
    ClinicApplication,
    Command,
    Day,
    Decided,
    Instant,
    WallClock,
    Written,
)
from domain.scheduling import Appointment, Diary, OutsideHours, Resource, Slot, diary_id
from domain.scheduling.calendar import WORKING_WEEK, Weekday
from domain.scheduling.reference import CLINIC_SETUP_ID, ClinicSetup, Provider, ProviderKind
from domain.scheduling.waitlist import WaitlistEntry, Wish
from domain.shared import DEFAULT_ZONE, InvalidValue, Meta, TransitionRefused

ATTEMPTS = 12


# An appointment's length: 5 to 480 minutes (5.0 is 5).
Minutes = Annotated[StrictInt, Field(ge=5, le=480), WHOLE]


class BookAppointment(Command):
    patient_id: UUID
    provider_id: UUID
    operatory_id: UUID
    start: Instant
    appointment_type: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    duration_minutes: Minutes | None = None
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
    override_reason: Annotated[str, StringConstraints(max_length=500)] | None = None


_HOUR = WithJsonSchema({"type": "string", "maxLength": 5, "pattern": HOUR})
# Periods by weekday name: {"monday": [["09:00", "14:00"]]}; a day left out is closed.
Hours = Annotated[
    dict[
        str,
        Annotated[
            list[
                Annotated[
                    list[Annotated[str, StringConstraints(max_length=5), _HOUR]],
                    Field(min_length=2, max_length=2),
                ]
            ],
            Field(max_length=24),  # spans of a day, each at least a minute: more is not a schedule
        ],
    ],
    Field(json_schema_extra={"propertyNames": {"enum": [day.value for day in Weekday]}}),
]


class AddProvider(Command):
    staff_id: UUID
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: ProviderKind


class SetHours(Command):
    hours: Hours


class SetUpClinic(Command):
    zone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="the IANA time zone the clinic's calendar keeps, e.g. Atlantic/Canary"
    )


class RecordAbsence(Command):
    start: Instant
    end: Instant
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AddClosure(Command):
    first_day: Day
    last_day: Day
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AddOperatory(Command):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class DefineAppointmentType(Command):
    code: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    minutes: Minutes


class Reschedule(Command):
    """A new time, and optionally another provider or chair."""

    start: Instant
    duration_minutes: Minutes
    provider_id: UUID | None = None
    operatory_id: UUID | None = None


class Cancel(Command):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    by_patient: StrictBool = False


class JoinWaitlist(Command):
    patient_id: UUID
    appointment_type: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    provider_id: UUID | None = None
    weekdays: list[Weekday] = Field(
        default_factory=lambda: list(WORKING_WEEK), min_length=1, max_length=7
    )
    earliest: WallClock = time(8, 0)
    latest: WallClock = time(21, 0)
    until: Day | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class LeaveWaitlist(Command):
    reason: Annotated[str, StringConstraints(max_length=200)] = ""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Scheduling(ClinicApplication):
    """The command side of the `scheduling` context."""

    def __init__(
        self, env: dict[str, str] | None = None, now: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(env)
        self.now = now

    def book(self, cmd: BookAppointment, meta: Meta, *, may_override: bool = False) -> Written:
        """Books if the slot is free and within the calendar's rules; an admin
        (`may_override`) may book outside the rules by giving a reason, which is recorded."""
        clinic = self.clinic()
        clinic.require_operatory(cmd.operatory_id)
        provider = self.load(cmd.provider_id, Provider)
        duration = clinic.duration_of(cmd.appointment_type)
        minutes = cmd.duration_minutes or int(duration.total_seconds() // 60)
        slot = Slot.of(cmd.start, minutes)
        breaks = provider.rules(clinic).violations(slot)

        def make() -> tuple[Appointment, list[Diary]]:
            appointment = Appointment.book(
                patient_id=cmd.patient_id,
                provider_id=cmd.provider_id,
                operatory_id=cmd.operatory_id,
                slot=slot,
                appointment_type=cmd.appointment_type,
                notes=cmd.notes,
                now=self.now(),
                meta=meta,
                breaks=breaks,
                override_reason=cmd.override_reason if may_override else None,
            )
            return appointment, self._reserve(appointment, slot, clinic.zone, meta)

        return self.create(make, attempts=ATTEMPTS)

    def reschedule(
        self, appointment_id: UUID, cmd: Reschedule, meta: Meta, expected_version: int | None
    ) -> Written:
        slot = Slot.of(cmd.start, cmd.duration_minutes)
        clinic = self.clinic()
        if cmd.operatory_id is not None:
            clinic.require_operatory(cmd.operatory_id)

        def decide(appointment: Appointment) -> Decided:
            provider_id = cmd.provider_id or appointment.provider_id
            breaks = self.load(provider_id, Provider).rules(clinic).violations(slot)
            if breaks:
                raise OutsideHours("cannot move there: " + "; ".join(breaks))
            released = self._release(appointment, clinic.zone, meta)
            appointment.reschedule(
                slot,
                self.now(),
                meta,
                provider_id=cmd.provider_id,
                operatory_id=cmd.operatory_id,
            )
            reserved = self._reserve(appointment, slot, clinic.zone, meta, released)
            return Decided(also=_unique(released + reserved))

        return self.change(appointment_id, Appointment, decide, expected_version, attempts=ATTEMPTS)

    def cancel(
        self, appointment_id: UUID, cmd: Cancel, meta: Meta, expected_version: int | None
    ) -> Written:
        return self._ending(
            appointment_id,
            expected_version,
            lambda a: a.cancel(
                reason=cmd.reason, by_patient=cmd.by_patient, now=self.now(), meta=meta
            ),
            meta,
        )

    def mark_no_show(
        self, appointment_id: UUID, meta: Meta, expected_version: int | None
    ) -> Written:
        return self._ending(
            appointment_id, expected_version, lambda a: a.mark_no_show(self.now(), meta), meta
        )

    def confirm(self, appointment_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        return self.change(appointment_id, Appointment, lambda a: a.confirm(meta), expected_version)

    def check_in(self, appointment_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        zone = self.zone()
        return self.change(
            appointment_id,
            Appointment,
            lambda a: a.check_in(self.now(), zone, meta),
            expected_version,
        )

    def complete(self, appointment_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        return self.change(
            appointment_id, Appointment, lambda a: a.complete(meta), expected_version
        )

    def appointment(self, appointment_id: UUID) -> Appointment:
        return self.load(appointment_id, Appointment)

    def complete_once(self, appointment_id: UUID, meta: Meta) -> Written:
        """Completes the appointment; one already completed is left as it is (the retry of a
        visit whose completion committed before its answer was lost)."""

        def decide(appointment: Appointment) -> None:
            if not appointment.completed:
                appointment.complete(meta)

        return self.change(appointment_id, Appointment, decide, attempts=ATTEMPTS)

    def _ending(
        self,
        appointment_id: UUID,
        expected: int | None,
        end: Callable[[Appointment], None],
        meta: Meta,
    ) -> Written:
        """A cancellation or no-show frees the slot in every diary that held it."""
        zone = self.zone()

        def decide(appointment: Appointment) -> Decided:
            end(appointment)
            return Decided(also=tuple(self._release(appointment, zone, meta)))

        return self.change(appointment_id, Appointment, decide, expected, attempts=ATTEMPTS)

    # Reference data: the clinic's calendar and catalogue, and its providers.

    def clinic(self) -> ClinicSetup:
        try:
            found: ClinicSetup = self.repository.get(CLINIC_SETUP_ID)
        except AggregateNotFoundError:
            raise InvalidValue(
                "set up the clinic first: opening hours, chairs and appointment types"
            ) from None
        return found

    def zone(self) -> ZoneInfo:
        try:
            return self.clinic().zone
        except InvalidValue:
            return ZoneInfo(DEFAULT_ZONE)

    def _change_clinic(self, decide: Callable[[ClinicSetup], UUID | None], meta: Meta) -> Written:
        """The clinic's set-up is made on its first change."""
        return self.change(
            CLINIC_SETUP_ID, ClinicSetup, decide, new=lambda: ClinicSetup.start(meta)
        )

    def set_up_clinic(self, cmd: SetUpClinic, meta: Meta) -> Written:
        """The clinic's set-up in its own zone, before anything else: every day on its
        calendar (diaries, opening hours, reminders, reports) is counted in that zone, so it is
        chosen once. A clinic first changed without it keeps the default zone."""

        def make() -> ClinicSetup:
            if self.exists(CLINIC_SETUP_ID):
                raise TransitionRefused(
                    f"the clinic is set up already, in {self.clinic().zone_name}: its zone is "
                    "chosen once, before anything else"
                )
            return ClinicSetup.start(meta, zone_name=cmd.zone.strip())

        return self.create(make, attempts=2)

    def set_opening_hours(self, cmd: SetHours, meta: Meta) -> Written:
        return self._change_clinic(lambda c: c.set_opening_hours(cmd.hours, meta), meta)

    def add_closure(self, cmd: AddClosure, meta: Meta) -> Written:
        """`created` is the new closure's id."""
        return self._change_clinic(
            lambda c: c.add_closure(cmd.first_day, cmd.last_day, cmd.reason, meta), meta
        )

    def add_operatory(self, cmd: AddOperatory, meta: Meta) -> Written:
        """`created` is the new chair's id."""
        return self._change_clinic(lambda c: c.add_operatory(cmd.name, meta), meta)

    def define_appointment_type(self, cmd: DefineAppointmentType, meta: Meta) -> Written:
        return self._change_clinic(
            lambda c: c.define_appointment_type(cmd.code, cmd.name, cmd.minutes, meta), meta
        )

    def add_provider(self, cmd: AddProvider, meta: Meta) -> Written:
        return self.create(lambda: Provider.add(cmd.staff_id, cmd.name, cmd.kind, meta))

    def set_working_hours(self, provider_id: UUID, cmd: SetHours, meta: Meta) -> Written:
        return self.change(provider_id, Provider, lambda p: p.set_working_hours(cmd.hours, meta))

    def record_absence(self, provider_id: UUID, cmd: RecordAbsence, meta: Meta) -> Written:
        """`created` is the new absence's id."""
        return self.change(
            provider_id,
            Provider,
            lambda p: p.record_absence(cmd.start, cmd.end, cmd.reason, meta),
        )

    # The waiting list.

    def join_waitlist(self, cmd: JoinWaitlist, meta: Meta) -> Written:
        self.clinic().duration_of(cmd.appointment_type)
        wish = Wish(
            cmd.appointment_type,
            cmd.provider_id,
            tuple(day.value for day in cmd.weekdays),
            cmd.earliest,
            cmd.latest,
            cmd.until,
        )
        return self.create(lambda: WaitlistEntry.add(cmd.patient_id, wish, cmd.note, meta))

    def leave_waitlist(self, entry_id: UUID, cmd: LeaveWaitlist, meta: Meta) -> Written:
        return self.change(entry_id, WaitlistEntry, lambda e: e.remove(cmd.reason, meta))

    # The diaries that keep bookings apart (ADR 6).

    def _reserve(
        self,
        appointment: Appointment,
        slot: Slot,
        zone: ZoneInfo,
        meta: Meta,
        loaded: list[Diary] | None = None,
    ) -> list[Diary]:
        known = {d.id: d for d in loaded or []}
        diaries = []
        for resource, resource_id, day in appointment.diaries(zone):
            diary = self._diary(resource, resource_id, day, known, meta)
            diary.reserve(appointment.id, slot, f"the {resource.value}", meta)
            diaries.append(diary)
        return diaries

    def _release(self, appointment: Appointment, zone: ZoneInfo, meta: Meta) -> list[Diary]:
        diaries = []
        for resource, resource_id, day in appointment.diaries(zone):
            diary = self._diary(resource, resource_id, day, {}, meta)
            diary.release(appointment.id, meta)
            diaries.append(diary)
        return diaries

    def _diary(
        self, resource: Resource, resource_id: UUID, day: date, known: dict[UUID, Diary], meta: Meta
    ) -> Diary:
        found = diary_id(resource, resource_id, day)
        if found in known:
            return known[found]
        try:
            stored: Diary = self.repository.get(found)
        except AggregateNotFoundError:
            return Diary(resource=resource.value, resource_id=resource_id, day=day, meta=meta)
        return stored


def _unique(diaries: list[Diary]) -> tuple[Aggregate, ...]:
    seen: dict[UUID, Diary] = {}
    for diary in diaries:
        seen.setdefault(diary.id, diary)
    return tuple(seen.values())
