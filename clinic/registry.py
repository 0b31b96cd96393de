"""The one registry of what Sonrisa is made of: its contexts, read models and consumers.

The wiring (`clinic.platform`), `clinic migrate`, `clinic projections rebuild/status`,
the relay's queues and the consumer runner all read these tuples. A new read model is
one entry in `READ_MODELS`; a new context is one Application in `APPLICATIONS`.
"""

from __future__ import annotations

from commands.base import ClinicApplication
from commands.identity import Identity
from commands.patients import Patients
from commands.reminders import Reminders
from commands.scheduling import Scheduling
from commands.treatments import Treatments
from infra.eventstore import contexts_of
from projections.base import Projection
from projections.identity import StaffDirectory
from projections.patients import PatientChart, PatientDirectory
from projections.reminders import DueList, ReminderContacts
from projections.scheduling import (
    AppointmentBook,
    ClinicSetupView,
    PatientRoster,
    ProviderDirectory,
    Waitlist,
)
from projections.treatments import TreatmentChart, TreatmentList

APPLICATIONS: tuple[type[ClinicApplication], ...] = (
    Patients,
    Identity,
    Scheduling,
    Treatments,
    Reminders,
)
CONTEXTS: tuple[str, ...] = contexts_of(APPLICATIONS)

READ_MODELS: tuple[Projection, ...] = (
    PatientDirectory(),
    PatientChart(),
    StaffDirectory(),
    AppointmentBook(),
    ClinicSetupView(),
    ProviderDirectory(),
    Waitlist(),
    PatientRoster(),
    TreatmentChart(),
    TreatmentList(),
    DueList(),
    ReminderContacts(),
)


def check() -> None:
    """Every read model reads known contexts, under a name no other uses."""
    names = [p.name for p in READ_MODELS]
    if len(set(names)) != len(names):
        raise ValueError(f"two read models share a name: {sorted(names)}")
    for projection in READ_MODELS:
        unknown = set(projection.contexts) - set(CONTEXTS)
        if unknown:
            raise ValueError(f"{projection.name} reads unknown contexts {sorted(unknown)}")


check()
