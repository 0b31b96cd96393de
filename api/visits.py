"""HTTP for completing a visit, a process across two contexts: the treatments done at an
appointment are recorded, and the appointment may be completed in the same request."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import Field

from api.deps import WrittenOut
from api.permissions import Actor, allowed
from api.problems import Problem
from api.routes import WriteIfMatch, written_out
from api.scheduling.actions import APPOINTMENTS_WRITE
from api.treatments import TREATMENTS_WRITE
from commands.scheduling import Scheduling
from commands.treatments import Treatments
from commands.visits import VisitIn, Visits

router = APIRouter(prefix="/api", tags=["treatments"])
Recorder = Annotated[Actor, Depends(allowed(TREATMENTS_WRITE, patient_data=True))]


class VisitWrittenOut(WrittenOut):
    """The first treatment written (its id and version), every treatment, and the appointment
    when the same request completed it."""

    items: list[WrittenOut]
    appointment: WrittenOut | None = Field(default=None, description="with `complete: true`")


@router.post(
    "/appointments/{appointment_id}/treatments",
    status_code=201,
    response_model=VisitWrittenOut,
    response_model_exclude_unset=True,
)
def record_visit(
    appointment_id: UUID, body: VisitIn, who: Recorder, write: WriteIfMatch
) -> dict[str, object]:
    """Everything done at one appointment (which must be this patient's), each treatment
    linked to it: all of it is recorded, or none. With `complete: true` the same request
    also completes the appointment (it must be checked in, else nothing is recorded;
    `If-Match` is the appointment's version); sent again, it records nothing twice and
    finishes the job."""
    write.about(body.patient_id)
    visits = Visits(write.get(Scheduling), write.get(Treatments))
    if not body.complete:
        results = visits.record(appointment_id, body.visit(), who.meta)
        return {**write.answer(results[0]), "items": [written_out(r) for r in results]}
    if not who.may(APPOINTMENTS_WRITE):
        raise Problem(
            403, "forbidden", "Not allowed", f"your role may not do '{APPOINTMENTS_WRITE}'"
        )
    done = visits.complete(appointment_id, body.visit(), who.meta, write.version)
    return {
        **write.answer(done.treatments[0]),
        "items": [written_out(r) for r in done.treatments],
        "appointment": written_out(done.appointment),
    }
