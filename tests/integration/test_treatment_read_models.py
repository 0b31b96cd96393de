"""The patient-keyed chart, fed by many aggregates, survives what the foundation's read
models survive: a projector killed mid-stream, and one treatment its fold cannot apply."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from pymongo import AsyncMongoClient, monitoring

from clinic.platform import Platform
from clinic.rebuild import rebuild
from commands.scheduling import Scheduling
from commands.treatments import RecordTreatment, Treatments
from domain.scheduling.reference import ClinicSetup
from domain.shared import Meta
from domain.treatments import VALID_TEETH, is_anterior
from infra.eventstore import Envelope
from infra.settings import Settings
from projections.base import Document, Projection, Projector
from projections.mongo import MongoStore
from projections.treatments import TreatmentChart, TreatmentQueries, odontogram
from tests.conftest import eventually, running
from tests.integration.helpers import caught_up, clinician, registered_patient
from tests.integration.test_relay_crash import CLINIC, clinic_env

MEXICO_CITY = ZoneInfo("America/Mexico_City")
TREATMENTS = 300


@dataclass(frozen=True)
class Clinic:
    """Registered patients, and the real dentist's account that records their treatments."""

    patients: list[UUID]
    dentist: Meta


@pytest.fixture
async def clinic(platform: Platform) -> Clinic:
    def registered() -> Clinic:
        return Clinic(
            [registered_patient(platform, n) for n in range(20)], clinician(platform, "dentist")
        )

    return await asyncio.to_thread(registered)


def _write(platform: Platform, clinic: Clinic, count: int, first: int = 0) -> list[UUID]:
    written = []
    for n in range(first, first + count):
        tooth = VALID_TEETH[n % len(VALID_TEETH)]
        body = RecordTreatment(
            patient_id=clinic.patients[n % len(clinic.patients)],
            code="FILL-1",
            tooth=tooth,
            surfaces="I" if is_anterior(tooth) else "O",
        )
        written.append(platform.application(Treatments).record(body, clinic.dentist).id)
    return written


def start_projector(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CLINIC, "project", "treatment_chart", "treatment_list"],
        env=clinic_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _chart_holds(platform: Platform, count: int) -> bool:
    return len(await platform.projectors["treatment_chart"].store.dump()) >= count


async def _charts(platform: Platform, clinic: Clinic) -> dict[UUID, Document]:
    records = platform.get(TreatmentQueries)
    return {p: await records.chart(p) for p in clinic.patients}


async def _treatments_caught_up(platform: Platform) -> bool:
    """The two treatment projectors (the only ones running) have applied every treatment."""
    for name in ("treatment_chart", "treatment_list"):
        status = await platform.projectors[name].store.status()
        if status.get("treatments", 0) < await platform.reader.max_notification_id("treatments"):
            return False
    return True


async def test_a_chart_projector_killed_mid_stream_catches_up_to_what_a_rebuild_gives(
    platform: Platform, settings: Settings, clinic: Clinic
) -> None:
    async with running(platform.relay().run):
        projector = start_projector(settings)
        half = TREATMENTS // 2
        writer = asyncio.create_task(asyncio.to_thread(_write, platform, clinic, half))
        try:
            await eventually(lambda: _chart_holds(platform, 60), within=120, what="progress")
            os.kill(projector.pid, signal.SIGKILL)
            projector.wait()
            await writer
            # The other half is written while no projector runs, however fast it had been.
            await asyncio.to_thread(_write, platform, clinic, TREATMENTS - half, half)
            assert len(await platform.projectors["treatment_chart"].store.dump()) < TREATMENTS
            projector = start_projector(settings)
            await eventually(
                lambda: _treatments_caught_up(platform), within=180, what="every treatment"
            )
        finally:
            projector.kill()
            projector.wait()
            await writer
    live = {
        n: await platform.projectors[n].store.dump() for n in ("treatment_chart", "treatment_list")
    }
    live_charts = await _charts(platform, clinic)
    assert len(live["treatment_chart"]) == len(live["treatment_list"]) == TREATMENTS
    for name, before in live.items():
        await rebuild(platform, name)
        assert await platform.projectors[name].store.dump() == before, name
    assert await _charts(platform, clinic) == live_charts
    assert sum(len(c["teeth"]) for c in live_charts.values()) > 0


@pytest.fixture
def defect(platform: Platform) -> Iterator[set[str]]:
    """A chart fold that cannot apply treatments of the procedures put in the set."""
    projection: Projection = platform.projectors["treatment_chart"].projection
    original = projection.evolve
    broken: set[str] = set()

    def evolve(document: Document | None, envelope: Envelope) -> Document:
        if envelope.payload.get("code") in broken:
            raise KeyError("a field this version of the projection did not expect")
        return original(document, envelope)

    projection.evolve = evolve  # type: ignore[method-assign]
    try:
        yield broken
    finally:
        projection.__dict__.pop("evolve", None)


async def test_a_treatment_the_chart_cannot_apply_is_parked_and_the_rest_of_the_chart_shows(
    platform: Platform, pipeline: None, defect: set[str], clinic: Clinic
) -> None:
    meta, patient = clinic.dentist, clinic.patients[0]
    fine = await asyncio.to_thread(
        platform.application(Treatments).record,
        RecordTreatment(patient_id=patient, code="FILL-1", tooth=36, surfaces="O"),
        meta,
    )
    await eventually(lambda: _at(platform, fine.id), what="the first treatment")
    defect.add("CROWN")
    victim = (
        await asyncio.to_thread(
            platform.application(Treatments).record,
            RecordTreatment(patient_id=patient, code="CROWN", tooth=46),
            meta,
        )
    ).id
    after = await asyncio.to_thread(
        platform.application(Treatments).record,
        RecordTreatment(patient_id=patient, code="EXT-S", tooth=48),
        meta,
    )
    await eventually(lambda: _charted(platform, patient, after.id), what="later treatments")
    store = platform.projectors["treatment_chart"].store
    await eventually(lambda: _stuck(platform, victim), what="the victim parked")
    chart = await platform.get(TreatmentQueries).chart(patient)
    assert set(chart["teeth"]) == {"36", "48"}

    defect.clear()
    assert await platform.projectors["treatment_chart"].retry() == {}
    assert victim not in await store.stuck()
    chart = await platform.get(TreatmentQueries).chart(patient)
    assert chart["teeth"]["46"]["conditions"] == ["crown"]


async def _at(platform: Platform, aggregate_id: UUID) -> bool:
    return await platform.projectors["treatment_chart"].store.version_of(aggregate_id) >= 1


async def _charted(platform: Platform, patient: UUID, aggregate_id: UUID) -> bool:
    """The patient's composed chart has taken the aggregate in (it lands after its own
    contribution)."""
    return await platform.get(TreatmentQueries).charted(patient)(aggregate_id) >= 1


async def _stuck(platform: Platform, aggregate_id: UUID) -> bool:
    return aggregate_id in await platform.projectors["treatment_chart"].store.stuck()


async def test_production_days_are_counted_on_the_clock_of_the_clinics_set_up(
    platform: Platform, clinic: Clinic
) -> None:
    """A clinic set up in Mexico City: a filling done there at 20:30 counts on that day,
    though in Madrid (and in UTC) it is already the next."""
    meta = clinic.dentist
    set_up = ClinicSetup.start(meta, zone_name="America/Mexico_City")
    await asyncio.to_thread(platform.application(Scheduling).save, set_up)
    evening = datetime(2026, 3, 2, 20, 30, tzinfo=MEXICO_CITY)
    for performed_at in (evening, evening + timedelta(hours=13)):
        body = RecordTreatment(
            patient_id=clinic.patients[0],
            code="FILL-1",
            tooth=16,
            surfaces="O",
            performed_at=performed_at,
        )
        await asyncio.to_thread(platform.application(Treatments).record, body, meta)
    parts = (platform.relay().run, *(platform.consumer(n).run for n in platform.projectors))
    async with running(*parts):
        await eventually(lambda: caught_up(platform), what="every read model to catch up")
    rows = await platform.get(TreatmentQueries).production(date(2026, 3, 2), date(2026, 3, 3))
    assert [(r["day"], r["treatments"]) for r in rows] == [("2026-03-02", 1), ("2026-03-03", 1)]
    only_the_second = await platform.get(TreatmentQueries).production(
        date(2026, 3, 3), date(2026, 3, 3)
    )
    assert [(r["day"], r["treatments"]) for r in only_the_second] == [("2026-03-03", 1)]


class ContributionsRead(monitoring.CommandListener):
    """Counts the contributions the chart's projector reads back from Mongo."""

    def __init__(self) -> None:
        self.documents = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") or {}
        if event.command_name in ("find", "getMore") and cursor.get("ns", "").endswith(
            ".treatment_chart"
        ):
            self.documents += len(cursor.get("firstBatch") or cursor.get("nextBatch") or [])

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_new_treatment_updates_the_kept_chart_without_reading_every_contribution(
    platform: Platform, settings: Settings, clinic: Clinic
) -> None:
    """A patient with 40 treatments: the 41st is charted from the chart's kept parts and the
    new contribution alone, and the chart equals one composed from all 41."""
    patient = clinic.patients[0]
    projector = platform.projectors["treatment_chart"]
    earlier = Clinic([patient], clinic.dentist)
    await asyncio.to_thread(_write, platform, earlier, 40)
    await projector.handle_batch(await platform.reader.notifications("treatments", 0, 1000))
    position = await platform.reader.max_notification_id("treatments")
    await asyncio.to_thread(_write, platform, earlier, 1, 40)

    reads = ContributionsRead()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.effective_mongo_url(), tz_aware=True, event_listeners=[reads]
    )
    try:
        watched = Projector(
            projector.projection,
            MongoStore(client[settings.mongo_database], TreatmentChart()),
            platform.reader,
        )
        await watched.handle_batch(await platform.reader.notifications("treatments", position, 10))
    finally:
        await client.close()

    assert reads.documents == 1  # the new contribution, not the patient's 41
    kept = await platform.get(TreatmentQueries).chart(patient)
    composed = odontogram(patient, await platform.get(TreatmentQueries).contributions(patient))
    assert len(kept["contributions"]) == 41
    assert kept == composed
