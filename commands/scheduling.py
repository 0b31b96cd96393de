"""Booking and the appointment lifecycle on the command side: load, decide, save, retry.

A booking saves the appointment with the diaries it reserves in one transaction.
When another booking changed one of those diaries first, the save meets a
version conflict; the decision is taken again on fresh diaries, which then
either fit or refuse with `SlotTaken` (409).
"""

from __future__ import annotations

import random
import time as time_module
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError
from pydantic import AwareDatetime, Field, StringConstraints

from commands.base import CLINIC_ZONE, ClinicApplication, StaleVersion, Written
from commands.patients import Command
from domain.scheduling import Appointment, Diary, OutsideHours, Resource, Slot, diary_id
from domain.scheduling.reference import CLINIC_SETUP_ID, ClinicSetup, Provider
from domain.scheduling.waitlist import WaitlistEntry, Wish
from domain.shared import InvalidValue, Meta

ATTEMPTS = 12
T = TypeVar("T")


class BookAppointment(Command):
    patient_id: UUID
    provider_id: UUID
    operatory_id: UUID
    start: AwareDatetime
    appointment_type: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    duration_minutes: int | None = Field(default=None, ge=5, le=480)
    notes: Annotated[str, StringConstraints(max_length=2000)] | None = None
    override_reason: Annotated[str, StringConstraints(max_length=500)] | None = None


Hours = dict[
    str,
    list[
        Annotated[
            list[Annotated[str, StringConstraints(max_length=5)]], Field(min_length=2, max_length=2)
        ]
    ],
]


class AddProvider(Command):
    staff_id: UUID
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Literal["dentist", "hygienist"]


class SetHours(Command):
    hours: Hours


class RecordAbsence(Command):
    start: AwareDatetime
    end: AwareDatetime
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AddClosure(Command):
    first_day: date
    last_day: date
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AddOperatory(Command):
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class DefineAppointmentType(Command):
    code: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    minutes: int = Field(ge=5, le=480)


class Reschedule(Command):
    """A new time, and optionally another provider or chair."""

    start: AwareDatetime
    duration_minutes: int = Field(ge=5, le=480)
    provider_id: UUID | None = None
    operatory_id: UUID | None = None


class Cancel(Command):
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
    by_patient: bool = False


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


WORKING_WEEK: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")


class JoinWaitlist(Command):
    patient_id: UUID
    appointment_type: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    provider_id: UUID | None = None
    weekdays: list[Weekday] = Field(
        default_factory=lambda: list(WORKING_WEEK), min_length=1, max_length=7
    )
    earliest: time = time(8, 0)
    latest: time = time(21, 0)
    until: date | None = None
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
        for attempt in range(ATTEMPTS):
            _back_off(attempt)
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
            diaries = self._reserve(appointment, slot, clinic.zone)
            if self._saved(appointment, *diaries):
                return _written(appointment)
        raise StaleVersion(None, None)

    def reschedule(
        self, appointment_id: UUID, cmd: Reschedule, meta: Meta, expected_version: int | None
    ) -> Written:
        slot = Slot.of(cmd.start, cmd.duration_minutes)
        clinic = self.clinic()
        for attempt in range(ATTEMPTS):
            _back_off(attempt)
            appointment = self.load(appointment_id, Appointment, expected_version)
            provider_id = cmd.provider_id or appointment.provider_id
            if cmd.operatory_id is not None:
                clinic.require_operatory(cmd.operatory_id)
            breaks = self.load(provider_id, Provider).rules(clinic).violations(slot)
            if breaks:
                raise OutsideHours("cannot move there: " + "; ".join(breaks))
            released = self._release(appointment, clinic.zone)
            appointment.reschedule(
                slot,
                self.now(),
                meta,
                provider_id=cmd.provider_id,
                operatory_id=cmd.operatory_id,
            )
            reserved = self._reserve(appointment, slot, clinic.zone, released)
            if self._saved(appointment, *_unique(released + reserved)):
                return _written(appointment)
        raise StaleVersion(expected_version, None)

    def cancel(
        self, appointment_id: UUID, cmd: Cancel, meta: Meta, expected_version: int | None
    ) -> Written:
        return self._ending(
            appointment_id,
            expected_version,
            lambda a: a.cancel(
                reason=cmd.reason, by_patient=cmd.by_patient, now=self.now(), meta=meta
            ),
        )

    def mark_no_show(
        self, appointment_id: UUID, meta: Meta, expected_version: int | None
    ) -> Written:
        return self._ending(
            appointment_id, expected_version, lambda a: a.mark_no_show(self.now(), meta)
        )

    def confirm(self, appointment_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        return self._step(appointment_id, expected_version, lambda a: a.confirm(meta))

    def check_in(self, appointment_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        return self._step(appointment_id, expected_version, lambda a: a.check_in(meta))

    def complete(self, appointment_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        return self._step(appointment_id, expected_version, lambda a: a.complete(meta))

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
            return CLINIC_ZONE

    def _change_clinic(self, change: Callable[[ClinicSetup], T], meta: Meta) -> tuple[Written, T]:
        """The clinic's set-up is made on its first change; returns what `change` returned."""
        try:
            clinic: ClinicSetup = self.repository.get(CLINIC_SETUP_ID)
        except AggregateNotFoundError:
            clinic = ClinicSetup.start(meta)
        result = change(clinic)
        self.commit(clinic)
        return Written(clinic.id, clinic.version), result

    def set_opening_hours(self, cmd: SetHours, meta: Meta) -> Written:
        return self._change_clinic(lambda c: c.set_opening_hours(cmd.hours, meta), meta)[0]

    def add_closure(self, cmd: AddClosure, meta: Meta) -> tuple[Written, UUID]:
        return self._change_clinic(
            lambda c: c.add_closure(cmd.first_day, cmd.last_day, cmd.reason, meta), meta
        )

    def add_operatory(self, cmd: AddOperatory, meta: Meta) -> tuple[Written, UUID]:
        return self._change_clinic(lambda c: c.add_operatory(cmd.name, meta), meta)

    def define_appointment_type(self, cmd: DefineAppointmentType, meta: Meta) -> Written:
        return self._change_clinic(
            lambda c: c.define_appointment_type(cmd.code, cmd.name, cmd.minutes, meta), meta
        )[0]

    def add_provider(self, cmd: AddProvider, meta: Meta) -> Written:
        provider = Provider.add(cmd.staff_id, cmd.name, cmd.kind, meta)
        self.commit(provider)
        return Written(provider.id, provider.version)

    def set_working_hours(self, provider_id: UUID, cmd: SetHours, meta: Meta) -> Written:
        return self.change(provider_id, Provider, lambda p: p.set_working_hours(cmd.hours, meta))

    def record_absence(self, provider_id: UUID, cmd: RecordAbsence, meta: Meta) -> UUID:
        provider = self.load(provider_id, Provider)
        absence_id = provider.record_absence(cmd.start, cmd.end, cmd.reason, meta)
        self.commit(provider)
        return absence_id

    # The waiting list.

    def join_waitlist(self, cmd: JoinWaitlist, meta: Meta) -> Written:
        self.clinic().duration_of(cmd.appointment_type)
        wish = Wish(
            cmd.appointment_type,
            cmd.provider_id,
            tuple(cmd.weekdays),
            cmd.earliest,
            cmd.latest,
            cmd.until,
        )
        entry = WaitlistEntry.add(cmd.patient_id, wish, cmd.note, meta)
        self.commit(entry)
        return Written(entry.id, entry.version)

    def leave_waitlist(self, entry_id: UUID, cmd: LeaveWaitlist, meta: Meta) -> Written:
        entry = self.load(entry_id, WaitlistEntry)
        entry.remove(cmd.reason, meta)
        self.commit(entry)
        return Written(entry.id, entry.version)

    def _step(
        self, appointment_id: UUID, expected: int | None, change: Callable[[Appointment], None]
    ) -> Written:
        appointment = self.load(appointment_id, Appointment, expected)
        change(appointment)
        self.commit(appointment, expected_version=expected)
        return _written(appointment)

    def _ending(
        self, appointment_id: UUID, expected: int | None, change: Callable[[Appointment], None]
    ) -> Written:
        """A cancellation or no-show frees the slot in every diary that held it."""
        zone = self.zone()
        for attempt in range(ATTEMPTS):
            _back_off(attempt)
            appointment = self.load(appointment_id, Appointment, expected)
            change(appointment)
            if self._saved(appointment, *self._release(appointment, zone)):
                return _written(appointment)
        raise StaleVersion(expected, None)

    def _reserve(
        self,
        appointment: Appointment,
        slot: Slot,
        zone: ZoneInfo,
        loaded: list[Diary] | None = None,
    ) -> list[Diary]:
        known = {d.id: d for d in loaded or []}
        diaries = []
        for resource, resource_id, day in appointment.diaries(zone):
            diary = self._diary(resource, resource_id, day, known)
            diary.reserve(appointment.id, slot, f"the {resource.value}")
            diaries.append(diary)
        return diaries

    def _release(self, appointment: Appointment, zone: ZoneInfo) -> list[Diary]:
        diaries = []
        for resource, resource_id, day in appointment.diaries(zone):
            diary = self._diary(resource, resource_id, day, {})
            diary.release(appointment.id)
            diaries.append(diary)
        return diaries

    def _diary(
        self, resource: Resource, resource_id: UUID, day: date, known: dict[UUID, Diary]
    ) -> Diary:
        found = diary_id(resource, resource_id, day)
        if found in known:
            return known[found]
        try:
            stored: Diary = self.repository.get(found)
        except AggregateNotFoundError:
            return Diary(resource=resource.value, resource_id=resource_id, day=day)
        return stored

    def _saved(self, *aggregates: Appointment | Diary) -> bool:
        """Save all in one transaction; False when someone else changed one meanwhile."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            return False
        return True


def _unique(diaries: list[Diary]) -> list[Diary]:
    seen: dict[UUID, Diary] = {}
    for diary in diaries:
        seen.setdefault(diary.id, diary)
    return list(seen.values())


def _back_off(attempt: int) -> None:
    """After a lost race, wait a little, at random, so the racers do not collide again."""
    if attempt:
        time_module.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 6)))  # noqa: S311


def _written(appointment: Appointment) -> Written:
    return Written(appointment.id, appointment.version, patient_id=appointment.patient_id)
