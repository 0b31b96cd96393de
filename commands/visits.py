"""Completing an appointment with the treatments done in it: one request, two contexts.

The treatments and the appointment live in different event stores, so no one transaction
holds both. The order makes it safe instead:

1. The appointment is read and must be this patient's and ready to complete (checked in);
   otherwise the request is refused before anything is recorded.
2. The treatments are recorded with a `VisitAtCompletion` record keyed by the appointment,
   in one transaction: they are recorded once for the appointment's completion, never twice.
3. The appointment is completed.

A crash between 2 and 3 leaves the treatments recorded and the appointment checked in; the
same request sent again (with or without its Idempotency-Key) finds the treatments already
recorded, records nothing, and completes the appointment. Sent once more after both
committed, it records and changes nothing and answers as the first did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol, TypeVar
from uuid import UUID

from pydantic import Field, StrictBool

from commands.base import NotFound, StaleVersion, StoreUnavailable, Written
from commands.identity import Identity
from commands.patients import Patients
from commands.scheduling import Scheduling
from commands.treatments import RecordVisit, Treatments
from domain.patients import Patient
from domain.scheduling import Appointment
from domain.shared import InvalidValue, Meta


class VisitIn(RecordVisit):
    """A visit's treatments, and whether they complete its appointment."""

    complete: StrictBool = Field(
        default=False,
        description="also complete the appointment (checked in), in the same request",
    )

    def visit(self) -> RecordVisit:
        return RecordVisit.model_validate(self.model_dump(exclude={"complete"}))


@dataclass(frozen=True, slots=True)
class CompletedVisit:
    treatments: list[Written]
    appointment: Written


class Visits:
    """The appointment's completion carrying its treatments, across the two contexts."""

    def __init__(self, scheduling: Scheduling, treatments: Treatments) -> None:
        self.scheduling = scheduling
        self.treatments = treatments

    def record(self, appointment_id: UUID, cmd: RecordVisit, meta: Meta) -> list[Written]:
        """The visit's treatments, without completing the appointment (before or after)."""
        self._patients(appointment_id, cmd)
        return self.treatments.record_visit(cmd, meta, appointment_id)

    def _patients(self, appointment_id: UUID, cmd: RecordVisit) -> Appointment:
        """The appointment, which must exist and be this patient's."""
        appointment = self.scheduling.appointment(appointment_id)
        if appointment.patient_id != cmd.patient_id:
            raise InvalidValue(
                f"appointment {appointment_id} is not this patient's", field="patient_id"
            )
        return appointment

    def complete(
        self, appointment_id: UUID, cmd: RecordVisit, meta: Meta, expected_version: int | None
    ) -> CompletedVisit:
        appointment = self._patients(appointment_id, cmd)
        if self.treatments.visit_at_completion(appointment_id) is None:
            # Nothing recorded yet: refuse now, before anything is, if it cannot complete.
            appointment.require_completable()
            if expected_version is not None and appointment.version != expected_version:
                raise StaleVersion(expected_version, appointment.version)
        treatments = self.treatments.record_at_completion(cmd, meta, appointment_id)
        try:
            completed = self.scheduling.complete_once(appointment_id, meta)
        except StoreUnavailable as error:
            raise StoreUnavailable(
                "the treatments were recorded but the appointment could not be completed: "
                "send the same request again to finish (nothing will be recorded twice)"
            ) from error
        return CompletedVisit(treatments, completed)


T = TypeVar("T")


class Running(Protocol):
    """Whatever runs the contexts' applications (the platform)."""

    def application(self, kind: type[T]) -> T: ...


@dataclass(frozen=True, slots=True)
class ClinicalReferences:
    """The facts a clinical record names (its patient, appointment and provider), read from
    the aggregates of the contexts that own them (ADR 24). A patient or an appointment once
    recorded never stops existing and never changes hands, so a check made here still holds
    when the record is saved; the read models could lag behind a registration."""

    patients: Patients
    scheduling: Scheduling
    identity: Identity

    @classmethod
    def of(cls, running: Running) -> ClinicalReferences:
        return cls(
            running.application(Patients),
            running.application(Scheduling),
            running.application(Identity),
        )

    def birth_date(self, patient_id: UUID) -> date:
        return self.patients.load(patient_id, Patient).demographics.birth_date

    def patient_of(self, appointment_id: UUID) -> UUID:
        return self.scheduling.appointment(appointment_id).patient_id

    def roles_of(self, staff_id: UUID) -> frozenset[str]:
        try:
            staff = self.identity.staff(staff_id)
        except NotFound:
            return frozenset()
        return frozenset(staff.roles) if staff.active else frozenset()
