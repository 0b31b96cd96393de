"""Commands on patient records and the Application that handles them: load, decide, save."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import Field, StrictBool, StringConstraints

from commands.base import ClinicApplication, Command, Day, Written
from domain.patients import (
    ContactDetails,
    Demographics,
    HistoryKind,
    Language,
    Patient,
    Severity,
    Sex,
)
from domain.shared import Meta

Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]


class AddressIn(Command):
    line1: ShortText
    line2: ShortText | None = None
    city: Annotated[str, StringConstraints(max_length=100)]
    postal_code: Annotated[str, StringConstraints(max_length=16)]
    region: Annotated[str, StringConstraints(max_length=100)] | None = None
    country: Annotated[str, StringConstraints(min_length=2, max_length=2)] = "ES"


class Consents(Command):
    sms: StrictBool = False
    email: StrictBool = False
    whatsapp: StrictBool = False


class PatientDetails(Command):
    """Everything the front desk types in about a patient."""

    given_name: Name
    family_name: Name
    birth_date: Day
    sex: Sex
    national_id: Annotated[str, StringConstraints(max_length=16)] | None = None
    phone: Annotated[str, StringConstraints(max_length=32)] | None = None
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    address: AddressIn | None = None
    language: Language = Language.SPANISH
    consents: Consents = Field(default_factory=Consents)

    def demographics(self, today: date) -> Demographics:
        return Demographics.create(
            given_name=self.given_name,
            family_name=self.family_name,
            birth_date=self.birth_date,
            sex=self.sex,
            national_id=self.national_id,
            today=today,
        )

    def contact(self) -> ContactDetails:
        return ContactDetails.create(
            phone=self.phone,
            email=self.email,
            address=self.address.model_dump() if self.address else None,
            language=self.language,
            consents=self.consents.model_dump(),
        )


class RegisterPatient(PatientDetails):
    pass


class UpdatePatient(PatientDetails):
    """A full replacement of demographics and contact details (PUT)."""


class RecordHistoryEntry(Command):
    kind: HistoryKind
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    severity: Severity | None = None
    started_on: Day | None = None
    notes: LongText | None = None


class EndHistoryEntry(Command):
    ended_on: Day
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class RaiseAlert(Command):
    code: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    severity: Severity = Severity.HIGH


class ClearAlert(Command):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class Patients(ClinicApplication):
    """The command side of the `patients` context."""

    def register(self, cmd: RegisterPatient, meta: Meta) -> Written:
        return self.create(
            lambda: Patient.register(cmd.demographics(self.today()), cmd.contact(), meta)
        )

    def update(
        self, patient_id: UUID, cmd: UpdatePatient, expected_version: int, meta: Meta
    ) -> Written:
        demographics, contact = cmd.demographics(self.today()), cmd.contact()

        def decide(patient: Patient) -> None:
            patient.correct_demographics(demographics, meta)
            patient.change_contact_details(contact, meta)

        return self.change(patient_id, Patient, decide, expected_version)

    def record_history_entry(
        self, patient_id: UUID, cmd: RecordHistoryEntry, meta: Meta, expected_version: int | None
    ) -> Written:
        """`created` is the new entry's id."""
        return self.change(
            patient_id,
            Patient,
            lambda p: p.record_history_entry(
                kind=cmd.kind,
                description=cmd.description,
                severity=cmd.severity,
                started_on=cmd.started_on,
                notes=cmd.notes,
                today=self.today(),
                meta=meta,
            ),
            expected_version,
        )

    def end_history_entry(
        self,
        patient_id: UUID,
        entry_id: UUID,
        cmd: EndHistoryEntry,
        meta: Meta,
        expected_version: int | None,
    ) -> Written:
        return self.change(
            patient_id,
            Patient,
            lambda p: p.end_history_entry(
                entry_id, ended_on=cmd.ended_on, reason=cmd.reason, today=self.today(), meta=meta
            ),
            expected_version,
        )

    def raise_alert(
        self, patient_id: UUID, cmd: RaiseAlert, meta: Meta, expected_version: int | None
    ) -> Written:
        """`created` is the new alert's id."""
        return self.change(
            patient_id,
            Patient,
            lambda p: p.raise_alert(
                code=cmd.code, description=cmd.description, severity=cmd.severity, meta=meta
            ),
            expected_version,
        )

    def clear_alert(
        self,
        patient_id: UUID,
        alert_id: UUID,
        cmd: ClearAlert,
        meta: Meta,
        expected_version: int | None,
    ) -> Written:
        return self.change(
            patient_id,
            Patient,
            lambda p: p.clear_alert(alert_id, reason=cmd.reason, meta=meta),
            expected_version,
        )
