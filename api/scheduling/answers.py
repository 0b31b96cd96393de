"""What scheduling answers: the appointment book's read models (projections/scheduling.py),
field by field, as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.scheduling import Status
from domain.scheduling.calendar import Weekday
from domain.scheduling.reference import ProviderKind

# Per weekday, spans of local "HH:MM" times.
Hours = dict[Weekday, list[tuple[str, str]]]


class CreatedOut(BaseModel):
    """The id of what a write added (a closure, a chair, an absence)."""

    id: str


# Reference data -------------------------------------------------------------------------------


class OpeningHoursOut(BaseModel):
    zone: str = Field(description="the clinic's IANA time zone")
    hours: Hours


class HoursSetOut(BaseModel):
    hours: Hours


class ZoneSetOut(BaseModel):
    zone: str = Field(description="the clinic's time zone")


class ClosureOut(BaseModel):
    closure_id: str
    first_day: str
    last_day: str
    reason: str


class ClosuresOut(BaseModel):
    items: list[ClosureOut]


class OperatoryOut(BaseModel):
    """A chair."""

    operatory_id: str
    name: str


class OperatoriesOut(BaseModel):
    items: list[OperatoryOut]


class AppointmentTypeOut(BaseModel):
    code: str
    name: str
    minutes: int


class AppointmentTypesOut(BaseModel):
    items: list[AppointmentTypeOut]


class TypeDefinedOut(BaseModel):
    code: str


class AbsenceOut(BaseModel):
    absence_id: str
    start: str
    end: str
    reason: str


class ProviderOut(BaseModel):
    provider_id: str
    staff_id: str
    name: str
    kind: ProviderKind
    working_hours: Hours
    absences: list[AbsenceOut]


class ProvidersOut(BaseModel):
    items: list[ProviderOut]


# Availability and appointments ----------------------------------------------------------------


class SlotOut(BaseModel):
    start: str
    end: str


class AvailabilityOut(BaseModel):
    zone: str
    slots: list[SlotOut]


class SpanOut(BaseModel):
    """Where and when an appointment was before it moved."""

    start: str
    end: str
    provider_id: str
    operatory_id: str


class CancellationOut(BaseModel):
    reason: str
    by_patient: bool
    late: bool


class AppointmentOut(BaseModel):
    """An appointment in the book; times in UTC, and in the clinic's zone as `*_local`."""

    appointment_id: str
    patient_id: str
    provider_id: str
    operatory_id: str
    start: str
    end: str
    start_local: str
    end_local: str
    appointment_type: str
    notes: str | None
    status: Status
    override_reason: str | None
    booked_at: str
    booked_by: str | None
    version: int
    updated_at: str
    freed: list[SpanOut] | None = Field(
        default=None, description="the places it left when rescheduled; absent if never moved"
    )
    cancellation: CancellationOut | None = Field(
        default=None, description="absent unless cancelled"
    )


class AppointmentPageOut(BaseModel):
    items: list[AppointmentOut]
    next: str | None = Field(description="`after` for the next page; null on the last")


# The front desk -------------------------------------------------------------------------------


class SheetLineOut(AppointmentOut):
    """A day-sheet line: an appointment with its patient's name and alert codes."""

    patient_name: str | None
    alerts: list[str]


class DaySheetOut(BaseModel):
    day: str
    zone: str
    items: list[SheetLineOut]


class WaitlistEntryOut(BaseModel):
    entry_id: str
    patient_id: str
    appointment_type: str
    provider_id: str | None
    weekdays: list[Weekday]
    earliest: str
    latest: str
    until: str | None
    note: str | None
    active: bool
    since: str
    version: int
    left_because: str | None = Field(default=None, description="absent while waiting")


class WaitlistOut(BaseModel):
    items: list[WaitlistEntryOut]


class FreedSlotOut(BaseModel):
    """A slot an appointment gave up and nobody has taken since."""

    start: str
    end: str
    provider_id: str
    operatory_id: str
    patient_id: str
    freed_by: str = Field(description="the appointment that freed it")


class WaitlistMatchOut(BaseModel):
    slot: FreedSlotOut
    candidates: list[WaitlistEntryOut]


class WaitlistMatchesOut(BaseModel):
    items: list[WaitlistMatchOut]
