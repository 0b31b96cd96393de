"""FHIR for the `scheduling` context: a patient's Appointments, from the appointment book, as
`GET /api/appointments?patient=` reads it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.fhir import resources
from api.fhir.server import BundleOut, PatientParameter, declared, patient_of, searchset
from api.permissions import Actor, allowed
from api.problems import FHIR_PREFIX
from api.routes import Read
from api.scheduling.actions import APPOINTMENTS_READ
from projections.scheduling import AppointmentFilter, SchedulingQueries

router = APIRouter(prefix=FHIR_PREFIX, tags=["fhir"])
BookReader = Annotated[Actor, Depends(allowed(APPOINTMENTS_READ, patient_data=True))]
PAGE = 500


@router.get("/Appointment", **declared(BundleOut))
async def search_appointments(
    read: Read, who: BookReader, patient: PatientParameter
) -> dict[str, Any]:
    """Every appointment of the patient, cancelled ones too, oldest first."""
    patient_id = patient_of(patient)
    book = read.get(SchedulingQueries)
    await read.consistent(book.appointments.version_of)
    where, after, found = AppointmentFilter(patient=patient_id), None, []
    while True:
        page = await book.appointment_page(where, after, PAGE)
        found += [resources.appointment(a) for a in page.items]
        if page.next is None:
            break
        after = page.next
    return searchset(read, found, patient_id)
