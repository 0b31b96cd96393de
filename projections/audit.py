"""Reads for auditors that span contexts: a patient's full event history, as the API
(`GET /api/audit/patients/{id}/events`) and the command line (`clinic audit patient`) show it.

Each context whose records belong to patients offers its part by being a `PatientHistory`;
the auditor's history is every part, in the registry's order."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from infra.eventstore import Envelope


class PatientHistory:
    """A context's query object that can list the events of one patient's records."""

    async def patient_events(self, patient_id: UUID) -> list[Envelope]:
        """Every event of this context about the patient, oldest first."""
        raise NotImplementedError


async def patient_events(sources: Iterable[PatientHistory], patient_id: UUID) -> list[Envelope]:
    """Every event of the patient's records, context by context (each part oldest first),
    with who caused each and when."""
    return [event for source in sources for event in await source.patient_events(patient_id)]
