"""The `scheduling` context, declared: the clinic's set-up, providers, the appointment book,
the waiting list, and scheduling's own view of patients (all PostgreSQL)."""

from __future__ import annotations

from api import scheduling as http
from clinic.declaration import Context
from clinic.demo import Phase
from clinic.demo.scheduling import book_week, set_up_clinic
from commands.scheduling import Scheduling
from projections.scheduling import (
    AppointmentBook,
    ClinicSetupView,
    PatientRoster,
    ProviderDirectory,
    SchedulingQueries,
    Waitlist,
)

CONTEXT = Context(
    name="scheduling",
    application=Scheduling,
    read_models=(
        AppointmentBook(),
        ClinicSetupView(),
        ProviderDirectory(),
        Waitlist(),
        PatientRoster(),
    ),
    provides=(lambda p: SchedulingQueries(p.pool),),
    routers=http.routers,
    grants=http.GRANTS,
    demo=((Phase.CLINIC, set_up_clinic), (Phase.APPOINTMENTS, book_week)),
)
