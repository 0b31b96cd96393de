"""Reference data the appointment book needs: the clinic's zone, hours, closures, chairs,
appointment types, and each provider's working hours and absences. Admin-managed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from domain.scheduling.calendar import Absence, BookingRules, Closure, WeeklyHours
from domain.shared import DEFAULT_ZONE, InvalidValue, Meta, TransitionRefused, require_text

CLINIC_SETUP_ID = uuid5(NAMESPACE_URL, "sonrisa:clinic-setup")


class ProviderKind(StrEnum):
    DENTIST = "dentist"
    HYGIENIST = "hygienist"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"unknown time zone {name!r}", field="zone") from None


class ClinicSetup(Aggregate):
    """The clinic's calendar and catalogue: one per installation."""

    @staticmethod
    def create_id() -> UUID:
        return CLINIC_SETUP_ID

    @event("ClinicSetUp")
    def __init__(self, zone_name: str, meta: Meta) -> None:
        self.zone_name = zone_name
        self.opening = WeeklyHours()
        self.closures: dict[UUID, Closure] = {}
        self.operatories: dict[UUID, str] = {}
        self.appointment_types: dict[str, tuple[str, int]] = {}

    @classmethod
    def start(cls, meta: Meta, zone_name: str = DEFAULT_ZONE) -> ClinicSetup:
        zone(zone_name)
        return cls(zone_name=zone_name, meta=meta)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    def set_opening_hours(self, hours: Mapping[str, Sequence[Sequence[str]]], meta: Meta) -> None:
        checked = WeeklyHours.of(hours)
        self._opening_hours_set(hours=checked.as_dict(), meta=meta)

    @event("OpeningHoursSet")
    def _opening_hours_set(self, hours: dict[str, list[list[str]]], meta: Meta) -> None:
        self.opening = WeeklyHours.of(hours)

    def add_closure(self, first_day: date, last_day: date, reason: str, meta: Meta) -> UUID:
        if last_day < first_day:
            raise InvalidValue("a closure cannot end before it starts", field="last_day")
        closure_id = uuid4()
        self._closure_added(
            closure_id=closure_id,
            first_day=first_day,
            last_day=last_day,
            reason=require_text(reason, "reason", max_length=200),
            meta=meta,
        )
        return closure_id

    @event("ClosureAdded")
    def _closure_added(
        self, closure_id: UUID, first_day: date, last_day: date, reason: str, meta: Meta
    ) -> None:
        self.closures[closure_id] = Closure(first_day, last_day, reason)

    def add_operatory(self, name: str, meta: Meta) -> UUID:
        checked = require_text(name, "operatory name", max_length=100)
        if checked in self.operatories.values():
            raise TransitionRefused(f"an operatory called {checked!r} exists")
        operatory_id = uuid4()
        self._operatory_added(operatory_id=operatory_id, name=checked, meta=meta)
        return operatory_id

    @event("OperatoryAdded")
    def _operatory_added(self, operatory_id: UUID, name: str, meta: Meta) -> None:
        self.operatories[operatory_id] = name

    def define_appointment_type(self, code: str, name: str, minutes: int, meta: Meta) -> None:
        checked = require_text(code, "code", max_length=50).lower().replace(" ", "-")
        if not 5 <= minutes <= 480 or minutes % 5:
            raise InvalidValue("a duration is 5 to 480 minutes, in steps of 5", field="minutes")
        self._type_defined(
            code=checked,
            name=require_text(name, "name", max_length=100),
            minutes=minutes,
            meta=meta,
        )

    @event("AppointmentTypeDefined")
    def _type_defined(self, code: str, name: str, minutes: int, meta: Meta) -> None:
        self.appointment_types[code] = (name, minutes)

    def duration_of(self, code: str) -> timedelta:
        if code not in self.appointment_types:
            known = ", ".join(sorted(self.appointment_types)) or "none yet"
            raise InvalidValue(
                f"unknown appointment type {code!r}; known: {known}", field="appointment_type"
            )
        return timedelta(minutes=self.appointment_types[code][1])

    def require_operatory(self, operatory_id: UUID) -> None:
        if operatory_id not in self.operatories:
            raise InvalidValue(f"operatory {operatory_id} does not exist", field="operatory_id")


class Provider(Aggregate):
    """A dentist or hygienist who sees patients, linked to their staff account."""

    @event("ProviderAdded")
    def __init__(self, staff_id: UUID, name: str, kind: str, meta: Meta) -> None:
        self.staff_id = staff_id
        self.name = name
        self.kind = kind
        self.working = WeeklyHours()
        self.absences: dict[UUID, Absence] = {}

    @classmethod
    def add(cls, staff_id: UUID, name: str, kind: str, meta: Meta) -> Provider:
        if kind not in set(ProviderKind):
            raise InvalidValue("a provider is a dentist or a hygienist", field="kind")
        return cls(
            staff_id=staff_id,
            name=require_text(name, "name", max_length=200),
            kind=ProviderKind(kind).value,
            meta=meta,
        )

    def set_working_hours(self, hours: Mapping[str, Sequence[Sequence[str]]], meta: Meta) -> None:
        checked = WeeklyHours.of(hours)
        self._working_hours_set(hours=checked.as_dict(), meta=meta)

    @event("WorkingHoursSet")
    def _working_hours_set(self, hours: dict[str, list[list[str]]], meta: Meta) -> None:
        self.working = WeeklyHours.of(hours)

    def record_absence(self, start: datetime, end: datetime, reason: str, meta: Meta) -> UUID:
        if start.tzinfo is None or end <= start:
            raise InvalidValue("an absence needs a start and a later end, with time zones")
        absence_id = uuid4()
        self._absence_recorded(
            absence_id=absence_id,
            start=start,
            end=end,
            reason=require_text(reason, "reason", max_length=200),
            meta=meta,
        )
        return absence_id

    @event("AbsenceRecorded")
    def _absence_recorded(
        self, absence_id: UUID, start: datetime, end: datetime, reason: str, meta: Meta
    ) -> None:
        self.absences[absence_id] = Absence(start, end, reason)

    def rules(self, clinic: ClinicSetup) -> BookingRules:
        return BookingRules(
            zone=clinic.zone,
            opening=clinic.opening,
            working=self.working,
            closures=tuple(clinic.closures.values()),
            absences=tuple(self.absences.values()),
        )
