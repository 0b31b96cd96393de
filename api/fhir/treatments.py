"""FHIR for the `treatments` context: a patient's Procedures (recorded treatments) and
Conditions (what examinations found), from the chart's read model, as
`GET /api/patients/{id}/treatments` and `/chart` read them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.fhir import resources
from api.fhir.server import BundleOut, PatientParameter, declared, patient_of, searchset
from api.permissions import CLINICAL_READ, Actor, allowed
from api.problems import FHIR_PREFIX
from api.routes import Read
from api.treatments import TREATMENTS_READ
from projections.treatments import TreatmentQueries

router = APIRouter(prefix=FHIR_PREFIX, tags=["fhir"])
Reader = Annotated[Actor, Depends(allowed(TREATMENTS_READ, patient_data=True))]
ChartReader = Annotated[Actor, Depends(allowed(CLINICAL_READ, patient_data=True))]


@router.get("/Procedure", **declared(BundleOut))
async def search_procedures(read: Read, who: Reader, patient: PatientParameter) -> dict[str, Any]:
    """Recorded treatments, voided ones as `entered-in-error`; the clinical notes only for
    those who may read clinical data, as in /api."""
    patient_id = patient_of(patient)
    records = read.get(TreatmentQueries)
    await read.consistent(records.chart_store.version_of)
    notes = who.may(CLINICAL_READ)
    found = [resources.procedure(t, with_notes=notes) for t in await records.history(patient_id)]
    return searchset(read, found, patient_id)


@router.get("/Condition", **declared(BundleOut))
async def search_conditions(
    read: Read, who: ChartReader, patient: PatientParameter
) -> dict[str, Any]:
    """What examinations found, per tooth and surface: the chart's clinical data."""
    patient_id = patient_of(patient)
    records = read.get(TreatmentQueries)
    await read.consistent(records.chart_store.version_of)
    found = [
        condition
        for contribution in await records.contributions(patient_id)
        if contribution["kind"] == "examination"
        for condition in resources.conditions(contribution)
    ]
    return searchset(read, found, patient_id)
