"""`clinic demo-data`: a small, believable Spanish clinic for an empty installation.

Everything goes through the command side, as a person would do it: staff, the clinic's
calendar and chairs, providers, patients with their history, and a week of appointments.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID, uuid4

from clinic.platform import Platform
from commands.base import Written
from commands.identity import RegisterStaff, RegistrationClosed
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
from commands.treatments import (
    AcceptPlan,
    DraftPlan,
    FindingIn,
    PlanItemIn,
    RecordExamination,
    RecordTreatment,
)
from domain.identity import Role, check_password
from domain.scheduling import OutsideHours, SlotTaken
from domain.scheduling.calendar import WORKING_WEEK
from domain.scheduling.reference import ProviderKind
from domain.shared import Meta
from domain.treatments import TreatmentPlan

DEMO_ADMIN_EMAIL = "admin@sonrisa.demo"
DEMO_PASSWORD = "sonrisa-demo-dientes-sanos"  # noqa: S105 - printed for the demo's users
STAFF_DOMAIN = "sonrisa.demo"
OCCUPANCY = 0.6
PATIENTS = 40

SPLIT = [["09:00", "14:00"], ["16:00", "20:00"]]
MORNING, AFTERNOON = [SPLIT[0]], [SPLIT[1]]
WEEKDAYS = tuple(day.value for day in WORKING_WEEK)
# Weekend mornings are for urgent care, so the demo clinic is open every day: whatever day
# it is, tomorrow can be booked (the web app's browser tests rely on it).
WEEKEND = {"saturday": [["10:00", "14:00"]], "sunday": [["10:00", "13:00"]]}
OPENING = {**{day: SPLIT for day in WEEKDAYS}, **WEEKEND}
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
    login: str  # before the @; the admin's address is given
    role: Role
    provider: str | None = None  # the name on the appointment book
    hours: dict[str, list[list[str]]] = field(default_factory=dict)
    chair: int = 0  # the provider's own chair


CARMEN_HOURS = {**{d: SPLIT for d in WEEKDAYS[:4]}, "friday": MORNING}
JAVIER_HOURS = {
    **{d: AFTERNOON if d in ("tuesday", "thursday") else SPLIT for d in WEEKDAYS},
    **WEEKEND,  # Dr. Morales covers urgent care at weekends
}
MARTA_HOURS = {d: MORNING for d in WEEKDAYS}  # the hygienist works mornings only
STAFF = (
    StaffSpec("Lucía Fernández Ortega", "", Role.ADMIN),
    StaffSpec("Carmen Ruiz Beltrán", "carmen.ruiz", Role.DENTIST, "Dra. Carmen Ruiz", CARMEN_HOURS),
    StaffSpec(
        "Javier Morales Peña", "javier.morales", Role.DENTIST, "Dr. Javier Morales", JAVIER_HOURS, 1
    ),
    StaffSpec(
        "Marta Iglesias Soto", "marta.iglesias", Role.HYGIENIST, "Marta Iglesias", MARTA_HOURS, 2
    ),
    StaffSpec("Pablo Navarro Gil", "pablo.navarro", Role.RECEPTIONIST),
    StaffSpec("Elena Castro Vidal", "elena.castro", Role.AUDITOR),
)

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
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

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


NOT_EMPTY = "this clinic already has staff accounts; no demo data was added"


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
    examinations: int = 0
    treatments: int = 0
    plans_accepted: int = 0
    plans_pending: int = 0


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
        raise ClinicNotEmpty(NOT_EMPTY)
    email = admin_email.strip().lower()
    emails = [f"{s.login}@{STAFF_DOMAIN}" if s.login else email for s in STAFF]
    for spec, address in zip(STAFF, emails, strict=True):  # refuse before anything is written
        check_password(password, name=spec.name, email=address)
    demo = _Demo(platform, today, seed, DemoSummary(admin_email=email))
    demo.register_staff(emails, password)
    chairs = demo.set_up_clinic()
    providers = [
        demo.add_provider(spec, staff_id)
        for spec, staff_id in zip(STAFF, demo.staff_ids, strict=True)
        if spec.provider
    ]
    patients = demo.register_patients()
    demo.book_week(providers, chairs, patients)
    demo.chart_and_plan(patients)
    return demo.summary


@dataclass(frozen=True)
class _Provider:
    id: UUID
    kind: str
    hours: dict[str, list[list[str]]]
    chair: int


class _Demo:
    """One run: every command it sends is the admin's, under one correlation id."""

    def __init__(self, platform: Platform, today: date, seed: int, summary: DemoSummary) -> None:
        self.platform, self.today, self.summary = platform, today, summary
        self.rng = random.Random(seed)  # noqa: S311 - repeatable demo data, not secrets
        self.correlation = str(uuid4())
        self.staff_ids: list[UUID] = []

    def meta(self) -> Meta:
        return Meta(str(self.staff_ids[0]), "admin", self.correlation, str(uuid4()))

    def register_staff(self, emails: list[str], password: str) -> None:
        """The admin first (closing self-registration, atomically), then everyone else."""
        for spec, email in zip(STAFF, emails, strict=True):
            command = RegisterStaff(
                name=spec.name, email=email, roles=[spec.role], password=password
            )
            if self.staff_ids:
                self.staff_ids.append(self.platform.identity.register(command, self.meta()).id)
            else:
                operator = Meta("cli", "server-operator", self.correlation, str(uuid4()))
                try:
                    written = self.platform.identity.register(command, operator, first_admin=True)
                except RegistrationClosed:
                    raise ClinicNotEmpty(NOT_EMPTY) from None
                self.staff_ids.append(written.id)
            self.summary.staff.append((spec.name, email, spec.role))

    @staticmethod
    def _made(result: Written) -> UUID:
        assert result.created is not None
        return result.created

    def set_up_clinic(self) -> list[UUID]:
        scheduling = self.platform.scheduling
        scheduling.set_opening_hours(SetHours(hours=OPENING), self.meta())
        chairs = [
            self._made(scheduling.add_operatory(AddOperatory(name=n), self.meta())) for n in CHAIRS
        ]
        for code, (name, minutes) in TYPES.items():
            command = DefineAppointmentType(code=code, name=name, minutes=minutes)
            scheduling.define_appointment_type(command, self.meta())
        day, reason = next_holiday(self.today + timedelta(days=1))  # tomorrow stays open
        scheduling.add_closure(AddClosure(first_day=day, last_day=day, reason=reason), self.meta())
        self.summary.operatories, self.summary.appointment_types = len(chairs), len(TYPES)
        self.summary.closures.append((day, reason))
        return chairs

    def add_provider(self, spec: StaffSpec, staff_id: UUID) -> _Provider:
        kind = ProviderKind.HYGIENIST if spec.role == Role.HYGIENIST else ProviderKind.DENTIST
        command = AddProvider(staff_id=staff_id, name=spec.provider or spec.name, kind=kind)
        provider_id = self.platform.scheduling.add_provider(command, self.meta()).id
        self.platform.scheduling.set_working_hours(
            provider_id, SetHours(hours=spec.hours), self.meta()
        )
        self.summary.providers += 1
        return _Provider(provider_id, kind, spec.hours, spec.chair)

    def register_patients(self) -> list[UUID]:
        nunez = self.register_nunez()
        registered = [self.register_patient() for _ in range(PATIENTS - 1)]
        adults = [patient_id for patient_id, age in registered if age >= 30]
        charts = [c for n, c in enumerate(CLINICAL) if n != NUNEZ_CHART]
        self.record_chart(nunez, *CLINICAL[NUNEZ_CHART])
        for patient_id, (entries, alert) in zip(
            self.rng.sample(adults, min(len(adults), len(charts))), charts, strict=False
        ):
            self.record_chart(patient_id, entries, alert)
        return [nunez, *(patient_id for patient_id, _ in registered)]

    def register_nunez(self) -> UUID:
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
        self.summary.patients += 1
        return self.platform.patients.register(command, self.meta()).id

    def register_patient(self) -> tuple[UUID, int]:
        rng = self.rng
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
            birth_date=date(self.today.year - age, rng.randint(1, 12), rng.randint(1, 28)),
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
        self.summary.patients += 1
        return self.platform.patients.register(command, self.meta()).id, age

    def record_chart(
        self, patient_id: UUID, entries: list[HistoryItem], alert: tuple[str, str, str] | None
    ) -> None:
        for years_ago, (kind, description, severity, notes) in enumerate(entries, start=2):
            entry = {"kind": kind, "description": description, "severity": severity}
            started_on = date(self.today.year - years_ago, 3, 1)
            command = RecordHistoryEntry.model_validate(
                {**entry, "notes": notes, "started_on": started_on}
            )
            self.platform.patients.record_history_entry(patient_id, command, self.meta(), None)
            self.summary.history_entries += 1
        if alert is not None:
            code, description, severity = alert
            raised = RaiseAlert.model_validate(
                {"code": code, "description": description, "severity": severity}
            )
            self.platform.patients.raise_alert(patient_id, raised, self.meta(), None)
            self.summary.alerts += 1

    def book_week(
        self, providers: list[_Provider], chairs: list[UUID], patients: list[UUID]
    ) -> None:
        """About 60% of every provider's working time, Monday to Friday of next week."""
        monday = self.today + timedelta(days=7 - self.today.weekday())
        self.summary.first_day, self.summary.last_day = monday, monday + timedelta(days=4)
        zone, now = self.platform.scheduling.zone(), self.platform.scheduling.now()
        for offset, weekday in enumerate(WEEKDAYS):
            day = monday + timedelta(days=offset)
            free = self.rng.sample(patients, len(patients))  # nobody twice on the same day
            for provider in providers:
                for opens, closes in provider.hours.get(weekday, []):
                    span = [
                        datetime.combine(day, time.fromisoformat(t), zone) for t in (opens, closes)
                    ]
                    for start, code in _visits(self.rng, provider.kind, span[0], span[1]):
                        if start > now and free:
                            self.book(provider, chairs, free.pop(), start, code, offset)

    def book(
        self,
        provider: _Provider,
        chairs: list[UUID],
        patient_id: UUID,
        start: datetime,
        code: str,
        offset: int,
    ) -> None:
        """In the provider's own chair, else a free one; a slot the calendar refuses is skipped."""
        own = chairs[provider.chair]
        notes = self.rng.choice(NOTES[code]) if self.rng.random() < 0.3 else None
        for chair in [own, *(c for c in chairs if c != own)]:
            command = BookAppointment(
                patient_id=patient_id,
                provider_id=provider.id,
                operatory_id=chair,
                start=start,
                appointment_type=code,
                notes=notes,
            )
            try:
                booked = self.platform.scheduling.book(command, self.meta())
            except SlotTaken:
                continue
            except OutsideHours:
                break
            self.summary.appointments += 1
            if self.rng.random() < 0.85 - 0.15 * offset:  # the nearer the day, the likelier
                self.platform.scheduling.confirm(booked.id, self.meta(), None)
                self.summary.confirmed += 1
            return
        self.summary.refused += 1

    def clinician(self) -> Meta:
        """A dentist of the demo clinic, at random: who examines, treats and plans."""
        dentists = [i for i, s in enumerate(STAFF) if s.role == Role.DENTIST]
        staff_id = self.staff_ids[self.rng.choice(dentists)]
        return Meta(str(staff_id), "dentist", self.correlation, str(uuid4()))

    def chart_and_plan(self, patients: list[UUID]) -> None:
        """Charts and past treatments for half the patients; plans, accepted (some of it
        done) and pending, for some of them."""
        treatments = self.platform.treatments
        now = datetime.now(UTC)
        for n, patient_id in enumerate(patients[: len(patients) // 2]):
            tooth = self.rng.choice(CARIES_TEETH)
            exam_at = now - timedelta(days=60 + self.rng.randint(0, 200))
            findings = [
                FindingIn(tooth=tooth, condition="caries", surfaces="O"),
                FindingIn(tooth=self.rng.choice((18, 28, 38, 48)), condition="missing"),
            ]
            if n % 4 == 0:
                findings.append(FindingIn(tooth=31, condition="mobility", grade=1))
            examination = RecordExamination(
                patient_id=patient_id, examined_at=exam_at, findings=findings
            )
            treatments.record_examination(examination, self.clinician())
            self.summary.examinations += 1
            for code, where, days in _history(self.rng, tooth):
                command = RecordTreatment(
                    patient_id=patient_id,
                    code=code,
                    performed_at=exam_at + timedelta(days=days),
                    clinical_notes=self.rng.choice(TREATMENT_NOTES),
                    **where,
                )
                treatments.record(command, self.clinician())
                self.summary.treatments += 1
            if n % 3 == 0:
                self.plan(patient_id, accepted=n % 2 == 0)

    def plan(self, patient_id: UUID, *, accepted: bool) -> None:
        treatments, meta = self.platform.treatments, self.clinician()
        items = [
            PlanItemIn(code="RCT-M", tooth=46, phase="urgent", priority=1),
            PlanItemIn(code="CROWN", tooth=46, phase="rehabilitation", priority=2),
            PlanItemIn(code="WHITEN", phase="aesthetic", priority=5),
        ]
        draft = DraftPlan(patient_id=patient_id, title="Rehabilitación del 46", items=items)
        plan_id = treatments.draft_plan(draft, meta).id
        treatments.present_plan(plan_id, meta, None)
        if not accepted:
            self.summary.plans_pending += 1
            return
        consent = AcceptPlan(signed_by="El paciente", document_version="CI-2026-01")
        treatments.accept_plan(plan_id, consent, meta, None)
        self.summary.plans_accepted += 1
        first = treatments.load(plan_id, TreatmentPlan).items
        item_id = next(i for i, item in first.items() if item.code == "RCT-M")
        done = RecordTreatment(
            patient_id=patient_id, code="RCT-M", tooth=46, plan_id=plan_id, plan_item_id=item_id
        )
        treatments.record(done, meta)
        self.summary.treatments += 1


CARIES_TEETH = (14, 15, 16, 17, 24, 25, 26, 27, 34, 35, 36, 37, 44, 45, 47)
TREATMENT_NOTES = (
    "Sin incidencias.",
    "Anestesia infiltrativa; buena tolerancia.",
    "Se recomienda revisión en seis meses.",
    "Sensibilidad postoperatoria leve esperada.",
)


def _history(rng: random.Random, tooth: int) -> list[tuple[str, dict[str, object], int]]:
    """Past treatments after an examination: the check itself, a cleaning, the filling."""
    done: list[tuple[str, dict[str, object], int]] = [("EXAM", {}, 0)]
    if rng.random() < 0.8:
        done.append(("CLEAN", {}, rng.randint(1, 20)))
    if rng.random() < 0.7:
        done.append(("FILL-1", {"tooth": tooth, "surfaces": "O"}, rng.randint(7, 40)))
    if rng.random() < 0.2:
        done.append(("RX-PAN", {}, 0))
    return done


def _visits(
    rng: random.Random, kind: str, opens: datetime, closes: datetime
) -> list[tuple[datetime, str]]:
    """Back-to-back visits filling the span, thinned at random until about 60% remain."""
    codes, weights = zip(*MIX[kind].items(), strict=True)
    visits: list[tuple[datetime, str]] = []
    cursor = opens
    while fitting := [c for c in codes if cursor + _length(c) <= closes]:
        code = rng.choices(codes, weights)[0]
        if code not in fitting:
            code = min(fitting, key=_length)
        visits.append((cursor, code))
        cursor += _length(code)
    spare = (1 - OCCUPANCY) * (closes - opens) - (closes - cursor)
    kept = []
    for start, code in rng.sample(visits, len(visits)):
        if _length(code) <= spare:
            spare -= _length(code)
        else:
            kept.append((start, code))
    return sorted(kept)


def _length(code: str) -> timedelta:
    return timedelta(minutes=TYPES[code][1])


def next_holiday(after: date) -> tuple[date, str]:
    """The first public holiday in Madrid after `after` that falls on a weekday."""
    for year in (after.year, after.year + 1):
        easter = _easter(year)
        holidays = {
            date(year, 1, 1): "Año Nuevo",
            date(year, 1, 6): "Epifanía del Señor",
            easter - timedelta(days=3): "Jueves Santo",
            easter - timedelta(days=2): "Viernes Santo",
            date(year, 5, 1): "Fiesta del Trabajo",
            date(year, 5, 2): "Fiesta de la Comunidad de Madrid",
            date(year, 8, 15): "Asunción de la Virgen",
            date(year, 10, 12): "Fiesta Nacional de España",
            date(year, 11, 1): "Todos los Santos",
            date(year, 12, 6): "Día de la Constitución",
            date(year, 12, 8): "Inmaculada Concepción",
            date(year, 12, 25): "Navidad",
        }
        for day in sorted(holidays):
            if day > after and day.weekday() < 5:
                return day, holidays[day]
    raise AssertionError("every year has a holiday on a weekday")  # pragma: no cover


def _easter(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday) // 433
    month = (h + weekday - 7 * m + 90) // 25
    return date(year, month, (h + weekday - 7 * m + 33 * month + 19) % 32)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return plain.lower().replace(" ", "")


def _mobile(rng: random.Random) -> str:
    return f"+34 6{rng.randint(0, 99):02d} {rng.randint(0, 999):03d} {rng.randint(0, 999):03d}"


def _dni(rng: random.Random) -> str:
    number = rng.randint(10_000_000, 79_999_999)
    return f"{number:08d}{DNI_LETTERS[number % 23]}"
