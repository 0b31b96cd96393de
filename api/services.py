"""What the HTTP layer is given to work with: the command side, named queries and sign-in.

Routers never see a pool or a client: they send commands to Applications and ask query
objects for read models. The entry layer builds one `Services` from the registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from commands.identity import Identity
from commands.patients import Patients
from commands.reminders import Reminders
from commands.scheduling import Scheduling
from commands.treatments import Treatments
from infra.links import LinkSigner
from infra.settings import Settings
from projections.identity import StaffQueries
from projections.patients import PatientQueries
from projections.reminders import ReminderQueries
from projections.scheduling import SchedulingQueries
from projections.treatments import TreatmentQueries
from security.access_log import AccessLog
from security.idempotency import IdempotencyKeys
from security.reminder_links import LinkUses
from security.sessions import Tokens
from security.throttle import LoginThrottle

Readiness = Callable[[], Awaitable[dict[str, str]]]


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    patients: Patients
    identity: Identity
    scheduling: Scheduling
    patient_records: PatientQueries
    staff_directory: StaffQueries
    appointment_book: SchedulingQueries
    tokens: Tokens
    throttle: LoginThrottle
    access_log: AccessLog
    idempotency: IdempotencyKeys
    readiness: Readiness
    treatments: Treatments
    treatment_records: TreatmentQueries
    reminders: Reminders
    reminder_list: ReminderQueries
    links: LinkSigner
    link_uses: LinkUses
