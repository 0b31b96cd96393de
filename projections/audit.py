"""Reads for auditors that span contexts: a patient's full event history, as the API
(`GET /api/audit/patients/{id}/events`) and the command line (`clinic audit patient`) show it.

Each context whose records belong to patients offers its part by being a `PatientHistory`;
the auditor's history is every part, in the registry's order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

import asyncpg
from pymongo.asynchronous.database import AsyncDatabase

from infra.eventstore import Envelope, EventStoreReader
from infra.readiness import ReadModelStates


class PatientHistory:
    """A context's query object over patients' records (read models in PostgreSQL and Mongo,
    and the event store) that can list the events of one patient's records."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        mongo: AsyncDatabase[dict[str, Any]],
        reader: EventStoreReader,
        states: ReadModelStates,
    ) -> None:
        self.pool = pool
        self.mongo = mongo
        self.reader = reader
        self.states = states

    async def patient_events(self, patient_id: UUID) -> list[Envelope]:
        """Every event of this context about the patient, oldest first."""
        raise NotImplementedError


async def patient_events(sources: Iterable[PatientHistory], patient_id: UUID) -> list[Envelope]:
    """Every event of the patient's records, context by context (each part oldest first),
    with who caused each and when."""
    return [event for source in sources for event in await source.patient_events(patient_id)]
