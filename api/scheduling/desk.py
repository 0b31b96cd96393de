"""The front desk's views: the day sheet and the waiting list with its matches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Running, WrittenOut, read_your_writes, written
from api.permissions import Actor, allowed
from api.scheduling.actions import APPOINTMENTS_READ, APPOINTMENTS_WRITE
from api.scheduling.answers import DaySheetOut, WaitlistMatchesOut, WaitlistOut
from api.scheduling.book import clinic_setup, require_patient
from commands.base import Day
from commands.scheduling import JoinWaitlist, LeaveWaitlist, Scheduling
from projections.scheduling import SchedulingQueries

router = APIRouter(prefix="/api", tags=["scheduling"])
Reader = Annotated[Actor, Depends(allowed(APPOINTMENTS_READ, patient_data=True))]
Writer = Annotated[Actor, Depends(allowed(APPOINTMENTS_WRITE, patient_data=True))]


@router.get("/day-sheet", response_model=DaySheetOut, response_model_exclude_unset=True)
async def day_sheet(
    day: Day,
    request: Request,
    response: Response,
    who: Reader,
    running: Running,
    provider: UUID | None = None,
) -> dict[str, object]:
    """The day's live appointments in time order, with each patient's name and alerts."""
    book = running.get(SchedulingQueries)
    await read_your_writes(request, response, book.appointments.version_of)
    zone = ZoneInfo((await clinic_setup(running))["zone"])
    lines = await book.day_sheet(day, zone, provider)
    request.state.access.shows(lines)
    return {"day": day.isoformat(), "zone": str(zone), "items": lines}


@router.get("/waitlist", response_model=WaitlistOut, response_model_exclude_unset=True)
async def list_waitlist(
    request: Request, response: Response, who: Reader, running: Running
) -> dict[str, object]:
    book = running.get(SchedulingQueries)
    await read_your_writes(request, response, book.waitlist.version_of)
    entries = await book.waiting()
    request.state.access.shows(entries)
    return {"items": entries}


@router.post("/waitlist", status_code=201, response_model=WrittenOut)
async def join_waitlist(
    body: JoinWaitlist, request: Request, response: Response, who: Writer, running: Running
) -> dict[str, object]:
    request.state.access.patient_id = body.patient_id
    await require_patient(running, body.patient_id)
    result = await run_in_threadpool(running.get(Scheduling).join_waitlist, body, who.meta)
    return written(response, result)


@router.delete("/waitlist/{entry_id}", response_model=WrittenOut)
def leave_waitlist(
    entry_id: UUID,
    request: Request,
    response: Response,
    who: Writer,
    running: Running,
    reason: str = "",
) -> dict[str, object]:
    result = running.get(Scheduling).leave_waitlist(
        entry_id, LeaveWaitlist(reason=reason), who.meta
    )
    if result.patient_id is not None:
        request.state.access.patient_id = result.patient_id
    return written(response, result)


@router.get(
    "/waitlist/matches", response_model=WaitlistMatchesOut, response_model_exclude_unset=True
)
async def waitlist_matches(
    request: Request, response: Response, who: Reader, running: Running
) -> dict[str, object]:
    """Slots freed by cancellations, no-shows and reschedules that are still free, each with
    the waiting patients it suits, longest-waiting first."""
    book = running.get(SchedulingQueries)
    await read_your_writes(
        request, response, book.appointments.version_of, book.waitlist.version_of
    )
    matches = await book.waitlist_matches(await clinic_setup(running), datetime.now(UTC))
    # The waiting patients, and in each slot the patient whose appointment freed it.
    request.state.access.shows(matches)
    return {"items": matches}
