"""(w) A rebuild of the treatment chart of many patients (10,000 in a full run), each with one
treatment, on the embedded Mongo server as `clinic up` runs it (its documents in SQLite):
how long it takes, and the part of it spent composing and swapping the odontograms.

A real mongod's figure is measured beside it when CLINIC_BENCH_REAL_MONGO_URL names one
(there is none on the machine these figures were taken on)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from pymongo.asynchronous.database import AsyncDatabase

from bench.harness import Harness, Sizes, run_alone
from bench.report import Row
from bench.treatments import dentist_account
from bench.workload import registered_patients
from commands.treatments import RecordTreatment, Treatments
from domain.shared import Meta, Role
from infra.mongo import EmbeddedMongo, connect
from projections.base import Projector
from projections.mongo import MongoStore
from projections.treatments import TreatmentChart


def _treated(harness: Harness, patients: list[UUID]) -> None:
    dentist = Meta(str(dentist_account(harness)), Role.DENTIST.value, "bench", "bench")
    treatments = harness.platform.application(Treatments)
    for patient in patients:
        body = RecordTreatment(patient_id=patient, code="FILL-1", tooth=16, surfaces="O")
        treatments.record(body, dentist)


class _TimedChart(TreatmentChart):
    """The chart, timing its composing of every odontogram after the rebuild."""

    composing = 0.0

    async def derive_all(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        started = time.perf_counter()
        await super().derive_all(database)
        self.composing += time.perf_counter() - started


async def _rebuild_on(harness: Harness, url: str) -> tuple[float, float, int]:
    """Seconds for the whole rebuild, seconds of it composing the odontograms, events read."""
    client = connect(url)
    try:
        database = client[f"{harness.settings.mongo_database}_chart_rebuild"]
        projection = _TimedChart()
        projector = Projector(projection, MongoStore(database, projection), harness.platform.reader)
        started = time.perf_counter()
        events = await projector.rebuild()
        total = time.perf_counter() - started
        await client.drop_database(database.name)
        return total, projection.composing, events
    finally:
        await client.close()


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    count = sizes.chart_rebuild_patients
    platform = harness.platform
    patients = await asyncio.to_thread(registered_patients, platform, count)
    await asyncio.to_thread(_treated, harness, patients)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sonrisa-bench-mongo-") as folder:
        server = EmbeddedMongo(
            platform.settings.embedded_mongo_python, port=0, data=Path(folder) / "mongo.sqlite3"
        )
        url = await asyncio.to_thread(server.start)
        try:
            total, composing, events = await _rebuild_on(harness, url)
        finally:
            await asyncio.to_thread(server.stop)
    rows.append(
        Row(
            f"(w) rebuild the chart of {count:,} patients, embedded Mongo (SQLite), s",
            total,
            unit="s",
            detail=(
                f"{events} events; {composing:.1f} s of it composing {count:,} odontograms "
                "into shadows and swapping them in; no query names more than 200 ids"
            ),
        )
    )
    real = os.environ.get("CLINIC_BENCH_REAL_MONGO_URL")
    if real:
        total, composing, events = await _rebuild_on(harness, real)
        rows.append(
            Row(
                f"(w) rebuild the chart of {count:,} patients, real mongod, s",
                total,
                unit="s",
                detail=f"{events} events; {composing:.1f} s composing the odontograms",
            )
        )
    return rows


if __name__ == "__main__":  # `python -m bench.chart_rebuild [--quick]`: this one alone
    run_alone(run, "Sonrisa benchmarks: chart rebuild", "sonrisa_bench_chart_rebuild")
