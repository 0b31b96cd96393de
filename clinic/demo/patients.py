"""The demo clinic's patients: forty Madrileños of every age, some with a medical history and
an alert, and always Rocío Núñez, whom the browser tests and the docs find by typing "nunez"."""

from __future__ import annotations

import random
import unicodedata
from datetime import date
from uuid import UUID

from clinic.demo import DemoClinic
from clinic.platform import Platform
from commands.patients import (
    AddressIn,
    Consents,
    Patients,
    RaiseAlert,
    RecordHistoryEntry,
    RegisterPatient,
)
from domain.patients import DNI_LETTERS

PATIENTS = 40
FEMALE = "Lucía María Carmen Sofía Martina Paula Julia Elena Isabel Ana Laura Raquel Inés Andrea"
FEMALE += " Noelia Rocío Begoña Pilar Ángela Nuria Irene Alba Mercedes Concepción Dolores"
MALE = "José Antonio Manuel Francisco Javier David Daniel Carlos Alejandro Miguel Sergio Pablo"
MALE += " Jesús Andrés Álvaro Rubén Adrián Iván Óscar Raúl Ramón Joaquín Tomás Íñigo Hugo"
SURNAMES = (
    "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín Jiménez "
    "Hernández Díaz Moreno Muñoz Álvarez Romero Gutiérrez Navarro Torres Domínguez Vázquez "
    "Ramos Gil Ramírez Serrano Blanco Molina Suárez Ortega Delgado Castro Ortiz Rubio Marín "
    "Sanz Medina Garrido Cortés Castillo Santos Lozano Guerrero Cano Prieto Méndez "
    "Calvo Gallego Vidal León Peña Herrera Márquez Cabrera Fuentes Carrasco Ibáñez Pascual"
)
STREETS = (
    "Calle de Alcalá; Calle de Atocha; Calle de Bravo Murillo; Paseo de las Delicias; "
    "Calle de Embajadores; Calle de Príncipe de Vergara; Avenida de la Albufera; "
    "Calle de López de Hoyos; Calle de Toledo; Calle de Fuencarral; Calle de Arturo Soria"
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

# One patient is always there, with the same alert: the browser tests and the docs find her
# by typing "nunez". (No random patient is a Núñez, so she is the only one.)
NUNEZ = ("Rocío", "Núñez Carrasco", date(1961, 4, 17), "female")
NUNEZ_CHART = 2  # anticoagulated: the alert a desk must see before an extraction

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


def register_patients(platform: Platform, clinic: DemoClinic) -> None:
    nunez = _register_nunez(platform, clinic)
    registered = [_register_patient(platform, clinic) for _ in range(PATIENTS - 1)]
    adults = [patient_id for patient_id, age in registered if age >= 30]
    charts = [c for n, c in enumerate(CLINICAL) if n != NUNEZ_CHART]
    _record_chart(platform, clinic, nunez, *CLINICAL[NUNEZ_CHART])
    for patient_id, (entries, alert) in zip(
        clinic.rng.sample(adults, min(len(adults), len(charts))), charts, strict=False
    ):
        _record_chart(platform, clinic, patient_id, entries, alert)
    clinic.patients = [nunez, *(patient_id for patient_id, _ in registered)]


def _register_nunez(platform: Platform, clinic: DemoClinic) -> UUID:
    given, family, born, sex = NUNEZ
    command = RegisterPatient(
        given_name=given,
        family_name=family,
        birth_date=born,
        sex=sex,
        national_id="50123456" + DNI_LETTERS[50123456 % 23],
        phone="+34 612 345 678",
        email="rocio.nunez@example.com",
        address=AddressIn(
            line1="Calle de Alcalá, 120", line2="3º B", city="Madrid", postal_code="28009"
        ),
        consents=Consents(sms=True, email=True, whatsapp=False),
    )
    clinic.summary.patients += 1
    return platform.application(Patients).register(command, clinic.meta()).id


def _register_patient(platform: Platform, clinic: DemoClinic) -> tuple[UUID, int]:
    rng = clinic.rng
    sex = rng.choice(("female", "male"))
    given = rng.choice((FEMALE if sex == "female" else MALE).split())
    family = " ".join(rng.sample(SURNAMES.split(), 2))
    age = rng.randint(6, 17) if rng.random() < 0.15 else rng.randint(18, 88)
    email = None
    if rng.random() < 0.55:
        login = f"{_ascii(given)}.{_ascii(family.split()[0])}{rng.randint(1, 99)}"
        email = f"{login}@{rng.choice(EMAIL_DOMAINS)}"
    command = RegisterPatient(
        given_name=given,
        family_name=family,
        birth_date=date(clinic.today.year - age, rng.randint(1, 12), rng.randint(1, 28)),
        sex=sex,
        national_id=_dni(rng) if age >= 14 else None,  # children often have none yet
        phone=_mobile(rng),
        email=email,
        address=AddressIn(
            line1=f"{rng.choice(STREETS.split('; '))}, {rng.randint(1, 180)}",
            line2=rng.choice((None, f"{rng.randint(1, 8)}º {rng.choice('ABCD')}")),
            city="Madrid",
            postal_code=f"280{rng.randint(1, 55):02d}",
            region="Madrid",
        ),
        consents=Consents(
            sms=rng.random() < 0.8, email=email is not None, whatsapp=rng.random() < 0.5
        ),
    )
    clinic.summary.patients += 1
    return platform.application(Patients).register(command, clinic.meta()).id, age


def _record_chart(
    platform: Platform,
    clinic: DemoClinic,
    patient_id: UUID,
    entries: list[HistoryItem],
    alert: tuple[str, str, str] | None,
) -> None:
    for years_ago, (kind, description, severity, notes) in enumerate(entries, start=2):
        entry = {"kind": kind, "description": description, "severity": severity}
        started_on = date(clinic.today.year - years_ago, 3, 1)
        command = RecordHistoryEntry.model_validate(
            {**entry, "notes": notes, "started_on": started_on}
        )
        platform.application(Patients).record_history_entry(
            patient_id, command, clinic.meta(), None
        )
        clinic.summary.history_entries += 1
    if alert is not None:
        code, description, severity = alert
        raised = RaiseAlert.model_validate(
            {"code": code, "description": description, "severity": severity}
        )
        platform.application(Patients).raise_alert(patient_id, raised, clinic.meta(), None)
        clinic.summary.alerts += 1


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "")


def _mobile(rng: random.Random) -> str:
    return f"+34 6{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"


def _dni(rng: random.Random) -> str:
    number = rng.randint(10_000_000, 79_999_999)
    return f"{number:08d}{DNI_LETTERS[number % 23]}"
