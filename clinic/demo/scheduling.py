"""The demo clinic's calendar: opening hours (open every day: weekend mornings are for urgent
care), three chairs, six appointment types, the next holiday closed, three providers, and a
week about 60% booked, most of it confirmed."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from uuid import UUID

from clinic.demo import STAFF, DemoClinic, Provider, StaffSpec
from clinic.platform import Platform
from commands.base import Written
from commands.scheduling import (
    AddClosure,
    AddOperatory,
    AddProvider,
    BookAppointment,
    DefineAppointmentType,
    Scheduling,
    SetHours,
)
from domain.scheduling import OutsideHours, SlotTaken
from domain.scheduling.calendar import WORKING_WEEK
from domain.scheduling.reference import ProviderKind
from domain.shared import Role

OCCUPANCY = 0.6
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
MIX: dict[str, dict[str, int]] = {
    ProviderKind.DENTIST: {
        "check-up": 6,
        "filling": 6,
        "root-canal": 2,
        "extraction": 3,
        "whitening": 1,
    },
    ProviderKind.HYGIENIST: {"cleaning": 7, "check-up": 2, "whitening": 1},
}
NOTES = {
    "check-up": ["Primera visita", "Revisión semestral", "Molestias al masticar"],
    "cleaning": ["Limpieza anual", "Sangrado de encías al cepillarse"],
    "filling": ["Caries en 36", "Empaste en 14 y 15", "Sustituir empaste antiguo en 46"],
    "root-canal": ["Endodoncia en 26, primera sesión", "Dolor intenso en 47"],
    "extraction": ["Extracción del 38 (cordal)", "Resto radicular en 25"],
    "whitening": ["Blanqueamiento en consulta"],
}


CARMEN_HOURS = {**{d: SPLIT for d in WEEKDAYS[:4]}, "friday": MORNING}
JAVIER_HOURS = {
    **{d: AFTERNOON if d in ("tuesday", "thursday") else SPLIT for d in WEEKDAYS},
    **WEEKEND,  # Dr. Morales covers urgent care at weekends
}
MARTA_HOURS = {d: MORNING for d in WEEKDAYS}  # the hygienist works mornings only
HOURS = {"carmen.ruiz": CARMEN_HOURS, "javier.morales": JAVIER_HOURS, "marta.iglesias": MARTA_HOURS}


def _made(result: Written) -> UUID:
    assert result.created is not None
    return result.created


def set_up_clinic(platform: Platform, clinic: DemoClinic) -> None:
    """Opening hours, chairs, appointment types, a holiday closed, and the providers."""
    scheduling = platform.application(Scheduling)
    scheduling.set_opening_hours(SetHours(hours=OPENING), clinic.meta())
    chairs = [_made(scheduling.add_operatory(AddOperatory(name=n), clinic.meta())) for n in CHAIRS]
    for code, (name, minutes) in TYPES.items():
        command = DefineAppointmentType(code=code, name=name, minutes=minutes)
        scheduling.define_appointment_type(command, clinic.meta())
    day, reason = next_holiday(clinic.today + timedelta(days=1))  # tomorrow stays open
    scheduling.add_closure(AddClosure(first_day=day, last_day=day, reason=reason), clinic.meta())
    clinic.summary.operatories, clinic.summary.appointment_types = len(chairs), len(TYPES)
    clinic.summary.closures.append((day, reason))
    clinic.chairs = chairs
    for spec, staff_id in zip(STAFF, clinic.staff_ids, strict=True):
        if spec.provider:
            clinic.providers.append(_add_provider(platform, clinic, spec, staff_id))


def _add_provider(
    platform: Platform, clinic: DemoClinic, spec: StaffSpec, staff_id: UUID
) -> Provider:
    hours = HOURS[spec.login]
    kind = ProviderKind.HYGIENIST if spec.role == Role.HYGIENIST else ProviderKind.DENTIST
    command = AddProvider(staff_id=staff_id, name=spec.provider or spec.name, kind=kind)
    provider_id = platform.application(Scheduling).add_provider(command, clinic.meta()).id
    platform.application(Scheduling).set_working_hours(
        provider_id, SetHours(hours=hours), clinic.meta()
    )
    clinic.summary.providers += 1
    return Provider(provider_id, kind, hours, spec.chair)


def book_week(platform: Platform, clinic: DemoClinic) -> None:
    """About 60% of every provider's working time, Monday to Friday of next week."""
    monday = clinic.today + timedelta(days=7 - clinic.today.weekday())
    clinic.summary.first_day, clinic.summary.last_day = monday, monday + timedelta(days=4)
    zone, now = platform.application(Scheduling).zone(), platform.application(Scheduling).now()
    for offset, weekday in enumerate(WEEKDAYS):
        day = monday + timedelta(days=offset)
        free = clinic.rng.sample(
            clinic.patients, len(clinic.patients)
        )  # nobody twice on the same day
        for provider in clinic.providers:
            for opens, closes in provider.hours.get(weekday, []):
                span = [datetime.combine(day, time.fromisoformat(t), zone) for t in (opens, closes)]
                for start, code in _visits(clinic.rng, provider.kind, span[0], span[1]):
                    if start > now and free:
                        _book(platform, clinic, provider, free.pop(), start, code, offset)


def _book(
    platform: Platform,
    clinic: DemoClinic,
    provider: Provider,
    patient_id: UUID,
    start: datetime,
    code: str,
    offset: int,
) -> None:
    """In the provider's own chair, else a free one; a slot the calendar refuses is skipped."""
    chairs = clinic.chairs
    own = chairs[provider.chair]
    notes = clinic.rng.choice(NOTES[code]) if clinic.rng.random() < 0.3 else None
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
            booked = platform.application(Scheduling).book(command, clinic.meta())
        except SlotTaken:
            continue
        except OutsideHours:
            break
        clinic.summary.appointments += 1
        if clinic.rng.random() < 0.85 - 0.15 * offset:  # the nearer the day, the likelier
            platform.application(Scheduling).confirm(booked.id, clinic.meta(), None)
            clinic.summary.confirmed += 1
        return
    clinic.summary.refused += 1


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
