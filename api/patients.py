"""HTTP for the `patients` context: translate requests into commands and queries, nothing else.

Every route here touches patient data, so every one is guarded and logged in
the access log (`patient_data=True`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api.deps import WrittenOut
from api.permissions import (
    CLINICAL_READ,
    CLINICIANS,
    PATIENTS_READ,
    Actor,
    Grants,
    allowed,
    clinical_text,
    shown_to,
)
from api.problems import Problem
from api.routes import Read, Reading, Write, WriteIfMatch, WriteMustMatch
from commands.base import Instant
from commands.patients import (
    ClearAlert,
    EndHistoryEntry,
    Patients,
    RaiseAlert,
    RecordHistoryEntry,
    RegisterPatient,
    UpdatePatient,
)
from domain.patients import HistoryKind, Language, Severity, Sex
from domain.shared import Role
from projections.patients import PatientQueries

router = APIRouter(prefix="/api", tags=["patients"])
PATIENTS_WRITE = "patients:write"  # register, correct, change contact details
CLINICAL_WRITE = "clinical:write"  # record and end history entries, alerts
GRANTS: Grants = {
    PATIENTS_WRITE: (Role.ADMIN, Role.DENTIST, Role.RECEPTIONIST),
    CLINICAL_WRITE: CLINICIANS,
}
Reader = Annotated[Actor, Depends(allowed(PATIENTS_READ, patient_data=True))]
Writer = Annotated[Actor, Depends(allowed(PATIENTS_WRITE, patient_data=True))]
Clinician = Annotated[Actor, Depends(allowed(CLINICAL_READ, patient_data=True))]
ClinicalWriter = Annotated[Actor, Depends(allowed(CLINICAL_WRITE, patient_data=True))]
AsOf = Annotated[
    Instant | None,
    Query(description="the record as it stood at this instant, rebuilt from the event store"),
]


class DirectoryEntryOut(BaseModel):
    """A patient as the directory lists them (projections/patients.py `PatientDirectory`)."""

    patient_id: str
    given_name: str
    family_name: str
    birth_date: str
    sex: Sex
    national_id: str | None
    phone: str | None
    email: str | None
    language: Language | None
    alerts: dict[str, str] = Field(description="active alerts: their codes by alert id")
    active_alerts: int
    registered_at: str
    version: int
    updated_at: str


class DirectoryPageOut(BaseModel):
    items: list[DirectoryEntryOut]
    next_cursor: str | None


class DemographicsOut(BaseModel):
    given_name: str
    family_name: str
    birth_date: str
    sex: Sex
    national_id: str | None


class AddressOut(BaseModel):
    line1: str
    line2: str | None = None
    city: str
    postal_code: str
    region: str | None = None
    country: str = "ES"


class ConsentsOut(BaseModel):
    sms: bool
    email: bool
    whatsapp: bool


class ContactOut(BaseModel):
    phone: str | None
    email: str | None
    address: AddressOut | None
    language: Language
    consents: ConsentsOut


class HistoryEntryOut(BaseModel):
    """An allergy, medication or condition in the medical history."""

    entry_id: str
    kind: HistoryKind
    description: str
    severity: Severity | None
    started_on: str | None
    notes: str | None
    recorded_at: str
    recorded_by: str | None
    ended_on: str | None
    end_reason: str | None
    active: bool


class AlertOut(BaseModel):
    alert_id: str
    code: str
    description: str | None = clinical_text("the alert in the clinician's words")
    severity: Severity
    raised_at: str


class ChartOut(BaseModel):
    """The patient's chart (projections/patients.py `PatientChart`); the medical history is
    left out for those who may not read clinical data."""

    id: str
    patient_id: str
    version: int
    demographics: DemographicsOut
    contact: ContactOut
    medical_history: list[HistoryEntryOut] | None = clinical_text("the medical history")
    alerts: list[AlertOut]
    registered_at: str
    updated_at: str


class MedicalHistoryOut(BaseModel):
    patient_id: str
    version: int
    entries: list[HistoryEntryOut]
    alerts: list[AlertOut]


class EntryWrittenOut(WrittenOut):
    entry_id: str


class AlertWrittenOut(WrittenOut):
    alert_id: str


@router.post("/patients", status_code=201, response_model=WrittenOut)
def register_patient(body: RegisterPatient, who: Writer, write: Write) -> dict[str, object]:
    result = write.get(Patients).register(body, who.meta)
    write.about(result.id)
    return write.answer(result, at="/api/patients")


@router.get("/patients", response_model=DirectoryPageOut, response_model_exclude_unset=True)
async def search_patients(
    read: Read,
    who: Reader,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, object]:
    await read.consistent(read.get(PatientQueries).directory.version_of)
    try:
        page = await read.get(PatientQueries).search(q, limit, cursor)
    except ValueError as error:
        raise Problem(400, "invalid-cursor", "The cursor is not valid", str(error)) from None
    read.note("patient_ids", [p["patient_id"] for p in page.items])
    return {"items": page.items, "next_cursor": page.next_cursor}


async def _chart(read: Reading, patient_id: UUID, as_of: datetime | None) -> dict[str, object]:
    records = read.get(PatientQueries)
    if as_of is not None:
        read.note("as_of", as_of.isoformat())
        chart = await records.chart_as_of(patient_id, as_of)
    else:
        await read.consistent(records.charts.version_of)
        chart = await records.chart(patient_id)
    return {**read.found(chart, f"patient {patient_id}"), "id": str(patient_id)}


@router.get("/patients/{patient_id}", response_model=ChartOut, response_model_exclude_unset=True)
async def get_patient(
    patient_id: UUID, read: Read, who: Reader, as_of: AsOf = None
) -> dict[str, object]:
    """The chart; the medical history only for those who may read clinical data."""
    return shown_to(who, ChartOut, await _chart(read, patient_id, as_of))


@router.put("/patients/{patient_id}", response_model=WrittenOut)
def update_patient(
    patient_id: UUID, body: UpdatePatient, who: Writer, write: WriteMustMatch
) -> dict[str, object]:
    return write.answer(write.get(Patients).update(patient_id, body, write.version, who.meta))


@router.get(
    "/patients/{patient_id}/medical-history",
    response_model=MedicalHistoryOut,
    response_model_exclude_unset=True,
)
async def get_medical_history(
    patient_id: UUID, read: Read, who: Clinician, as_of: AsOf = None
) -> dict[str, object]:
    chart = await _chart(read, patient_id, as_of)
    return {
        "patient_id": str(patient_id),
        "version": chart["version"],
        "entries": chart.get("medical_history", []),
        "alerts": chart.get("alerts", []),
    }


@router.post(
    "/patients/{patient_id}/medical-history", status_code=201, response_model=EntryWrittenOut
)
def record_history_entry(
    patient_id: UUID, body: RecordHistoryEntry, who: ClinicalWriter, write: WriteIfMatch
) -> dict[str, object]:
    result = write.get(Patients).record_history_entry(patient_id, body, who.meta, write.version)
    return write.answer(result, created="entry_id")


@router.post("/patients/{patient_id}/medical-history/{entry_id}/end", response_model=WrittenOut)
def end_history_entry(
    patient_id: UUID,
    entry_id: UUID,
    body: EndHistoryEntry,
    who: ClinicalWriter,
    write: WriteIfMatch,
) -> dict[str, object]:
    records = write.get(Patients)
    return write.answer(
        records.end_history_entry(patient_id, entry_id, body, who.meta, write.version)
    )


@router.post("/patients/{patient_id}/alerts", status_code=201, response_model=AlertWrittenOut)
def raise_alert(
    patient_id: UUID, body: RaiseAlert, who: ClinicalWriter, write: WriteIfMatch
) -> dict[str, object]:
    result = write.get(Patients).raise_alert(patient_id, body, who.meta, write.version)
    return write.answer(result, created="alert_id")


@router.post("/patients/{patient_id}/alerts/{alert_id}/clear", response_model=WrittenOut)
def clear_alert(
    patient_id: UUID, alert_id: UUID, body: ClearAlert, who: ClinicalWriter, write: WriteIfMatch
) -> dict[str, object]:
    records = write.get(Patients)
    return write.answer(records.clear_alert(patient_id, alert_id, body, who.meta, write.version))
