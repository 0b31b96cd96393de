"""The front desk's views: the day sheet and the waiting list with its matches."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response

from api.deps import platform, written
from api.permissions import APPOINTMENTS_READ, APPOINTMENTS_WRITE, Actor, allowed
from api.scheduling.book import clinic_setup, local_times
from commands.scheduling import JoinWaitlist, LeaveWaitlist
from domain.scheduling.waitlist import Wish
from infra.bootstrap import Platform
from projections.scheduling import LIVE

router = APIRouter(prefix="/api", tags=["scheduling"])
Running = Annotated[Platform, Depends(platform)]
Reader = Annotated[Actor, Depends(allowed(APPOINTMENTS_READ, patient_data=True))]
Writer = Annotated[Actor, Depends(allowed(APPOINTMENTS_WRITE, patient_data=True))]


@router.get("/day-sheet")
async def day_sheet(
    day: date, request: Request, who: Reader, running: Running, provider: UUID | None = None
) -> dict[str, Any]:
    """The day's live appointments in time order, with each patient's name and alerts."""
    zone = ZoneInfo((await clinic_setup(running, request))["zone"])
    start = datetime.combine(day, time(0), zone)
    rows = await running.pool.fetch(
        "SELECT a.document AS appointment, p.document AS patient FROM appointments a "
        "LEFT JOIN patient_directory p ON p.aggregate_id = a.patient_id "
        "WHERE a.starts_at >= $1 AND a.starts_at < $2 AND a.status = ANY($3::text[]) "
        "AND ($4::uuid IS NULL OR a.provider_id = $4) ORDER BY a.starts_at, a.aggregate_id",
        start,
        start + timedelta(days=1),
        list(LIVE),
        provider,
    )
    request.state.access.details["patient_ids"] = sorted(
        {r["appointment"]["patient_id"] for r in rows}
    )
    return {"day": day.isoformat(), "zone": str(zone), "items": [_line(r, zone) for r in rows]}


def _line(row: Any, zone: ZoneInfo) -> dict[str, Any]:
    patient = row["patient"] or {}
    return {
        **local_times(row["appointment"], zone),
        "patient_name": " ".join(
            filter(None, (patient.get("given_name"), patient.get("family_name")))
        )
        or None,
        "alerts": sorted(patient.get("alerts", {}).values()),
    }


@router.get("/waitlist")
async def list_waitlist(request: Request, who: Reader, running: Running) -> dict[str, Any]:
    entries = await _active(running)
    request.state.access.details["patient_ids"] = sorted({e["patient_id"] for e in entries})
    return {"items": entries}


@router.post("/waitlist", status_code=201)
def join_waitlist(
    body: JoinWaitlist, request: Request, response: Response, who: Writer, running: Running
) -> dict[str, object]:
    request.state.access.patient_id = body.patient_id
    return written(response, running.scheduling.join_waitlist(body, who.meta))


@router.delete("/waitlist/{entry_id}")
def leave_waitlist(
    entry_id: UUID,
    request: Request,
    response: Response,
    who: Writer,
    running: Running,
    reason: str = "",
) -> dict[str, object]:
    result = running.scheduling.leave_waitlist(entry_id, LeaveWaitlist(reason=reason), who.meta)
    return written(response, result)


async def _active(running: Platform) -> list[dict[str, Any]]:
    rows = await running.pool.fetch(
        "SELECT document FROM waitlist WHERE active ORDER BY since, aggregate_id"
    )
    return [r["document"] for r in rows]


@router.get("/waitlist/matches")
async def waitlist_matches(request: Request, who: Reader, running: Running) -> dict[str, Any]:
    """Slots freed by cancellations, no-shows and reschedules that are still free, each with
    the waiting patients it suits, longest-waiting first."""
    setup = await clinic_setup(running, request)
    zone, minutes = (
        ZoneInfo(setup["zone"]),
        {t["code"]: t["minutes"] for t in setup["appointment_types"]},
    )
    entries = await _active(running)
    matches: list[dict[str, Any]] = []
    for slot in await _freed_slots(running):
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        candidates = [
            e
            for e in entries
            if e["patient_id"] != slot["patient_id"]
            and _wish(e).fits(
                UUID(slot["provider_id"]), start, end, minutes.get(e["appointment_type"], 0), zone
            )
        ]
        if candidates:
            matches.append({"slot": slot, "candidates": candidates})
    request.state.access.details["patient_ids"] = sorted(
        {c["patient_id"] for m in matches for c in m["candidates"]}
    )
    return {"items": matches}


def _wish(entry: dict[str, Any]) -> Wish:
    return Wish(
        appointment_type=entry["appointment_type"],
        provider_id=UUID(entry["provider_id"]) if entry.get("provider_id") else None,
        weekdays=tuple(entry["weekdays"]),
        earliest=time.fromisoformat(entry["earliest"]),
        latest=time.fromisoformat(entry["latest"]),
        until=date.fromisoformat(entry["until"]) if entry.get("until") else None,
    )


async def _freed_slots(running: Platform) -> list[dict[str, Any]]:
    """Future slots an appointment left, where the provider and chair are still free."""
    now = datetime.now(UTC)
    rows = await running.pool.fetch(
        "SELECT document FROM appointments WHERE ends_at > $1 AND (status = ANY($2::text[]) "
        "OR document ? 'freed')",
        now,
        ["cancelled", "no_show"],
    )
    freed = []
    for row in rows:
        doc: dict[str, Any] = row["document"]
        keys = ("start", "end", "provider_id", "operatory_id")
        spans = [{key: freed[key] for key in keys} for freed in doc.get("freed", [])]
        if doc["status"] in ("cancelled", "no_show"):
            spans.append({key: doc[key] for key in keys})
        for span in spans:
            slot = {**span, "patient_id": doc["patient_id"], "freed_by": doc["appointment_id"]}
            if datetime.fromisoformat(span["start"]) > now and await _still_free(running, slot):
                freed.append(slot)
    return sorted(freed, key=lambda s: s["start"])


async def _still_free(running: Platform, slot: dict[str, Any]) -> bool:
    taken = await running.pool.fetchval(
        "SELECT count(*) FROM appointments WHERE status = ANY($1::text[]) "
        "AND (provider_id = $2 OR operatory_id = $3) AND starts_at < $5 AND ends_at > $4",
        list(LIVE),
        UUID(slot["provider_id"]),
        UUID(slot["operatory_id"]),
        datetime.fromisoformat(slot["start"]),
        datetime.fromisoformat(slot["end"]),
    )
    return int(taken) == 0
