"""The patients every benchmark registers, and small helpers to drive and summarise load."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

from clinic.platform import Platform
from commands.patients import Patients, RegisterPatient
from domain.patients import DNI_LETTERS, Patient
from domain.shared import Meta

META = Meta("bench", "receptionist", "bench-correlation", "bench-request")
T = TypeVar("T")


def registration_body(n: int) -> dict[str, Any]:
    """A realistic front-desk registration: DNI, phone, email, address and consents."""
    dni = n % 100_000_000
    return {
        "given_name": f"Paciente {n}",
        "family_name": f"Núñez Apellido {n:07d}",
        "birth_date": date(1940 + n % 70, 1 + n % 12, 1 + n % 28).isoformat(),
        "sex": ("female", "male", "other", "unknown")[n % 4],
        "national_id": f"{dni:08d}{DNI_LETTERS[dni % 23]}",
        "phone": f"+34 6{dni:08d}",
        "email": f"paciente{n}@example.org",
        "address": {"line1": f"Calle Mayor {n % 200}", "city": "Madrid", "postal_code": "28013"},
        "language": "es",
        "consents": {"sms": True, "email": n % 2 == 0},
    }


def registration(n: int) -> RegisterPatient:
    return RegisterPatient.model_validate(registration_body(n))


def new_patient(platform: Platform, command: RegisterPatient) -> Patient:
    """What `Patients.register` builds, without the Application method around it."""
    today = platform.application(Patients).today()
    return Patient.register(command.demographics(today), command.contact(), META)


def seed_events(platform: Platform, count: int, first: int, chunk: int = 250) -> int:
    """Write exactly `count` events straight to the event store (one in four patients gets an
    alert too, so the log holds more events than aggregates); returns patients created."""
    written = patients = 0
    batch: list[Patient] = []
    n = first
    while written < count:
        patient = new_patient(platform, registration(n))
        written += 1
        if n % 4 == 0 and written < count:
            patient.raise_alert(
                code="latex", description="Latex allergy", severity="high", meta=META
            )
            written += 1
        batch.append(patient)
        patients += 1
        n += 1
        if len(batch) >= chunk:
            platform.application(Patients).save(*batch)
            batch = []
    if batch:
        platform.application(Patients).save(*batch)
    return patients


def registered_patients(platform: Platform, count: int, chunk: int = 250) -> list[UUID]:
    """`count` patients saved straight to the event store; their ids."""
    ids: list[UUID] = []
    for start in range(0, count, chunk):
        batch = [
            new_patient(platform, registration(70_000_000 + n))
            for n in range(start, min(count, start + chunk))
        ]
        platform.application(Patients).save(*batch)
        ids += [p.id for p in batch]
    return ids


async def drive(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run `one(0..count-1)` with `concurrency` in flight; seconds taken."""
    numbers: Iterator[int] = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            await one(n)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation): p99 of 1000 samples is the 990th."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


async def open_loop(
    rate: float,
    total: int,
    one: Callable[[int], Coroutine[Any, Any, None]],
    watch: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    settle_seconds: float = 60,
) -> None:
    """Send `one(n)` for n < `total` at a steady `rate` per second, whatever the answers'
    pace (an open loop), while `watch` waits for each to be visible; once all are sent,
    `watch` is told so and given `settle_seconds` to see the last ones."""
    loop, everything_sent = asyncio.get_running_loop(), asyncio.Event()
    watcher = asyncio.create_task(watch(everything_sent))
    start, sent = loop.time(), []
    for n in range(total):
        await asyncio.sleep(max(0.0, start + n / rate - loop.time()))
        sent.append(asyncio.create_task(one(n)))
    await asyncio.gather(*sent)
    everything_sent.set()
    await asyncio.wait_for(watcher, timeout=settle_seconds)
