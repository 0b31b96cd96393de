"""The `scheduling` context, declared: the clinic's set-up, providers, the appointment book,
the waiting list, and scheduling's own view of patients (all PostgreSQL); providers' calendar
feeds and the count of their reads (tables of its own)."""

from __future__ import annotations

from api import scheduling as http
from api.fhir import scheduling as fhir
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
from security.scheduling import CalendarFeeds, FeedReads

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
    provides=(
        lambda p: SchedulingQueries(p.pool),
        lambda p: CalendarFeeds(p.pool),
        lambda p: FeedReads.of(p.pool, p.settings),
    ),
    routers=(*http.routers, fhir.router),
    grants=http.GRANTS,
    tables=(lambda p: p.get(CalendarFeeds), lambda p: p.get(FeedReads)),
    demo=((Phase.CLINIC, set_up_clinic), (Phase.APPOINTMENTS, book_week)),
)
