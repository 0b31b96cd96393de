"""The front desk's views: the day sheet and the waiting list with its matches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from api.deps import WrittenOut
from api.permissions import Actor, allowed
from api.routes import Read, Write
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
    day: Day, who: Reader, read: Read, provider: UUID | None = None
) -> dict[str, object]:
    """The day's live appointments in time order, with each patient's name and alerts."""
    book = read.get(SchedulingQueries)
    await read.consistent(book.appointments.version_of)
    zone = ZoneInfo((await clinic_setup(read.running))["zone"])
    lines = await book.day_sheet(day, zone, provider)
    read.shows(lines)
    return {"day": day.isoformat(), "zone": str(zone), "items": lines}


@router.get("/waitlist", response_model=WaitlistOut, response_model_exclude_unset=True)
async def list_waitlist(who: Reader, read: Read) -> dict[str, object]:
    book = read.get(SchedulingQueries)
    await read.consistent(book.waitlist.version_of)
    entries = await book.waiting()
    read.shows(entries)
    return {"items": entries}


@router.post("/waitlist", status_code=201, response_model=WrittenOut)
async def join_waitlist(body: JoinWaitlist, who: Writer, write: Write) -> dict[str, object]:
    write.about(body.patient_id)
    await require_patient(write.running, body.patient_id)
    return write.answer(
        await run_in_threadpool(write.get(Scheduling).join_waitlist, body, who.meta)
    )


# `:uuid`, so /api/waitlist/matches is never taken for an entry (DELETE there answers 405).
@router.delete("/waitlist/{entry_id:uuid}", response_model=WrittenOut)
def leave_waitlist(
    entry_id: UUID, who: Writer, write: Write, reason: Annotated[str, Query(max_length=200)] = ""
) -> dict[str, object]:
    waitlist = write.get(Scheduling)
    return write.answer(waitlist.leave_waitlist(entry_id, LeaveWaitlist(reason=reason), who.meta))


@router.get(
    "/waitlist/matches", response_model=WaitlistMatchesOut, response_model_exclude_unset=True
)
async def waitlist_matches(who: Reader, read: Read) -> dict[str, object]:
    """Slots freed by cancellations, no-shows and reschedules that are still free, each with
    the waiting patients it suits, longest-waiting first."""
    book = read.get(SchedulingQueries)
    await read.consistent(book.appointments.version_of, book.waitlist.version_of)
    matches = await book.waitlist_matches(await clinic_setup(read.running), datetime.now(UTC))
    # The waiting patients, and in each slot the patient whose appointment freed it.
    read.shows(matches)
    return {"items": matches}
