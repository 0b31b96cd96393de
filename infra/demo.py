"""`clinic demo-data`: a small, believable Spanish clinic for an empty installation.

Everything goes through the command side, as a person would do it: staff, the clinic's
calendar and chairs, providers, patients with their history, and a week of appointments.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from uuid import UUID, uuid4

from commands.identity import RegisterStaff, RegistrationClosed, RoleName
from commands.patients import (
    AddressIn,
    Consents,
    RaiseAlert,
    RecordHistoryEntry,
    RegisterPatient,
)
from commands.scheduling import (
    AddClosure,
    AddOperatory,
    AddProvider,
    BookAppointment,
    DefineAppointmentType,
    SetHours,
)
from domain.identity import check_password
from domain.scheduling import OutsideHours, SlotTaken
from domain.shared import Meta
from infra.bootstrap import Platform

DEMO_ADMIN_EMAIL = "admin@sonrisa.demo"
DEMO_PASSWORD = "sonrisa-demo-dientes-sanos"  # noqa: S105 - printed for the demo's users
STAFF_DOMAIN = "sonrisa.demo"
OCCUPANCY = 0.6
PATIENTS = 40

SPLIT = [["09:00", "14:00"], ["16:00", "20:00"]]
MORNING, AFTERNOON = [SPLIT[0]], [SPLIT[1]]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
OPENING = {day: SPLIT for day in WEEKDAYS}
CHAIRS = ("Gabinete 1", "Gabinete 2", "Gabinete 3")
TYPES = {  # code: (name, minutes)
    "check-up": ("Revisión", 30),
    "cleaning": ("Limpieza", 45),
    "filling": ("Empaste", 60),
    "root-canal": ("Endodoncia", 90),
    "extraction": ("Extracción", 45),
    "whitening": ("Blanqueamiento", 60),
}
# What each kind of provider spends the week on (relative weights).
MIX = {
    "dentist": {"check-up": 6, "filling": 6, "root-canal": 2, "extraction": 3, "whitening": 1},
    "hygienist": {"cleaning": 7, "check-up": 2, "whitening": 1},
}
NOTES = {
    "check-up": ["Primera visita", "Revisión semestral", "Molestias al masticar"],
    "cleaning": ["Limpieza anual", "Sangrado de encías al cepillarse"],
    "filling": ["Caries en 36", "Empaste en 14 y 15", "Sustituir empaste antiguo en 46"],
    "root-canal": ["Endodoncia en 26, primera sesión", "Dolor intenso en 47"],
    "extraction": ["Extracción del 38 (cordal)", "Resto radicular en 25"],
    "whitening": ["Blanqueamiento en consulta"],
}


@dataclass(frozen=True)
class StaffSpec:
    name: str
    email: str
    role: RoleName
    provider: str | None = None  # the name on the appointment book
    hours: dict[str, list[list[str]]] = field(default_factory=dict)
    chair: int = 0


STAFF = (
    StaffSpec("Lucía Fernández Ortega", "", "admin"),
    StaffSpec(
        "Carmen Ruiz Beltrán",
        "carmen.ruiz",
        "dentist",
        "Dra. Carmen Ruiz",
        {**{d: SPLIT for d in WEEKDAYS[:4]}, "friday": MORNING},
        chair=0,
    ),
    StaffSpec(
        "Javier Morales Peña",
        "javier.morales",
        "dentist",
        "Dr. Javier Morales",
        {"monday": SPLIT, "tuesday": AFTERNOON, "wednesday": SPLIT, "thursday": AFTERNOON}
        | {"friday": SPLIT},
        chair=1,
    ),
    StaffSpec(
        "Marta Iglesias Soto",
        "marta.iglesias",
        "hygienist",
        "Marta Iglesias (higienista)",
        {d: MORNING for d in WEEKDAYS},
        chair=2,
    ),
    StaffSpec("Pablo Navarro Gil", "pablo.navarro", "receptionist"),
    StaffSpec("Elena Castro Vidal", "elena.castro", "auditor"),
)

FEMALE = "Lucía María Carmen Sofía Martina Paula Julia Elena Isabel Ana Laura Raquel Inés Andrea"
FEMALE += " Noelia Rocío Begoña Pilar Ángela Nuria Irene Alba Mercedes Concepción Dolores"
MALE = "José Antonio Manuel Francisco Javier David Daniel Carlos Alejandro Miguel Sergio Pablo"
MALE += " Jesús Andrés Álvaro Rubén Adrián Iván Óscar Raúl Ramón Joaquín Tomás Íñigo Hugo"
SURNAMES = (
    "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez "
    "Hernández Díaz Moreno Muñoz Álvarez Romero Gutiérrez Navarro Torres Domínguez Vázquez "
    "Ramos Gil Ramírez Serrano Blanco Molina Suárez Ortega Delgado Castro Ortiz Rubio Marín "
    "Sanz Núñez Medina Garrido Cortés Castillo Santos Lozano Guerrero Cano Prieto Méndez "
    "Calvo Gallego Vidal León Peña Herrera Márquez Cabrera Fuentes Carrasco Ibáñez Pascual"
).split()
STREETS = (
    "Calle de Alcalá",
    "Calle de Atocha",
    "Calle de Bravo Murillo",
    "Paseo de las Delicias",
    "Calle de Embajadores",
    "Calle de Príncipe de Vergara",
    "Avenida de la Albufera",
    "Calle de López de Hoyos",
    "Calle de Toledo",
    "Calle de Fuencarral",
    "Calle de Arturo Soria",
    "Calle de Ibiza",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

# (history entries, alert) for the patients whose chart should say something.
HistoryItem = tuple[str, str, str | None, str | None]  # kind, description, severity, notes
CLINICAL: tuple[tuple[list[HistoryItem], tuple[str, str, str] | None], ...] = (
    (
        [("allergy", "Alergia a la penicilina", "high", "Urticaria generalizada con amoxicilina")],
        ("penicillin_allergy", "Alérgico a penicilinas: usar clindamicina o azitromicina", "high"),
    ),
    (
        [("allergy", "Alergia al látex", "high", "Reacción de contacto con guantes")],
        ("latex_allergy", "Alergia al látex: guantes de nitrilo y dique sin látex", "high"),
    ),
    (
        [
            ("medication", "Acenocumarol (Sintrom) 4 mg", "moderate", "Fibrilación auricular"),
            ("condition", "Fibrilación auricular", "moderate", None),
        ],
        ("anticoagulated", "Anticoagulado: pedir INR reciente antes de extracciones", "high"),
    ),
    (
        [
            ("condition", "Diabetes mellitus tipo 2", "moderate", None),
            ("medication", "Metformina 850 mg", "low", "Dos veces al día"),
        ],
        None,
    ),
    (
        [
            ("condition", "Diabetes mellitus tipo 1", "moderate", None),
            ("medication", "Insulina glargina", "moderate", None),
        ],
        ("diabetes", "Diabético insulinodependiente: citar tras el desayuno", "moderate"),
    ),
    ([("allergy", "Alergia a la penicilina", "moderate", None)], None),
    ([("medication", "Apixabán (Eliquis) 5 mg", "moderate", "Prótesis valvular")], None),
    ([("condition", "Hipertensión arterial", "low", "Controlada con enalapril")], None),
)


class ClinicNotEmpty(RuntimeError):
    """Demo data goes only into an empty installation, never into a real clinic."""


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


@dataclass(frozen=True)
class _Provider:
    id: UUID
    kind: str
    hours: dict[str, list[list[str]]]
    chair: int


def create_demo_clinic(
    platform: Platform,
    today: date,
    *,
    seed: int = 7,
    admin_email: str = DEMO_ADMIN_EMAIL,
    password: str = DEMO_PASSWORD,
) -> DemoSummary:
    """Fill an empty installation; raises `ClinicNotEmpty` when anyone has an account."""
    if platform.identity.has_staff():
        raise ClinicNotEmpty("this clinic already has staff accounts: no demo data added")
    rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not secrets
    correlation = str(uuid4())
    summary = DemoSummary(admin_email=admin_email.strip().lower())
    staff = [
        (spec, spec.email and f"{spec.email}@{STAFF_DOMAIN}" or summary.admin_email)
        for spec in STAFF
    ]
    for spec, email in staff:  # refuse a weak password before anything is written
        check_password(password, name=spec.name, email=email)
    admin_id = _register_staff(platform, staff, password, correlation, summary)

    def meta() -> Meta:
        return Meta(str(admin_id), "admin", correlation, str(uuid4()))

    chairs = _set_up_clinic(platform, today, meta, summary)
    providers = [
        _add_provider(platform, spec, staff_id, meta)
        for spec, staff_id in summary_staff_ids(platform, staff)
        if spec.provider
    ]
    summary.providers = len(providers)
    patients = _register_patients(platform, today, rng, meta, summary)
    _book_week(platform, today, rng, meta, providers, chairs, patients, summary)
    return summary


def _register_staff(
    platform: Platform,
    staff: list[tuple[StaffSpec, str]],
    password: str,
    correlation: str,
    summary: DemoSummary,
) -> UUID:
    operator = Meta("cli", "server-operator", correlation, str(uuid4()))
    (admin, admin_email), *others = staff
    command = RegisterStaff(name=admin.name, email=admin_email, roles=["admin"], password=password)
    try:
        admin_id = platform.identity.register(command, operator, first_admin=True).id
    except RegistrationClosed:
        raise ClinicNotEmpty("this clinic already has staff accounts: no demo data added") from None
    summary.staff.append((admin.name, admin_email, admin.role))
    for spec, email in others:
        meta = Meta(str(admin_id), "admin", correlation, str(uuid4()))
        command = RegisterStaff(name=spec.name, email=email, roles=[spec.role], password=password)
        platform.identity.register(command, meta)
        summary.staff.append((spec.name, email, spec.role))
    return admin_id


def summary_staff_ids(
    platform: Platform, staff: list[tuple[StaffSpec, str]]
) -> list[tuple[StaffSpec, UUID]]:
    """Each spec with the id its account got (looked up by email, as signing in does)."""
    found = []
    for spec, email in staff:
        member = platform.identity.authenticate_lookup(email) if False else None  # noqa: SIM108
        del member
        found.append((spec, _staff_id(platform, email)))
    return found
