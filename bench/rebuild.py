"""(d) Rebuilding the patient directory from the event store vs raw asyncpg `executemany`
of the same final rows into a scratch table of the same shape (indexes included)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.harness import Harness, Sizes
from bench.report import Row
from bench.workload import seed_events
from projections.postgres import PostgresStore

PROJECTION = "patient_directory"
CONTEXT = "patients"
SCRATCH = "bench_patient_directory"


async def _raw_round(harness: Harness, columns: list[str], rows: list[tuple[Any, ...]]) -> float:
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    insert = f"INSERT INTO {SCRATCH} ({', '.join(columns)}) VALUES ({placeholders})"
    async with harness.platform.pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {SCRATCH}")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.executemany(insert, rows)
        return time.perf_counter() - started


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    platform = harness.platform
    projector = platform.projectors[PROJECTION]
    store = projector.store
    assert isinstance(store, PostgresStore)
    columns = ["aggregate_id", "version", "document", *store.projection.column_names]
    table = store.projection.table
    await platform.pool.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    await platform.pool.execute(f"CREATE TABLE {SCRATCH} (LIKE {table} INCLUDING ALL)")
    stored = await platform.reader.max_notification_id(CONTEXT)
    if stored < sizes.rebuild_events:
        await asyncio.to_thread(seed_events, platform, sizes.rebuild_events - stored, 40_000_000)
    events = 0
    seconds = {"rebuild": 0.0, "raw": 0.0}
    rows: list[tuple[Any, ...]] = []
    for round_ in range(sizes.rounds + 1):
        started = time.perf_counter()
        events = await projector.rebuild()
        if round_ == 0:  # the first rebuild warms caches and gives the rows to copy
            records = await platform.pool.fetch(f"SELECT {', '.join(columns)} FROM {table}")
            rows = [tuple(r) for r in records]
            continue
        elapsed = time.perf_counter() - started
        raw = await _raw_round(harness, columns, rows)
        seconds["rebuild"] += elapsed
        seconds["raw"] += raw
    await platform.pool.execute(f"DROP TABLE {SCRATCH}")
    total_events, total_rows = events * sizes.rounds, len(rows) * sizes.rounds
    return [
        Row(
            "(d) rebuild patient_directory, events/s",
            total_events / seconds["rebuild"],
            detail=f"{events} events read, folded, COPYed and swapped in; x{sizes.rounds}",
        ),
        Row(
            "(d) rebuild patient_directory, rows/s",
            total_rows / seconds["rebuild"],
            total_rows / seconds["raw"],
            detail=(
                f"{len(rows)} final rows: Projector.rebuild vs asyncpg executemany "
                f"into {SCRATCH} (LIKE {table} INCLUDING ALL)"
            ),
        ),
    ]
