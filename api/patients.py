"""HTTP for the `patients` context: translate requests into commands and queries, nothing else."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from api.deps import expected_version, meta, platform, read_your_writes, written
from api.problems import Problem
from commands.patients import (
    ClearAlert,
    EndHistoryEntry,
    RaiseAlert,
    RecordHistoryEntry,
    RegisterPatient,
    UpdatePatient,
)
from domain.shared import Meta
from infra.bootstrap import Platform
from projections.patients import search_directory

router = APIRouter(prefix="/api", tags=["patients"])
Running = Annotated[Platform, Depends(platform)]
Acting = Annotated[Meta, Depends(meta)]


class WrittenOut(BaseModel):
    id: str
    version: int


class DirectoryPageOut(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


@router.post("/patients", status_code=201, response_model=WrittenOut)
def register_patient(
    body: RegisterPatient, response: Response, running: Running, who: Acting
) -> dict[str, object]:
    result = running.patients.register(body, who)
    response.headers["Location"] = f"/api/patients/{result.id}"
    return written(response, result)


@router.get("/patients", response_model=DirectoryPageOut)
async def search_patients(
    request: Request,
    response: Response,
    running: Running,
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> dict[str, object]:
    await read_your_writes(request, response, running.directory.version_of)
    try:
        page = await search_directory(running.pool, q, limit, cursor)
    except ValueError as error:
        raise Problem(400, "invalid-cursor", "The cursor is not valid", str(error)) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


async def _chart(request: Request, response: Response, running: Platform, patient_id: UUID) -> Any:
    await read_your_writes(request, response, running.chart.version_of)
    chart = await running.chart.find(patient_id)
    if chart is None:
        raise Problem(404, "not-found", "Not found", f"patient {patient_id} does not exist")
    response.headers["ETag"] = f'"{chart["version"]}"'
    return chart


@router.get("/patients/{patient_id}")
async def get_patient(
    patient_id: UUID, request: Request, response: Response, running: Running
) -> dict[str, Any]:
    chart = await _chart(request, response, running, patient_id)
    chart["id"] = chart.pop("_id")
    return dict(chart)


@router.put("/patients/{patient_id}", response_model=WrittenOut)
def update_patient(
    patient_id: UUID,
    body: UpdatePatient,
    request: Request,
    response: Response,
    running: Running,
    who: Acting,
) -> dict[str, object]:
    version = expected_version(request, required=True)
    assert version is not None
    return written(response, running.patients.update(patient_id, body, version, who))


@router.get("/patients/{patient_id}/medical-history")
async def get_medical_history(
    patient_id: UUID, request: Request, response: Response, running: Running
) -> dict[str, Any]:
    chart = await _chart(request, response, running, patient_id)
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
    request: Request,
    response: Response,
    running: Running,
    who: Acting,
) -> dict[str, object]:
    version = expected_version(request, required=False)
    result, entry_id = running.patients.record_history_entry(patient_id, body, who, version)
    return {**written(response, result), "entry_id": str(entry_id)}


@router.post("/patients/{patient_id}/medical-history/{entry_id}/end", response_model=WrittenOut)
def end_history_entry(
    patient_id: UUID,
    entry_id: UUID,
    body: EndHistoryEntry,
    request: Request,
    response: Response,
    running: Running,
    who: Acting,
) -> dict[str, object]:
    version = expected_version(request, required=False)
    result = running.patients.end_history_entry(patient_id, entry_id, body, who, version)
    return written(response, result)


@router.post("/patients/{patient_id}/alerts", status_code=201)
def raise_alert(
    patient_id: UUID,
    body: RaiseAlert,
    request: Request,
    response: Response,
    running: Running,
    who: Acting,
) -> dict[str, object]:
    version = expected_version(request, required=False)
    result, alert_id = running.patients.raise_alert(patient_id, body, who, version)
    return {**written(response, result), "alert_id": str(alert_id)}


@router.post("/patients/{patient_id}/alerts/{alert_id}/clear", response_model=WrittenOut)
def clear_alert(
    patient_id: UUID,
    alert_id: UUID,
    body: ClearAlert,
    request: Request,
    response: Response,
    running: Running,
    who: Acting,
) -> dict[str, object]:
    version = expected_version(request, required=False)
    return written(response, running.patients.clear_alert(patient_id, alert_id, body, who, version))
