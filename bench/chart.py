"""(u) Rebuilding the Mongo patient chart from the event store vs bare pymongo `insert_many`
of the same final documents into a scratch collection of the same server."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bench.harness import Harness, Sizes
from bench.report import Row
from bench.workload import seed_events
from projections.base import Projector

PROJECTION = "patient_chart"
SCRATCH = "bench_patient_charts"


async def rebuild_vs_insert_many(
    projector: Projector, database: AsyncDatabase[dict[str, Any]], scratch: str, rounds: int
) -> tuple[int, list[dict[str, Any]], dict[str, float]]:
    """Rebuild `rounds` times, and insert_many the documents it made into `scratch` as often;
    the first rebuild warms caches and gives the documents to copy."""
    events = await projector.rebuild()
    documents = [
        {"_id": str(k), "version": v.version, **v.document}
        for k, v in (await projector.store.dump()).items()
    ]
    seconds = {"rebuild": 0.0, "bare": 0.0}
    for _ in range(rounds):
        started = time.perf_counter()
        await projector.rebuild()
        seconds["rebuild"] += time.perf_counter() - started
        await database[scratch].drop()
        started = time.perf_counter()
        for start in range(0, len(documents), 1000):
            await database[scratch].insert_many(documents[start : start + 1000], ordered=False)
        seconds["bare"] += time.perf_counter() - started
    await database[scratch].drop()
    return events, documents, seconds


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    projector = harness.platform.projectors[PROJECTION]
    database = harness.platform.mongo_db
    stored = await harness.platform.reader.max_notification_id("patients")
    if stored < sizes.chart_events:
        await asyncio.to_thread(
            seed_events, harness.platform, sizes.chart_events - stored, 10_000_000
        )
    events, documents, seconds = await rebuild_vs_insert_many(
        projector, database, SCRATCH, sizes.rounds
    )
    per_round = sizes.rounds
    return [
        Row(
            "(u) rebuild patient_chart (Mongo), events/s",
            events * per_round / seconds["rebuild"],
            detail=f"{events} events read, folded into {len(documents)} documents, swapped in",
        ),
        Row(
            "(u) rebuild patient_chart (Mongo), documents/s",
            len(documents) * per_round / seconds["rebuild"],
            len(documents) * per_round / seconds["bare"],
            detail=(
                f"{len(documents)} documents: Projector.rebuild (shadow + rename) vs pymongo "
                f"insert_many of the same documents in 1000s into {SCRATCH}; x{per_round}"
            ),
        ),
    ]
