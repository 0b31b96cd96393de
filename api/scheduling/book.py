"""The appointment book over HTTP: reference data, appointments and their lifecycle,
availability."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from api.deps import WrittenOut
from api.permissions import Actor, allowed
from api.problems import Problem
from api.routes import Read, Reading, Write, WriteIfMatch, WriteMustMatch
from api.scheduling.actions import (
    APPOINTMENTS_OVERRIDE,
    APPOINTMENTS_READ,
    APPOINTMENTS_WRITE,
    SCHEDULE_MANAGE,
    SCHEDULE_READ,
)
from api.scheduling.answers import (
    AppointmentOut,
    AppointmentPageOut,
    AppointmentTypesOut,
    AvailabilityOut,
    ClosuresOut,
    CreatedOut,
    HoursSetOut,
    OpeningHoursOut,
    OperatoriesOut,
    ProvidersOut,
    TypeDefinedOut,
    ZoneSetOut,
)
from api.services import Services
from commands.base import Instant, Written
from commands.scheduling import (
    AddClosure,
    AddOperatory,
    AddProvider,
    BookAppointment,
    Cancel,
    DefineAppointmentType,
    RecordAbsence,
    Reschedule,
    Scheduling,
    SetHours,
    SetUpClinic,
)
from domain.scheduling import Status
from domain.scheduling.availability import free_slots
from projections.scheduling import AppointmentFilter, SchedulingQueries, local_times

router = APIRouter(prefix="/api", tags=["scheduling"])
NEW_PATIENT_WAIT = 1.0  # seconds; the patients' events reach scheduling in tens of ms
Viewer = Annotated[Actor, Depends(allowed(SCHEDULE_READ))]
Manager = Annotated[Actor, Depends(allowed(SCHEDULE_MANAGE))]
BookReader = Annotated[Actor, Depends(allowed(APPOINTMENTS_READ, patient_data=True))]
Booker = Annotated[Actor, Depends(allowed(APPOINTMENTS_WRITE, patient_data=True))]


async def clinic_setup(running: Services) -> dict[str, Any]:
    found = await running.get(SchedulingQueries).clinic_setup()
    if found is None:
        raise Problem(
            404,
            "not-found",
            "The clinic is not set up",
            "an admin sets opening hours, chairs and appointment types first",
        )
    return found


# Reference data -------------------------------------------------------------------------------


async def _setup(read: Reading) -> dict[str, Any]:
    """The clinic's setup as the client's own writes left it."""
    await read.consistent(read.get(SchedulingQueries).setup.version_of)
    return await clinic_setup(read.running)


@router.get("/clinic/hours", response_model=OpeningHoursOut)
async def get_hours(who: Viewer, read: Read) -> dict[str, object]:
    setup = await _setup(read)
    return {"zone": setup["zone"], "hours": setup["opening_hours"]}


@router.put("/clinic/hours", response_model=HoursSetOut)
def set_hours(body: SetHours, who: Manager, write: Write) -> dict[str, object]:
    write.wrote(write.get(Scheduling).set_opening_hours(body, who.meta))
    return {"hours": body.hours}


@router.put("/clinic/zone", response_model=ZoneSetOut)
def set_up_clinic(body: SetUpClinic, who: Manager, write: Write) -> dict[str, object]:
    """Sets the clinic up in its time zone (Europe/Madrid unless chosen here, before anything
    else: opening hours, chairs or types made first set the clinic up in the default)."""
    write.wrote(write.get(Scheduling).set_up_clinic(body, who.meta))
    return {"zone": body.zone.strip()}


@router.get("/closures", response_model=ClosuresOut)
async def list_closures(who: Viewer, read: Read) -> dict[str, object]:
    return {"items": (await _setup(read))["closures"]}


@router.post("/closures", status_code=201, response_model=CreatedOut)
def add_closure(body: AddClosure, who: Manager, write: Write) -> dict[str, str]:
    result = write.wrote(write.get(Scheduling).add_closure(body, who.meta))
    return {"id": str(result.created)}


@router.get("/operatories", response_model=OperatoriesOut)
async def list_operatories(who: Viewer, read: Read) -> dict[str, object]:
    return {"items": (await _setup(read))["operatories"]}


@router.post("/operatories", status_code=201, response_model=CreatedOut)
def add_operatory(body: AddOperatory, who: Manager, write: Write) -> dict[str, str]:
    result = write.wrote(write.get(Scheduling).add_operatory(body, who.meta))
    return {"id": str(result.created)}


@router.get("/appointment-types", response_model=AppointmentTypesOut)
async def list_types(who: Viewer, read: Read) -> dict[str, object]:
    return {"items": (await _setup(read))["appointment_types"]}


@router.post("/appointment-types", status_code=201, response_model=TypeDefinedOut)
def define_type(body: DefineAppointmentType, who: Manager, write: Write) -> dict[str, str]:
    write.wrote(write.get(Scheduling).define_appointment_type(body, who.meta))
    return {"code": body.code}


@router.get("/providers", response_model=ProvidersOut)
async def list_providers(who: Viewer, read: Read) -> dict[str, object]:
    book = read.get(SchedulingQueries)
    await read.consistent(book.providers.version_of)
    return {"items": await book.provider_list()}


@router.post("/providers", status_code=201, response_model=WrittenOut)
def add_provider(body: AddProvider, who: Manager, write: Write) -> dict[str, object]:
    return write.answer(write.get(Scheduling).add_provider(body, who.meta))


@router.put("/providers/{provider_id}/working-hours", response_model=WrittenOut)
def set_working_hours(
    provider_id: UUID, body: SetHours, who: Manager, write: Write
) -> dict[str, object]:
    return write.answer(write.get(Scheduling).set_working_hours(provider_id, body, who.meta))


@router.post("/providers/{provider_id}/absences", status_code=201, response_model=CreatedOut)
def record_absence(
    provider_id: UUID, body: RecordAbsence, who: Manager, write: Write
) -> dict[str, str]:
    result = write.wrote(write.get(Scheduling).record_absence(provider_id, body, who.meta))
    return {"id": str(result.created)}


# Availability ---------------------------------------------------------------------------------


@router.get("/availability", response_model=AvailabilityOut)
async def availability(
    who: Viewer,
    read: Read,
    provider: UUID,
    operatory: UUID,
    type: Annotated[str, Query(max_length=50)],
    start: Annotated[Instant, Query(alias="from")],
    end: Annotated[Instant, Query(alias="to")],
) -> dict[str, object]:
    """Free slots that fit the type's duration for this provider and chair, in the clinic's zone."""
    if end <= start or end - start > timedelta(days=31):
        raise Problem(
            400,
            "invalid-window",
            "The window is not valid",
            "`to` must be after `from`, at most 31 days later",
        )
    book = read.get(SchedulingQueries)
    await read.consistent(
        book.setup.version_of, book.providers.version_of, book.appointments.version_of
    )
    setup = await clinic_setup(read.running)
    types = {t["code"]: t["minutes"] for t in setup["appointment_types"]}
    if type not in types:
        raise Problem(
            422,
            "invalid-data",
            "Unknown appointment type",
            f"known types: {', '.join(sorted(types))}",
        )
    found = await book.provider(provider)
    if found is None:
        raise Problem(404, "not-found", "Not found", f"provider {provider} does not exist")
    rules = book.booking_rules(setup, found)
    busy = await book.busy(provider, operatory, start, end)
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


async def require_patient(running: Services, patient_id: UUID) -> None:
    """Scheduling books only patients it knows, from its own view of the patients' events;
    one registered a moment ago is given a second to reach that view."""
    if not await running.get(SchedulingQueries).patient_exists(patient_id, wait=NEW_PATIENT_WAIT):
        raise Problem(
            422,
            "unknown-patient",
            "Unknown patient",
            f"patient {patient_id} is not registered at this clinic: register them first",
            field="patient_id",
        )


@router.post("/appointments", status_code=201, response_model=WrittenOut)
async def book(body: BookAppointment, who: Booker, write: Write) -> dict[str, object]:
    write.about(body.patient_id)
    await require_patient(write.running, body.patient_id)
    result = await run_in_threadpool(
        write.get(Scheduling).book, body, who.meta, may_override=who.may(APPOINTMENTS_OVERRIDE)
    )
    return write.answer(result, at="/api/appointments")


@router.get("/appointments", response_model=AppointmentPageOut, response_model_exclude_unset=True)
async def list_appointments(
    read: Read,
    who: BookReader,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
    provider: UUID | None = None,
    operatory: UUID | None = None,
    patient: UUID | None = None,
    status: Status | None = None,
    after: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, object]:
    """The book, oldest first; `after` is the `next` of the previous page."""
    book = read.get(SchedulingQueries)
    await read.consistent(book.appointments.version_of)
    read.about(patient)
    where = AppointmentFilter(start, end, provider, operatory, patient, status)
    try:
        page = await book.appointment_page(where, after, limit)
    except ValueError:
        raise Problem(
            400,
            "invalid-cursor",
            "The cursor is not valid",
            "`after` must be the `next` of a previous page",
        ) from None
    read.note("patient_ids", page.patient_ids)
    zone = await book.zone()
    return {"items": [local_times(a, zone) for a in page.items], "next": page.next}


@router.get(
    "/appointments/{appointment_id}",
    response_model=AppointmentOut,
    response_model_exclude_unset=True,
)
async def get_appointment(appointment_id: UUID, who: BookReader, read: Read) -> dict[str, object]:
    book = read.get(SchedulingQueries)
    await read.consistent(book.appointments.version_of)
    found = read.found(await book.appointment(appointment_id), f"appointment {appointment_id}")
    return local_times(found, await book.zone())


@router.put("/appointments/{appointment_id}", response_model=WrittenOut)
def reschedule(
    appointment_id: UUID, body: Reschedule, who: Booker, write: WriteMustMatch
) -> dict[str, object]:
    appointments = write.get(Scheduling)
    return write.answer(appointments.reschedule(appointment_id, body, who.meta, write.version))


@router.delete("/appointments/{appointment_id}", response_model=WrittenOut)
def cancel(
    appointment_id: UUID,
    who: Booker,
    write: WriteIfMatch,
    reason: Annotated[str, Query(max_length=500)] = "",
    by_patient: bool = False,
) -> dict[str, object]:
    """Cancels (records AppointmentCancelled); an appointment is never erased."""
    command = Cancel(reason=reason, by_patient=by_patient)
    appointments = write.get(Scheduling)
    return write.answer(appointments.cancel(appointment_id, command, who.meta, write.version))


def _transition(step: str) -> Any:
    def change(appointment_id: UUID, who: Booker, write: WriteIfMatch) -> dict[str, object]:
        result: Written = getattr(write.get(Scheduling), step)(
            appointment_id, who.meta, write.version
        )
        return write.answer(result)

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
        response_model=WrittenOut,
    )
