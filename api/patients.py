"""HTTP for the `patients` context: translate requests into commands and queries, nothing else.

Every route here touches patient data, so every one is guarded and logged in
the access log (`patient_data=True`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from api.deps import OptionalVersion, RequiredVersion, Running, read_your_writes, written
from api.permissions import (
    CLINICAL_READ,
    CLINICIANS,
    PATIENTS_READ,
    Actor,
    Grants,
    allowed,
)
from api.problems import Problem
from api.services import Services
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


class WrittenOut(BaseModel):
    id: str
    version: int


class DirectoryPageOut(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


def _subject(request: Request, patient_id: UUID) -> None:
    request.state.access.patient_id = patient_id


@router.post("/patients", status_code=201, response_model=WrittenOut)
def register_patient(
    body: RegisterPatient, request: Request, response: Response, running: Running, who: Writer
) -> dict[str, object]:
    result = running.get(Patients).register(body, who.meta)
    _subject(request, result.id)
    response.headers["Location"] = f"/api/patients/{result.id}"
    return written(response, result)


@router.get("/patients", response_model=DirectoryPageOut)
async def search_patients(
    request: Request,
    response: Response,
    running: Running,
    who: Reader,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, object]:
    await read_your_writes(request, response, running.get(PatientQueries).directory.version_of)
    try:
        page = await running.get(PatientQueries).search(q, limit, cursor)
    except ValueError as error:
        raise Problem(400, "invalid-cursor", "The cursor is not valid", str(error)) from None
    request.state.access.details["patient_ids"] = [p["patient_id"] for p in page.items]
    return {"items": page.items, "next_cursor": page.next_cursor}


async def _chart(
    request: Request,
    response: Response,
    running: Services,
    patient_id: UUID,
    as_of: datetime | None,
) -> dict[str, Any]:
    records = running.get(PatientQueries)
    if as_of is not None:
        request.state.access.details["as_of"] = as_of.isoformat()
        chart = await records.chart_as_of(patient_id, as_of)
    else:
        await read_your_writes(request, response, records.charts.version_of)
        chart = await records.chart(patient_id)
    if chart is None:
        raise Problem(404, "not-found", "Not found", f"patient {patient_id} does not exist")
    response.headers["ETag"] = f'"{chart["version"]}"'
    return {**chart, "id": str(patient_id)}


@router.get("/patients/{patient_id}")
async def get_patient(
    patient_id: UUID,
    request: Request,
    response: Response,
    running: Running,
    who: Reader,
    as_of: AsOf = None,
) -> dict[str, Any]:
    """The chart; the medical history only for those who may read clinical data."""
    chart = await _chart(request, response, running, patient_id, as_of)
    if not who.may(CLINICAL_READ):
        chart.pop("medical_history", None)
    return chart


@router.put("/patients/{patient_id}", response_model=WrittenOut)
def update_patient(
    patient_id: UUID,
    body: UpdatePatient,
    response: Response,
    running: Running,
    who: Writer,
    version: RequiredVersion,
) -> dict[str, object]:
    return written(response, running.get(Patients).update(patient_id, body, version, who.meta))


@router.get("/patients/{patient_id}/medical-history")
async def get_medical_history(
    patient_id: UUID,
    request: Request,
    response: Response,
    running: Running,
    who: Clinician,
    as_of: AsOf = None,
) -> dict[str, Any]:
    chart = await _chart(request, response, running, patient_id, as_of)
    return {
        "patient_id": str(patient_id),
        "version": chart["version"],
        "entries": chart.get("medical_history", []),
        "alerts": chart.get("alerts", []),
    }


@router.post("/patients/{patient_id}/medical-history", status_code=201)
def record_history_entry(
    patient_id: UUID,
    body: RecordHistoryEntry,
    response: Response,
    running: Running,
    who: ClinicalWriter,
    version: OptionalVersion,
) -> dict[str, object]:
    result = running.get(Patients).record_history_entry(patient_id, body, who.meta, version)
    return {**written(response, result), "entry_id": str(result.created)}


@router.post("/patients/{patient_id}/medical-history/{entry_id}/end", response_model=WrittenOut)
def end_history_entry(
    patient_id: UUID,
    entry_id: UUID,
    body: EndHistoryEntry,
    response: Response,
    running: Running,
    who: ClinicalWriter,
    version: OptionalVersion,
) -> dict[str, object]:
    result = running.get(Patients).end_history_entry(patient_id, entry_id, body, who.meta, version)
    return written(response, result)


@router.post("/patients/{patient_id}/alerts", status_code=201)
def raise_alert(
    patient_id: UUID,
    body: RaiseAlert,
    response: Response,
    running: Running,
    who: ClinicalWriter,
    version: OptionalVersion,
) -> dict[str, object]:
    result = running.get(Patients).raise_alert(patient_id, body, who.meta, version)
    return {**written(response, result), "alert_id": str(result.created)}


@router.post("/patients/{patient_id}/alerts/{alert_id}/clear", response_model=WrittenOut)
def clear_alert(
    patient_id: UUID,
    alert_id: UUID,
    body: ClearAlert,
    response: Response,
    running: Running,
    who: ClinicalWriter,
    version: OptionalVersion,
) -> dict[str, object]:
    result = running.get(Patients).clear_alert(patient_id, alert_id, body, who.meta, version)
    return written(response, result)
