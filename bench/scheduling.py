"""(e) Booking appointments over HTTP with a realistic mix of conflicts vs bare
`Scheduling.book` in threads; (f) availability for one provider over one week with 200
appointments in the book, through the HTTP API vs the endpoint's busy-slots SQL run bare.

The clinic opens Mon-Fri 09:00-14:00 and 16:00-20:00 (18 half-hour slots a day). Each side
of (e) books for its own 8 providers and 3 chairs, and every round moves both sides to
fresh weeks, so each starts on an empty calendar and the same pattern is the same work:
per half-hour two planned check-ups (chairs 1 and 2) and, for one in three of them, a later
attempt that collides with it on exactly one resource (the provider, the chair or the
patient) and nothing else, so exactly one of each such pair is booked whatever the
interleaving. Retries (a save that lost to a concurrent booking of the same diary) are
counted on both sides. Setup (reference data, the 200 appointments of (f), rebuilding the
read models) is not measured."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from random import Random
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
from eventsourcing.persistence import IntegrityError

from bench.harness import Harness, Sizes
from bench.report import Row, value_at_most
from bench.workload import META, drive, percentile, registered_patients
from commands.base import StaleVersion, Written
from commands.scheduling import (
    ATTEMPTS,
    AddOperatory,
    AddProvider,
    BookAppointment,
    DefineAppointmentType,
    Scheduling,
    SetHours,
)
from domain.scheduling import LIVE, SlotTaken
from domain.scheduling.calendar import WEEKDAYS
from domain.shared import Meta
from projections.scheduling import BUSY

ADMIN = Meta("bench-admin", "admin", "bench-setup", "bench-setup")
OPENING = {day: [["09:00", "14:00"], ["16:00", "20:00"]] for day in WEEKDAYS[:5]}
TYPE = "check-up"
SLOT = timedelta(minutes=30)
PROVIDERS, CHAIRS = 8, 3  # per side of (e); chairs 1 and 2 hold the plan, 3 is kept free
CONFLICT_EVERY = 3  # one colliding attempt per three planned bookings: 25% of requests
COLLISIONS = ("provider", "chair", "patient")
WARM_UP_WEEKS = 1
AVAILABILITY_APPOINTMENTS = 200
AVAILABILITY_PROVIDERS, AVAILABILITY_CHAIRS = 6, 5  # 200 of 450 seats taken
AVAILABILITY_WARM_UP = 50
AVAILABILITY_ROUNDS = 4
LEAD = timedelta(weeks=2)  # bookings start this far ahead: never in the past
REFUSED = "transition-refused"  # SlotTaken, as the API's problem `type` names it
COLLIDED = "conflict"  # StaleVersion: every attempt lost to a concurrent booking


@dataclass(frozen=True)
class Team:
    providers: list[UUID]
    chairs: list[UUID]


def set_up_clinic(scheduling: Scheduling) -> None:
    scheduling.set_opening_hours(SetHours(hours=OPENING), ADMIN)
    minutes = int(SLOT.total_seconds() // 60)
    scheduling.define_appointment_type(
        DefineAppointmentType(code=TYPE, name="Check-up", minutes=minutes), ADMIN
    )


def hire(scheduling: Scheduling, label: str, providers: int, chairs: int) -> Team:
    """Providers working the clinic's hours, and chairs, for one side of one benchmark."""
    provider_ids = []
    for n in range(providers):
        added = scheduling.add_provider(
            AddProvider(staff_id=uuid4(), name=f"Dr. {label} {n}", kind="dentist"), ADMIN
        )
        scheduling.set_working_hours(added.id, SetHours(hours=OPENING), ADMIN)
        provider_ids.append(added.id)
    chair_ids = [
        _created(scheduling.add_operatory(AddOperatory(name=f"{label} chair {n + 1}"), ADMIN))
        for n in range(chairs)
    ]
    return Team(provider_ids, chair_ids)


def first_monday(zone: ZoneInfo) -> date:
    soon = datetime.now(zone).date() + LEAD
    return soon + timedelta(days=-soon.weekday() % 7)


def slot_starts(monday: date, weeks: int, zone: ZoneInfo) -> list[datetime]:
    """Every half-hour the clinic is open in `weeks` weeks from `monday`, in order."""
    starts = []
    for n in range(weeks * 7):
        day = monday + timedelta(days=n)
        for opens, closes in OPENING.get(WEEKDAYS[day.weekday()], []):
            start = datetime.combine(day, clock.fromisoformat(opens), zone)
            end = datetime.combine(day, clock.fromisoformat(closes), zone)
            while start + SLOT <= end:
                starts.append(start)
                start += SLOT
    return starts


def _body(patient: UUID, provider: UUID, chair: UUID, start: datetime) -> dict[str, Any]:
    return {
        "patient_id": str(patient),
        "provider_id": str(provider),
        "operatory_id": str(chair),
        "start": start.isoformat(),
        "appointment_type": TYPE,
    }


def booking_mix(
    team: Team,
    starts: Sequence[datetime],
    seed: int,
    concurrency: int,
    patients: Iterator[UUID],
) -> list[dict[str, Any]]:
    """Planned bookings in a shuffled order, each third followed some requests later by an
    attempt on the same half-hour that collides with it on one resource only.

    Per half-hour t the plan books providers 2t and 2t+1 (mod 8) in chairs 1 and 2; a
    collision takes the planned provider (in free chair 3), the planned chair (with a
    provider free at t) or the planned patient (free provider, chair 3). At most one
    collision per half-hour, so collisions never meet each other. The seed fixes the
    pattern; `patients` gives a registered patient never used before, so two calls never
    share a diary.
    """
    rng = Random(seed)
    planned: list[dict[str, Any]] = []
    for t, start in enumerate(starts):
        for chair in (0, 1):
            provider = team.providers[(2 * t + chair) % len(team.providers)]
            planned.append(_body(next(patients), provider, team.chairs[chair], start))
    order = list(range(len(planned)))
    rng.shuffle(order)
    keyed: list[tuple[float, dict[str, Any]]] = [
        (float(rank), planned[index]) for rank, index in enumerate(order)
    ]
    rank_of = {index: rank for rank, index in enumerate(order)}
    chosen = rng.sample(range(len(starts)), len(planned) // CONFLICT_EVERY)
    for n, t in enumerate(chosen):
        chair = rng.randrange(2)
        target = planned[2 * t + chair]
        busy = {planned[2 * t]["provider_id"], planned[2 * t + 1]["provider_id"]}
        free = rng.choice([str(p) for p in team.providers if str(p) not in busy])
        collision = COLLISIONS[n % len(COLLISIONS)]
        attempt = dict(target, patient_id=str(next(patients)), operatory_id=str(team.chairs[2]))
        if collision == "chair":
            attempt.update(provider_id=free, operatory_id=target["operatory_id"])
        elif collision == "patient":
            attempt.update(provider_id=free, patient_id=target["patient_id"])
        gap = rng.uniform(2 * concurrency, 12 * concurrency)  # usually after it is booked
        keyed.append((rank_of[2 * t + chair] + gap, attempt))
    keyed.sort(key=lambda pair: pair[0])
    return [body for _, body in keyed]


@dataclass
class Outcome:
    requests: int = 0
    booked: int = 0
    refused: int = 0  # 409 SlotTaken: the slot was already taken
    collided: int = 0  # 409 StaleVersion: every retry lost to a concurrent booking
    other: int = 0
    retries: int = 0  # saves that lost to a concurrent booking and were decided again
    seconds: float = 0.0

    def add(self, kinds: Sequence[str], seconds: float, retries: int) -> None:
        self.requests += len(kinds)
        self.retries += retries
        self.booked += sum(1 for k in kinds if k == "")
        self.refused += sum(1 for k in kinds if k == REFUSED)
        self.collided += sum(1 for k in kinds if k == COLLIDED)
        self.other += sum(1 for k in kinds if k not in ("", REFUSED, COLLIDED))
        self.seconds += seconds

    @property
    def conflicts(self) -> str:
        share = 100 * (self.refused + self.collided) / max(1, self.requests)
        lost = f" ({self.collided} lost all {ATTEMPTS} tries)" if self.collided else ""
        return f"{share:.0f}% 409{lost}, {self.retries} retries"


class LostSaves:
    """Counts saves that lost a race (a concurrent booking changed a diary first, so `book`
    decides again): wraps `save` on the instance, and puts the class's method back."""

    def __init__(self, scheduling: Scheduling) -> None:
        self.scheduling = scheduling
        self.lost: list[None] = []  # list.append is atomic: the threads need no lock

    def __enter__(self) -> LostSaves:
        original = self.scheduling.save

        def save(*aggregates: Any, **kwargs: Any) -> Any:
            try:
                return original(*aggregates, **kwargs)
            except IntegrityError:
                self.lost.append(None)
                raise

        self.scheduling.save = save  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        del self.scheduling.save  # the class's method again

    def __len__(self) -> int:
        return len(self.lost)


async def replay(
    harness: Harness, requests: list[tuple[str, str, Any]], concurrency: int
) -> dict[str, Any]:
    """`requests` through uvicorn from a `bench.replay` process of their own."""
    spec = {
        "base_url": harness.base_url,
        "token": harness.headers["Authorization"].removeprefix("Bearer "),
        "concurrency": concurrency,
        "requests": requests,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.replay",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate(json.dumps(spec).encode())
    if process.returncode != 0:
        raise RuntimeError(f"bench.replay exited with {process.returncode}")
    result: dict[str, Any] = json.loads(out)
    return result


class _Booking:
    """Both sides of (e): the same mix, each for its own team."""

    def __init__(self, harness: Harness, executor: ThreadPoolExecutor, concurrency: int):
        self.harness = harness
        self.executor = executor
        self.concurrency = concurrency

    async def http(self, bodies: list[dict[str, Any]]) -> tuple[list[str], float]:
        requests = [("POST", "/api/appointments", body) for body in bodies]
        result = await replay(self.harness, requests, self.concurrency)
        unexpected = [a for a in result["answers"] if a[0] not in (201, 409)]
        if unexpected:
            raise RuntimeError(f"{len(unexpected)} bookings answered {unexpected[:3]}")
        return [kind for _, kind, _ in result["answers"]], float(result["seconds"])

    def _book(self, body: dict[str, Any]) -> str:
        try:
            self.harness.platform.application(Scheduling).book(
                BookAppointment.model_validate(body), META
            )
        except SlotTaken:
            return REFUSED
        except StaleVersion:
            return COLLIDED
        return ""

    async def bare(self, bodies: list[dict[str, Any]]) -> tuple[list[str], float]:
        kinds = [""] * len(bodies)
        loop = asyncio.get_running_loop()

        async def one(n: int) -> None:
            kinds[n] = await loop.run_in_executor(self.executor, self._book, bodies[n])

        seconds = await drive(len(bodies), self.concurrency, one)
        return kinds, seconds


async def booking(harness: Harness, sizes: Sizes, zone: ZoneInfo) -> list[Row]:
    scheduling = harness.platform.application(Scheduling)
    teams = {
        side: await asyncio.to_thread(hire, scheduling, f"(e) {side}", PROVIDERS, CHAIRS)
        for side in ("http", "bare")
    }
    monday = first_monday(zone)
    windows = [WARM_UP_WEEKS, *[sizes.booking_weeks] * sizes.rounds]
    # The API books only patients the clinic has: register enough, and let scheduling know.
    needed = 2 * sum(len(slot_starts(monday, span, zone)) for span in windows) * 3
    patients = iter(await asyncio.to_thread(registered_patients, harness.platform, needed))
    await harness.platform.projectors["scheduling_patients"].rebuild()
    outcomes = {"http": Outcome(), "bare": Outcome()}
    with (
        ThreadPoolExecutor(sizes.concurrency, thread_name_prefix="bench-book") as executor,
        LostSaves(scheduling) as lost,
    ):
        sides = _Booking(harness, executor, sizes.concurrency)
        for round_, span in enumerate(windows):
            starts = slot_starts(monday, span, zone)
            monday += timedelta(weeks=span)
            order = ("http", "bare") if round_ % 2 == 0 else ("bare", "http")
            for side in order:
                # The same seed: the same pattern of bookings and collisions on both sides.
                bodies = booking_mix(teams[side], starts, round_, sizes.concurrency, patients)
                run = sides.http if side == "http" else sides.bare
                before = len(lost)
                kinds, seconds = await run(bodies)
                if round_ > 0:  # round 0 warms up both sides
                    outcomes[side].add(kinds, seconds, len(lost) - before)
    http, bare = outcomes["http"], outcomes["bare"]
    weeks = f"{sizes.booking_weeks} week{'s' if sizes.booking_weeks != 1 else ''}"
    return [
        Row(
            "(e) book appointments, bookings/s",
            http.booked / http.seconds,
            bare.booked / bare.seconds,
            detail=(
                f"{http.booked} of {http.requests} POST /api/appointments booked via uvicorn, "
                f"keep-alive client in its own process, vs {bare.booked} of {bare.requests} "
                f"Scheduling.book in threads; {sizes.concurrency} in flight each (the API "
                f"books {harness.settings.command_threads} at a time); per side "
                f"{PROVIDERS} providers, {CHAIRS} chairs, {weeks} of Mon-Fri 9-14 + 16-20 "
                f"per round, x{sizes.rounds}"
            ),
        ),
        Row(
            "(e) book appointments, requests/s",
            http.requests / http.seconds,
            bare.requests / bare.seconds,
            detail=(
                f"HTTP {http.conflicts}; bare {bare.conflicts}; each 409 meant: provider, "
                f"chair or patient (a third each) already booked then"
                + (f"; {http.other + bare.other} other answers" if http.other + bare.other else "")
            ),
        ),
    ]


def _created(result: Written) -> UUID:
    assert result.created is not None
    return result.created


def week_of_appointments(team: Team, monday: date, zone: ZoneInfo) -> list[dict[str, Any]]:
    """200 check-ups in one week, seats (half-hour, chair) drawn at random from the team's;
    provider t+c (mod providers) sits in chair c at half-hour t, so never twice at once."""
    seats = [
        (start, chair)
        for start in slot_starts(monday, 1, zone)
        for chair in range(len(team.chairs))
    ]
    taken = sorted(Random(0).sample(range(len(seats)), AVAILABILITY_APPOINTMENTS))
    bodies = []
    for seat in taken:
        start, chair = seats[seat]
        provider = team.providers[(seat // len(team.chairs) + chair) % len(team.providers)]
        bodies.append(_body(uuid4(), provider, team.chairs[chair], start))
    return bodies


def _book_all(scheduling: Scheduling, bodies: list[dict[str, Any]]) -> None:
    for body in bodies:
        scheduling.book(BookAppointment.model_validate(body), META)


async def availability(harness: Harness, sizes: Sizes, zone: ZoneInfo) -> list[Row]:
    platform = harness.platform
    team = await asyncio.to_thread(
        hire, platform.application(Scheduling), "(f)", AVAILABILITY_PROVIDERS, AVAILABILITY_CHAIRS
    )
    monday = first_monday(zone)
    bodies = week_of_appointments(team, monday, zone)
    await asyncio.to_thread(_book_all, platform.application(Scheduling), bodies)
    for name in ("clinic_setup", "providers", "appointments"):
        await platform.projectors[name].rebuild()
    start = datetime.combine(monday, clock(), zone)
    end = start + timedelta(days=7)  # wall-clock arithmetic: next Monday 00:00, DST or not
    provider, chair = team.providers[0], team.chairs[0]
    query = urlencode(
        {
            "provider": str(provider),
            "operatory": str(chair),
            "type": TYPE,
            "from": start.isoformat(),
            "to": end.isoformat(),
        }
    )
    path = f"/api/availability?{query}"
    sql, sql_from = BUSY, "the SQL of projections.scheduling.SchedulingQueries.busy"
    args = (sorted(LIVE), provider, chair, start, end)
    total = await platform.pool.fetchval("SELECT count(*) FROM appointments")
    latencies: dict[str, list[float]] = {"http": [], "sql": []}
    slots = busy = 0
    conn = await asyncpg.connect(harness.settings.asyncpg_dsn())
    try:

        async def http(count: int) -> list[float]:
            nonlocal slots
            result = await replay(harness, [("GET", path, None)] * count, 1)
            failed = [a for a in result["answers"] if a[0] != 200]
            if failed:
                raise RuntimeError(f"availability answered {failed[:3]}: {result['sample']}")
            slots = len(json.loads(result["sample"])["slots"])
            return [float(seconds) for _, _, seconds in result["answers"]]

        async def bare(count: int) -> list[float]:
            nonlocal busy
            out = []
            for _ in range(count):
                started = time.perf_counter()
                rows = await conn.fetch(sql, *args)
                out.append(time.perf_counter() - started)
            busy = len(rows)
            return out

        await http(AVAILABILITY_WARM_UP)
        await bare(AVAILABILITY_WARM_UP)
        per_round = max(1, sizes.availability_requests // AVAILABILITY_ROUNDS)
        for round_ in range(AVAILABILITY_ROUNDS):
            for side in ("http", "sql") if round_ % 2 == 0 else ("sql", "http"):
                run = http if side == "http" else bare
                latencies[side] += await run(per_round)
    finally:
        await conn.close()
    ms = {side: [s * 1000 for s in samples] for side, samples in latencies.items()}
    n = len(ms["http"])
    how = (
        f"{n} sequential GET /api/availability (1 provider + 1 chair, 1 week, {slots} free "
        f"slots) over keep-alive from a client process vs {n} asyncpg fetch of {sql_from}, "
        f"{busy} busy rows; {len(bodies)} appointments that week, {total} in the table"
    )
    return [
        Row(
            "(f) availability, 1 provider x 1 week, p50",
            percentile(ms["http"], 0.50),
            percentile(ms["sql"], 0.50),
            unit="ms",
            detail=how,
        ),
        Row(
            "(f) availability, 1 provider x 1 week, p99",
            percentile(ms["http"], 0.99),
            percentile(ms["sql"], 0.99),
            unit="ms",
            target="≤ 20 ms",
            met=value_at_most(20),
            detail=(
                f"max {max(ms['http']):.1f} ms vs {max(ms['sql']):.1f} ms; mean "
                f"{statistics.fmean(ms['http']):.1f} vs {statistics.fmean(ms['sql']):.2f} ms"
            ),
        ),
    ]


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    """(e) then (f); the clinic's calendar and types are set up first, unmeasured."""
    scheduling = harness.platform.application(Scheduling)
    await asyncio.to_thread(set_up_clinic, scheduling)
    zone = (await asyncio.to_thread(scheduling.clinic)).zone
    return [*await booking(harness, sizes, zone), *await availability(harness, sizes, zone)]
