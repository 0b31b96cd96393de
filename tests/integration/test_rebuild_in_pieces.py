"""A document read model rebuilds in bounded pieces: a chart of a thousand patients rebuilds on
the embedded Mongo server's SQLite store (which refuses a query naming ~500 ids at once), and
a rebuild stopped halfway resumes where it stopped instead of starting again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from clinic.platform import Platform
from commands.treatments import RecordTreatment, Treatments
from infra.mongo import EmbeddedMongo, connect
from projections.base import Projector
from projections.mongo import REBUILDS, MongoStore
from projections.treatments import TreatmentChart
from tests.integration.helpers import clinician, registered_patient

PATIENTS = 1000
CHUNK = 250  # events folded (and saved) at a time, so the rebuild has pieces to stop between


class Stopped(Exception):
    """The process died here."""


@pytest.fixture
async def sqlite_mongo(tmp_path: Path, platform: Platform) -> AsyncIterator[AsyncDatabase[Any]]:
    """The embedded server as `clinic up` runs it, keeping its documents in SQLite."""
    server = EmbeddedMongo(
        platform.settings.embedded_mongo_python, port=0, data=tmp_path / "mongo.sqlite3"
    )
    url = await asyncio.to_thread(server.start)
    client: AsyncMongoClient[dict[str, Any]] = connect(url)
    try:
        yield client["charts"]
    finally:
        await client.close()
        await asyncio.to_thread(server.stop)


def _a_thousand_patients_treated(platform: Platform) -> list[UUID]:
    dentist = clinician(platform, "dentist")
    treatments = platform.application(Treatments)
    patients = []
    for n in range(PATIENTS):
        patient = registered_patient(platform, n)
        body = RecordTreatment(patient_id=patient, code="FILL-1", tooth=16, surfaces="O")
        treatments.record(body, dentist)
        patients.append(patient)
    return patients


def _projector(platform: Platform, database: AsyncDatabase[Any]) -> Projector:
    """A projector as a freshly started process makes it: nothing carried in memory."""
    projector = Projector(TreatmentChart(), MongoStore(database, TreatmentChart()), platform.reader)
    projector.rebuild_chunk = CHUNK
    return projector


async def test_a_thousand_patients_charts_rebuild_and_a_stopped_rebuild_resumes(
    platform: Platform, sqlite_mongo: AsyncDatabase[Any]
) -> None:
    patients = await asyncio.to_thread(_a_thousand_patients_treated, platform)
    folded = 0

    def dies_halfway(events: int) -> None:
        nonlocal folded
        folded += events
        if folded >= PATIENTS // 2:
            raise Stopped

    with pytest.raises(Stopped):
        await _projector(platform, sqlite_mongo).rebuild(dies_halfway)
    progress = await sqlite_mongo[REBUILDS].find_one({"_id": "treatment_chart"})
    assert progress is not None
    assert progress["positions"]["treatments"] >= PATIENTS // 2

    read_again = await _projector(platform, sqlite_mongo).rebuild()

    total = await platform.reader.max_notification_id("treatments")
    assert read_again == total - folded, "the rebuild started again from the beginning"
    charts = sqlite_mongo["treatment_odontograms"]
    assert await charts.count_documents({}) == PATIENTS
    assert await sqlite_mongo["treatment_chart"].count_documents({}) == PATIENTS
    last = await charts.find_one({"_id": str(patients[-1])})
    assert last is not None
    assert last["teeth"]["16"]["surfaces"]["O"]["state"] == "restoration"
    assert await sqlite_mongo[REBUILDS].count_documents({}) == 0
    left = [n for n in await sqlite_mongo.list_collection_names() if "__rebuilding" in n]
    assert left == [], "a shadow collection was left behind"


async def test_a_rebuild_of_changed_code_starts_afresh(
    platform: Platform, sqlite_mongo: AsyncDatabase[Any]
) -> None:
    """Documents folded by older code are never carried into a rebuild by newer code."""
    await asyncio.to_thread(
        lambda: platform.application(Treatments).record(
            RecordTreatment(
                patient_id=registered_patient(platform, 1), code="FILL-1", tooth=16, surfaces="O"
            ),
            clinician(platform, "dentist"),
        )
    )
    await sqlite_mongo[REBUILDS].replace_one(
        {"_id": "treatment_chart"},
        {"fingerprint": "older code", "positions": {"treatments": 10**9}, "stuck": {}},
        upsert=True,
    )

    assert await _projector(platform, sqlite_mongo).rebuild() > 0
    assert await sqlite_mongo["treatment_chart"].count_documents({}) == 1
