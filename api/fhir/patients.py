"""FHIR for the `patients` context: Patient (read, and search by DNI/NIE) and
AllergyIntolerance, from the patients' read models, as `/api/patients/{id}` and its
medical history read them."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.fhir import resources
from api.fhir.server import (
    BundleOut,
    PatientParameter,
    ResourceOut,
    base_url,
    declared,
    patient_of,
    searchset,
)
from api.permissions import CLINICAL_READ, PATIENTS_READ, Actor, allowed
from api.problems import FHIR_PREFIX
from api.routes import Read
from projections.patients import PatientQueries

router = APIRouter(prefix=FHIR_PREFIX, tags=["fhir"])
Reader = Annotated[Actor, Depends(allowed(PATIENTS_READ, patient_data=True))]
Clinician = Annotated[Actor, Depends(allowed(CLINICAL_READ, patient_data=True))]


@router.get("/Patient/{patient_id}", **declared(ResourceOut))
async def read_patient(patient_id: UUID, read: Read, who: Reader) -> dict[str, Any]:
    records = read.get(PatientQueries)
    await read.consistent(records.charts.version_of)
    chart = read.found(await records.chart(patient_id), f"Patient {patient_id}")
    return resources.patient(chart)


@router.get("/Patient", **declared(BundleOut))
async def search_patients(
    read: Read,
    who: Reader,
    identifier: Annotated[
        str, Query(max_length=120, description=f"`{resources.NATIONAL_ID_SYSTEM}|<DNI or NIE>`")
    ],
) -> dict[str, Any]:
    """Patients by their DNI or NIE: `system|value`, or the value alone."""
    system, _, value = identifier.rpartition("|")
    records = read.get(PatientQueries)
    found: list[resources.Resource] = []
    national_id = value.strip().upper()
    if system in ("", resources.NATIONAL_ID_SYSTEM) and national_id:
        for patient_id in await records.with_national_id(national_id):
            chart = await records.chart(patient_id)
            if chart is not None:
                found.append(resources.patient(chart))
    read.note("patient_ids", [p["id"] for p in found])
    return resources.searchset(base_url(read.request), found)


@router.get("/AllergyIntolerance", **declared(BundleOut))
async def search_allergies(read: Read, who: Clinician, patient: PatientParameter) -> dict[str, Any]:
    """The medical history's allergies and the alerts that name one."""
    patient_id = patient_of(patient)
    records = read.get(PatientQueries)
    await read.consistent(records.charts.version_of)
    chart = await records.chart(patient_id)
    return searchset(read, resources.allergies(chart) if chart else [], patient_id)
