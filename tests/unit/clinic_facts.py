"""What the treatments context's unit tests know of the other contexts, without them: the
facts `commands.treatments.References` reads from the patients, scheduling and identity
aggregates in the running platform (`commands.visits.ClinicalReferences`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID, uuid4

from commands.base import NotFound
from commands.treatments import Treatments

BORN = date(1980, 5, 17)


@dataclass
class ClinicFacts:
    """Every patient exists, born on `BORN`; appointments and staff are the ones listed."""

    appointments: dict[UUID, UUID] = field(default_factory=dict)  # appointment -> patient
    staff: dict[UUID, frozenset[str]] = field(default_factory=dict)

    def book(self, patient_id: UUID) -> UUID:
        """A new appointment for the patient."""
        appointment_id = uuid4()
        self.appointments[appointment_id] = patient_id
        return appointment_id

    def birth_date(self, patient_id: UUID) -> date:
        return BORN

    def patient_of(self, appointment_id: UUID) -> UUID:
        if appointment_id not in self.appointments:
            raise NotFound(f"appointment {appointment_id} does not exist")
        return self.appointments[appointment_id]

    def roles_of(self, staff_id: UUID) -> frozenset[str]:
        return self.staff.get(staff_id, frozenset())


@contextmanager
def treatments_knowing(facts: ClinicFacts, now: datetime) -> Iterator[Treatments]:
    """The treatments application in memory, on a fixed clock, checking records against
    `facts`."""
    app = Treatments(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: now)
    app.refer_with(facts)
    try:
        yield app
    finally:
        app.close()
