"""Fifty receptionists booking the same time at once: exactly one wins, on real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from clinic.platform import Platform
from commands.scheduling import (
    AddOperatory,
    AddProvider,
    BookAppointment,
    DefineAppointmentType,
    Scheduling,
    SetHours,
)
from domain.scheduling import SlotTaken
from domain.scheduling.calendar import WEEKDAYS
from domain.shared import DEFAULT_ZONE
from infra.settings import Settings
from tests.integration.helpers import META

CLINIC_ZONE = ZoneInfo(DEFAULT_ZONE)

CONCURRENT = 50
START = datetime(2030, 3, 4, 9, 0, tzinfo=CLINIC_ZONE)


@pytest.fixture
def scheduling(settings: Settings, platform: Platform) -> Iterator[Scheduling]:
    app = Scheduling(
        env={**settings.postgres_env(), "POSTGRES_POOL_SIZE": "10"},
        now=lambda: datetime.now(UTC),
    )
    app.set_opening_hours(SetHours(hours=ALL_WEEK), META)
    app.define_appointment_type(
        DefineAppointmentType(code="check-up", name="Check-up", minutes=30), META
    )
    yield app
    app.close()


ALL_WEEK = {day: [["08:00", "21:00"]] for day in WEEKDAYS}


def _provider(app: Scheduling) -> UUID:
    written = app.add_provider(AddProvider(staff_id=uuid4(), name="Dr. X", kind="dentist"), META)
    app.set_working_hours(written.id, SetHours(hours=ALL_WEEK), META)
    return written.id


def _chair(app: Scheduling) -> UUID:
    created = app.add_operatory(AddOperatory(name=f"Chair {uuid4().hex[:8]}"), META).created
    assert created is not None
    return created


def _attempt(scheduling: Scheduling, command: BookAppointment) -> str:
    try:
        scheduling.book(command, META)
    except SlotTaken:
        return "refused"
    return "booked"


def _overlapping(n: int, *, provider: UUID, chair: UUID, patient: UUID) -> BookAppointment:
    return BookAppointment(
        patient_id=patient,
        provider_id=provider,
        operatory_id=chair,
        start=START + timedelta(minutes=n % 25),
        duration_minutes=30,
        appointment_type="check-up",
    )


@pytest.mark.parametrize("shared", ["provider", "chair", "patient"])
async def test_concurrent_overlapping_bookings_give_exactly_one_appointment(
    scheduling: Scheduling, platform: Platform, shared: str
) -> None:
    providers = await asyncio.to_thread(
        lambda: (
            [_provider(scheduling)] * CONCURRENT
            if shared == "provider"
            else [_provider(scheduling) for _ in range(CONCURRENT)]
        )
    )
    chairs = await asyncio.to_thread(
        lambda: (
            [_chair(scheduling)] * CONCURRENT
            if shared == "chair"
            else [_chair(scheduling) for _ in range(CONCURRENT)]
        )
    )
    patient = uuid4()
    commands = [
        _overlapping(
            n,
            provider=providers[n],
            chair=chairs[n],
            patient=patient if shared == "patient" else uuid4(),
        )
        for n in range(CONCURRENT)
    ]
    with ThreadPoolExecutor(CONCURRENT) as threads:
        loop = asyncio.get_running_loop()
        outcomes = await asyncio.gather(
            *(loop.run_in_executor(threads, _attempt, scheduling, c) for c in commands)
        )
    assert sorted(outcomes).count("booked") == 1
    assert outcomes.count("refused") == CONCURRENT - 1
    booked = await platform.pool.fetchval(
        "SELECT count(*) FROM scheduling_events WHERE topic LIKE '%AppointmentBooked'"
    )
    assert booked == 1
