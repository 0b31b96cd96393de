"""`clinic demo-data`: a small, believable Spanish clinic for an empty installation.

Everything goes through the command side, as a person would do it. Each context declares its
own step (staff, the clinic's calendar and chairs, providers, patients with their history, a
week of appointments, charts and plans); the steps run in the order of their phase, and share
one `DemoClinic`: who is on the staff, which patients and chairs exist, what was made.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from domain.shared import Meta, Role

if TYPE_CHECKING:
    from clinic.platform import Platform

DEMO_ADMIN_EMAIL = "admin@sonrisa.demo"
DEMO_PASSWORD = "sonrisa-demo-dientes-sanos"  # noqa: S105 - printed for the demo's users
STAFF_DOMAIN = "sonrisa.demo"
NOT_EMPTY = "this clinic already has staff accounts; no demo data was added"


class Phase(IntEnum):
    """When a context's step runs: later phases use what earlier ones made."""

    STAFF = 1
    CLINIC = 2
    PATIENTS = 3
    APPOINTMENTS = 4
    CLINICAL = 5


@dataclass(frozen=True)
class StaffSpec:
    name: str
    login: str  # before the @; the admin's address is given
    role: Role
    provider: str | None = None  # the name on the appointment book
    chair: int = 0  # the provider's own chair


STAFF = (
    StaffSpec("Lucía Fernández Ortega", "", Role.ADMIN),
    StaffSpec("Carmen Ruiz Beltrán", "carmen.ruiz", Role.DENTIST, "Dra. Carmen Ruiz"),
    StaffSpec("Javier Morales Peña", "javier.morales", Role.DENTIST, "Dr. Javier Morales", 1),
    StaffSpec("Marta Iglesias Soto", "marta.iglesias", Role.HYGIENIST, "Marta Iglesias", 2),
    StaffSpec("Pablo Navarro Gil", "pablo.navarro", Role.RECEPTIONIST),
    StaffSpec("Elena Castro Vidal", "elena.castro", Role.AUDITOR),
    StaffSpec("Sergio Domínguez Prieto", "sergio.dominguez", Role.INVENTORY),
)


class ClinicNotEmpty(RuntimeError):
    """Demo data goes only into an empty installation, never into a real clinic."""


class DemoRefused(RuntimeError):
    """A step could not make what it meant to (the message says what); nothing after it ran."""


@dataclass
class DemoSummary:
    admin_email: str
    staff: list[tuple[str, str, str]] = field(default_factory=list)  # name, email, role
    operatories: int = 0
    appointment_types: int = 0
    providers: int = 0
    closures: list[tuple[date, str]] = field(default_factory=list)
    patients: int = 0
    history_entries: int = 0
    alerts: int = 0
    appointments: int = 0
    confirmed: int = 0
    refused: int = 0
    first_day: date | None = None
    last_day: date | None = None
    examinations: int = 0
    treatments: int = 0
    plans_accepted: int = 0
    plans_pending: int = 0
    items: int = 0
    lots: int = 0


@dataclass(frozen=True)
class Provider:
    id: UUID
    kind: str
    hours: dict[str, list[list[str]]]  # weekday: [[opens, closes], ...]
    chair: int


@dataclass
class DemoClinic:
    """One run: every command it sends is the admin's (or a dentist's), under one
    correlation id; what one step makes, the next finds here."""

    today: date
    admin_email: str
    password: str
    rng: random.Random
    summary: DemoSummary
    correlation: str = field(default_factory=lambda: str(uuid4()))
    staff_ids: list[UUID] = field(default_factory=list)
    chairs: list[UUID] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)
    patients: list[UUID] = field(default_factory=list)

    def emails(self) -> list[str]:
        return [f"{s.login}@{STAFF_DOMAIN}" if s.login else self.admin_email for s in STAFF]

    def meta(self) -> Meta:
        return Meta(str(self.staff_ids[0]), Role.ADMIN, self.correlation, str(uuid4()))

    def clinician(self) -> Meta:
        """A dentist of the demo clinic, at random: who examines, treats and plans."""
        dentists = [i for i, s in enumerate(STAFF) if s.role == Role.DENTIST]
        staff_id = self.staff_ids[self.rng.choice(dentists)]
        return Meta(str(staff_id), Role.DENTIST, self.correlation, str(uuid4()))


DemoStep = Callable[["Platform", DemoClinic], None]


def create_demo_clinic(
    platform: Platform,
    today: date,
    *,
    seed: int = 7,
    admin_email: str = DEMO_ADMIN_EMAIL,
    password: str = DEMO_PASSWORD,
) -> DemoSummary:
    """Run every declared context's step in phase order; the staff step raises
    `ClinicNotEmpty` when anyone has an account, before anything is written."""
    steps = [step for context in platform.contexts for step in context.demo]
    email = admin_email.strip().lower()
    clinic = DemoClinic(
        today=today,
        admin_email=email,
        password=password,
        rng=random.Random(seed),  # noqa: S311 - repeatable demo data, not secrets
        summary=DemoSummary(admin_email=email),
    )
    for _, step in sorted(steps, key=lambda s: s[0]):
        step(platform, clinic)
    return clinic.summary
