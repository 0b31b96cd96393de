"""HTTP for auditors: the patient-data access log and a patient's full event history."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from api.deps import Running
from api.permissions import AUDIT_READ, Actor, allowed
from commands.base import Instant
from projections.audit import PatientHistory
from projections.audit import patient_events as events_of

router = APIRouter(prefix="/api/audit", tags=["audit"])
# Reading the access log is itself an access: it names patients and break-glass reasons.
Auditor = Annotated[Actor, Depends(allowed(AUDIT_READ, patient_data=True))]


class AccessOut(BaseModel):
    """One entry of the patient-data access log (security/access_log.py)."""

    seq: int
    at: str
    actor_id: str | None
    actor_role: str | None
    action: str
    patient_id: str | None
    route: str
    outcome: str
    status: int
    correlation_id: str
    source_address: str | None
    reason: str | None = Field(description="the break-glass reason, when one was given")
    details: dict[str, Any]


class AccessPageOut(BaseModel):
    items: list[AccessOut]
    next_after: int | None = Field(description="`after` for the next page; null on the last")


class PatientEventOut(BaseModel):
    context: str
    aggregate_id: str
    version: int
    type: str
    at: str
    actor_id: str | None
    actor_role: str | None
    correlation_id: str
    payload: dict[str, Any]


class PatientEventsOut(BaseModel):
    patient_id: str
    events: list[PatientEventOut]


@router.get("/access", response_model=AccessPageOut)
async def access_log(
    request: Request,
    who: Auditor,
    running: Running,
    patient_id: UUID | None = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # a bigint sequence number
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, object]:
    """Who read or changed patient data, when, from where and why; oldest first."""
    intent = request.state.access
    intent.patient_id = patient_id
    query = {"patient_id": patient_id, "actor": actor, "from": since, "to": until}
    intent.details["query"] = jsonable_encoder(
        {**{k: v for k, v in query.items() if v is not None}, "after": after, "limit": limit}
    )
    entries = await running.access_log.search(
        patient_id=patient_id,
        actor=actor,
        since=since,
        until=until,
        after_seq=after,
        limit=limit,
    )
    intent.shows(entries)
    return {"items": entries, "next_after": entries[-1]["seq"] if len(entries) == limit else None}


@router.get("/patients/{patient_id}/events", response_model=PatientEventsOut)
async def patient_events(patient_id: UUID, who: Auditor, running: Running) -> dict[str, object]:
    """Every event of the patient's record, treatments, examinations and plans included,
    with who caused it and when."""
    events = await events_of(running.all_of(PatientHistory), patient_id)
    return {
        "patient_id": str(patient_id),
        "events": [
            {
                "context": e.context,
                "aggregate_id": str(e.aggregate_id),
                "version": e.version,
                "type": e.event_type,
                "at": e.timestamp.isoformat(),
                "actor_id": e.meta.get("actor_id"),
                "actor_role": e.meta.get("actor_role"),
                "correlation_id": e.correlation_id,
                "payload": e.payload,
            }
            for e in events
        ],
    }
