"""Reads for auditors that span contexts: a patient's full event history, as the API
(`GET /api/audit/patients/{id}/events`) and the command line (`clinic audit patient`) show it."""

from __future__ import annotations

from uuid import UUID

from infra.eventstore import Envelope
from projections.patients import PatientQueries
from projections.treatments import TreatmentQueries


async def patient_events(
    patients: PatientQueries, treatments: TreatmentQueries, patient_id: UUID
) -> list[Envelope]:
    """Every event of the patient's record, then those of their treatments, examinations and
    plans (each part oldest first), with who caused each and when."""
    return [*await patients.history(patient_id), *await treatments.events(patient_id)]
