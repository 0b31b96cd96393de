"""The appointment book over HTTP: reference data, appointments and their lifecycle,
availability."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime

from api.deps import expected_version, platform, read_your_writes, written
from api.permissions import (
    APPOINTMENTS_OVERRIDE,
    APPOINTMENTS_READ,
    APPOINTMENTS_WRITE,
    SCHEDULE_MANAGE,
    SCHEDULE_READ,
    Actor,
    allowed,
)
from api.problems import Problem
from commands.base import Written
from commands.scheduling import (
    AddClosure,
    AddOperatory,
    AddProvider,
    BookAppointment,
    Cancel,
    DefineAppointmentType,
    RecordAbsence,
    Reschedule,
    SetHours,
)
from domain.scheduling import Slot
from domain.scheduling.availability import free_slots
from domain.scheduling.calendar import Absence, BookingRules, Closure, WeeklyHours
from domain.scheduling.reference import CLINIC_SETUP_ID
from infra.bootstrap import Platform
from projections.scheduling import LIVE

router = APIRouter(prefix="/api", tags=["scheduling"])
Running = Annotated[Platform, Depends(platform)]
Viewer = Annotated[Actor, Depends(allowed(SCHEDULE_READ))]
Manager = Annotated[Actor, Depends(allowed(SCHEDULE_MANAGE))]
BookReader = Annotated[Actor, Depends(allowed(APPOINTMENTS_READ, patient_data=True))]
Booker = Annotated[Actor, Depends(allowed(APPOINTMENTS_WRITE, patient_data=True))]
Status = Literal["booked", "confirmed", "checked_in", "completed", "cancelled", "no_show"]


async def clinic_setup(running: Platform, request: Request | None = None) -> dict[str, Any]:
    if request is not None:
        await read_your_writes(request, Response(), running.clinic_setup.version_of)
    found = await running.clinic_setup.get(CLINIC_SETUP_ID)
    if found is None:
        raise Problem(
            404,
            "not-found",
            "The clinic is not set up",
            "an admin sets opening hours, chairs and appointment types first",
        )
    return found.document


# Reference data -------------------------------------------------------------------------------


@router.get("/clinic/hours")
async def get_hours(who: Viewer, request: Request, running: Running) -> dict[str, Any]:
    setup = await clinic_setup(running, request)
    return {"zone": setup["zone"], "hours": setup["opening_hours"]}


@router.put("/clinic/hours")
def set_hours(body: SetHours, who: Manager, response: Response, running: Running) -> dict[str, Any]:
    written(response, running.scheduling.set_opening_hours(body, who.meta))
    return {"hours": body.hours}


@router.get("/closures")
async def list_closures(who: Viewer, request: Request, running: Running) -> dict[str, Any]:
    return {"items": (await clinic_setup(running, request))["closures"]}


@router.post("/closures", status_code=201)
def add_closure(
    body: AddClosure, who: Manager, response: Response, running: Running
) -> dict[str, str]:
    result, closure_id = running.scheduling.add_closure(body, who.meta)
    written(response, result)
    return {"id": str(closure_id)}


@router.get("/operatories")
async def list_operatories(who: Viewer, request: Request, running: Running) -> dict[str, Any]:
    return {"items": (await clinic_setup(running, request))["operatories"]}


@router.post("/operatories", status_code=201)
def add_operatory(
    body: AddOperatory, who: Manager, response: Response, running: Running
) -> dict[str, str]:
    result, operatory_id = running.scheduling.add_operatory(body, who.meta)
    written(response, result)
    return {"id": str(operatory_id)}


@router.get("/appointment-types")
async def list_types(who: Viewer, request: Request, running: Running) -> dict[str, Any]:
    return {"items": (await clinic_setup(running, request))["appointment_types"]}


@router.post("/appointment-types", status_code=201)
def define_type(
    body: DefineAppointmentType, who: Manager, response: Response, running: Running
) -> dict[str, str]:
    written(response, running.scheduling.define_appointment_type(body, who.meta))
    return {"code": body.code}


@router.get("/providers")
async def list_providers(who: Viewer, running: Running) -> dict[str, Any]:
    providers = [v.document for v in (await running.providers.dump()).values()]
    return {"items": sorted(providers, key=lambda p: p["name"].casefold())}


@router.post("/providers", status_code=201)
def add_provider(
    body: AddProvider, who: Manager, response: Response, running: Running
) -> dict[str, object]:
    return written(response, running.scheduling.add_provider(body, who.meta))


@router.put("/providers/{provider_id}/working-hours")
def set_working_hours(
    provider_id: UUID, body: SetHours, who: Manager, response: Response, running: Running
) -> dict[str, object]:
    return written(response, running.scheduling.set_working_hours(provider_id, body, who.meta))


@router.post("/providers/{provider_id}/absences", status_code=201)
def record_absence(
    provider_id: UUID, body: RecordAbsence, who: Manager, running: Running
) -> dict[str, str]:
    return {"id": str(running.scheduling.record_absence(provider_id, body, who.meta))}


# Availability ---------------------------------------------------------------------------------


def _rules(setup: dict[str, Any], provider: dict[str, Any]) -> BookingRules:
    return BookingRules(
        zone=ZoneInfo(setup["zone"]),
        opening=WeeklyHours.of(setup["opening_hours"]),
        working=WeeklyHours.of(provider["working_hours"]),
        closures=tuple(
            Closure(
                date.fromisoformat(c["first_day"]), date.fromisoformat(c["last_day"]), c["reason"]
            )
            for c in setup["closures"]
        ),
        absences=tuple(
            Absence(
                datetime.fromisoformat(a["start"]), datetime.fromisoformat(a["end"]), a["reason"]
            )
            for a in provider["absences"]
        ),
    )


@router.get("/availability")
async def availability(
    who: Viewer,
    request: Request,
    running: Running,
    provider: UUID,
    operatory: UUID,
    type: Annotated[str, Query(max_length=50)],
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
) -> dict[str, Any]:
    """Free slots that fit the type's duration for this provider and chair, in the clinic's zone."""
    if end <= start or end - start > timedelta(days=31):
        raise Problem(
            400,
            "invalid-window",
            "The window is not valid",
            "`to` must be after `from`, at most 31 days later",
        )
    setup = await clinic_setup(running, request)
    types = {t["code"]: t["minutes"] for t in setup["appointment_types"]}
    if type not in types:
        raise Problem(
            422,
            "invalid-data",
            "Unknown appointment type",
            f"known types: {', '.join(sorted(types))}",
        )
    found = await running.providers.get(provider)
    if found is None:
        raise Problem(404, "not-found", "Not found", f"provider {provider} does not exist")
    rows = await running.pool.fetch(
        "SELECT starts_at, ends_at FROM appointments WHERE status = ANY($1::text[]) "
        "AND (provider_id = $2 OR operatory_id = $3) AND starts_at < $5 AND ends_at > $4",
        list(LIVE),
        provider,
        operatory,
        start,
        end,
    )
    rules = _rules(setup, found.document)
    busy = [Slot(r["starts_at"], r["ends_at"]) for r in rows]
    slots = free_slots(rules, busy, timedelta(minutes=types[type]), start, end)
    return {
        "zone": setup["zone"],
        "slots": [
            {
                "start": s.start.astimezone(rules.zone).isoformat(),
                "end": s.end.astimezone(rules.zone).isoformat(),
            }
            for s in slots
        ],
    }


# Appointments ---------------------------------------------------------------------------------


def local_times(appointment: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """Stored in UTC, shown in the clinic's zone as well: `start_local`, `end_local`."""
    return {
        **appointment,
        "start_local": datetime.fromisoformat(appointment["start"]).astimezone(zone).isoformat(),
        "end_local": datetime.fromisoformat(appointment["end"]).astimezone(zone).isoformat(),
    }


async def _zone(running: Platform) -> ZoneInfo:
    found = await running.clinic_setup.get(CLINIC_SETUP_ID)
    return ZoneInfo(found.document["zone"]) if found else ZoneInfo("UTC")


def _book_subject(request: Request, patient_id: str | UUID) -> None:
    request.state.access.patient_id = UUID(str(patient_id))


@router.post("/appointments", status_code=201)
def book(
    body: BookAppointment, request: Request, response: Response, who: Booker, running: Running
) -> dict[str, object]:
    _book_subject(request, body.patient_id)
    result = running.scheduling.book(body, who.meta, may_override=who.may(APPOINTMENTS_OVERRIDE))
    response.headers["Location"] = f"/api/appointments/{result.id}"
    return written(response, result)


@router.get("/appointments")
async def list_appointments(
    request: Request,
    who: BookReader,
    running: Running,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    provider: UUID | None = None,
    operatory: UUID | None = None,
    patient: UUID | None = None,
    status: Status | None = None,
    after: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The book, oldest first; `after` is the `next` of the previous page."""
    cursor_start, cursor_id = _cursor(after)
    rows = await running.pool.fetch(
        "SELECT aggregate_id, starts_at, document FROM appointments WHERE "
        "($1::timestamptz IS NULL OR ends_at > $1) AND ($2::timestamptz IS NULL OR starts_at < $2) "
        "AND ($3::uuid IS NULL OR provider_id = $3) AND ($4::uuid IS NULL OR operatory_id = $4) "
        "AND ($5::uuid IS NULL OR patient_id = $5) AND ($6::text IS NULL OR status = $6) "
        "AND ($7::timestamptz IS NULL OR (starts_at, aggregate_id) > ($7, $8)) "
        "ORDER BY starts_at, aggregate_id LIMIT $9",
        start,
        end,
        provider,
        operatory,
        patient,
        status,
        cursor_start,
        cursor_id,
        limit + 1,
    )
    page = rows[:limit]
    request.state.access.patient_id = patient
    request.state.access.details["patient_ids"] = sorted(
        {r["document"]["patient_id"] for r in page}
    )
    last = page[-1] if len(rows) > limit else None
    zone = await _zone(running)
    return {
        "items": [local_times(r["document"], zone) for r in page],
        "next": f"{last['starts_at'].isoformat()}|{last['aggregate_id']}" if last else None,
    }


def _cursor(after: str | None) -> tuple[datetime | None, UUID | None]:
    if not after:
        return None, None
    try:
        moment, _, ident = after.partition("|")
        return datetime.fromisoformat(moment), UUID(ident)
    except ValueError:
        raise Problem(
            400,
            "invalid-cursor",
            "The cursor is not valid",
            "`after` must be the `next` of a previous page",
        ) from None


async def _appointment(
    request: Request, response: Response, running: Platform, appointment_id: UUID
) -> dict[str, Any]:
    await read_your_writes(request, response, running.appointments.version_of)
    found = await running.pool.fetchval(
        "SELECT document FROM appointments WHERE aggregate_id = $1", appointment_id
    )
    if found is None:
        raise Problem(404, "not-found", "Not found", f"appointment {appointment_id} does not exist")
    _book_subject(request, found["patient_id"])
    response.headers["ETag"] = f'"{found["version"]}"'
    return local_times(found, await _zone(running))


@router.get("/appointments/{appointment_id}")
async def get_appointment(
    appointment_id: UUID, request: Request, response: Response, who: BookReader, running: Running
) -> dict[str, Any]:
    return await _appointment(request, response, running, appointment_id)


def _touched(request: Request, result: Written) -> Written:
    """Logs the patient the appointment command touched, as the command reported it."""
    if result.patient_id is not None:
        _book_subject(request, result.patient_id)
    return result


@router.put("/appointments/{appointment_id}")
def reschedule(
    appointment_id: UUID,
    body: Reschedule,
    request: Request,
    response: Response,
    who: Booker,
    running: Running,
) -> dict[str, object]:
    version = expected_version(request, required=True)
    result = running.scheduling.reschedule(appointment_id, body, who.meta, version)
    return written(response, _touched(request, result))


@router.delete("/appointments/{appointment_id}")
def cancel(
    appointment_id: UUID,
    request: Request,
    response: Response,
    who: Booker,
    running: Running,
    reason: Annotated[str, Query(max_length=500)] = "",
    by_patient: bool = False,
) -> dict[str, object]:
    """Cancels (records AppointmentCancelled); an appointment is never erased."""
    version = expected_version(request, required=False)
    command = Cancel(reason=reason, by_patient=by_patient)
    result = running.scheduling.cancel(appointment_id, command, who.meta, version)
    return written(response, _touched(request, result))


def _transition(step: str) -> Any:
    def change(
        appointment_id: UUID, request: Request, response: Response, who: Booker, running: Running
    ) -> dict[str, object]:
        version = expected_version(request, required=False)
        result: Written = getattr(running.scheduling, step)(appointment_id, who.meta, version)
        return written(response, _touched(request, result))

    return change


for _path, _step in (
    ("confirm", "confirm"),
    ("check-in", "check_in"),
    ("complete", "complete"),
    ("no-show", "mark_no_show"),
):
    router.add_api_route(
        f"/appointments/{{appointment_id}}/{_path}",
        _transition(_step),
        methods=["POST"],
        name=_step,
    )
