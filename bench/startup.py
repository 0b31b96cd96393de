"""(t) `clinic up` from start to serving, with 10,000 and 200,000 events in the store.

The events are copied into the store in bulk (one stored registration, fanned out to new
patients with COPY). Each size is started twice, as a fresh install and as a restart: the
read models are empty the first time, so they are rebuilt in the background, and the
API must serve meanwhile. "Serving" is the first 200 from /healthz; "ready" the first 200
from /readyz (every dependency up, no read model rebuilding), reported when it came within
the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import httpx

from bench.harness import CLINIC, Harness, Sizes, free_port
from bench.report import Row, value_at_most
from bench.workload import new_patient, registration
from commands.patients import Patients
from projections.postgres import PostgresStore

READY_WAIT = 20.0  # seconds to wait for /readyz after serving, per start


async def _fan_out(harness: Harness, total: int) -> None:
    """Top the patients' event log up to `total` events with COPY."""
    pool = harness.platform.pool
    have = await harness.platform.reader.max_notification_id("patients")
    if have >= total:
        return
    template = new_patient(harness.platform, registration(0))
    stored = harness.platform.application(Patients).mapper.to_stored_event(
        template.collect_events()[0]
    )
    rows = [(uuid4(), 1, stored.topic, stored.state) for _ in range(total - have)]
    async with pool.acquire() as conn:
        for start in range(0, len(rows), 50_000):
            await conn.copy_records_to_table(
                "patients_events",
                records=rows[start : start + 50_000],
                columns=["originator_id", "originator_version", "topic", "state"],
            )


async def _start(harness: Harness, data: Path) -> tuple[float, float | None]:
    port = free_port()
    env = {**harness.environment()}
    env.pop("CLINIC_MONGO_URL", None)
    env.update(
        CLINIC_PORT=str(port),
        CLINIC_EMBEDDED_MONGO_PORT=str(free_port()),
        CLINIC_EMBEDDED_MONGO_DATA=str(data / "mongo.sqlite3"),
    )
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        str(CLINIC),
        "up",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    serving = ready = None
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=2) as http:
            while ready is None and time.perf_counter() - started < 120:
                with contextlib.suppress(httpx.TransportError):
                    if serving is None and (await http.get("/healthz")).status_code == 200:
                        serving = time.perf_counter() - started
                    if serving is not None and (await http.get("/readyz")).status_code == 200:
                        ready = time.perf_counter() - started
                if serving is not None and time.perf_counter() - started > serving + READY_WAIT:
                    break
                await asyncio.sleep(0.05)
    finally:
        await harness.reap(process)
    if serving is None:
        raise RuntimeError("clinic up did not serve within two minutes")
    return serving, ready


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    rows = []
    for total in sizes.startup_events:
        await _fan_out(harness, total)
        await _empty_read_models(harness)
        with tempfile.TemporaryDirectory(prefix="sonrisa-bench-up-") as folder:
            for start in ("read models empty", "restart"):
                serving, ready = await _start(harness, Path(folder))
                rows.append(
                    Row(
                        f"(t) clinic up to serving, {total:,} events, {start}",
                        serving * 1000,
                        unit="ms",
                        target="≤ 5 s",
                        met=value_at_most(5000),
                        detail=(
                            "first 200 from /healthz; "
                            + (
                                f"ready (no read model rebuilding) after {ready:.1f} s"
                                if ready is not None
                                else f"read models still rebuilding {READY_WAIT:.0f} s later"
                            )
                        ),
                    )
                )
    return rows


async def _empty_read_models(harness: Harness) -> None:
    """As after a new install or a lost document store: nothing projected yet."""
    tables = [
        p.store.projection.table
        for p in harness.platform.projectors.values()
        if isinstance(p.store, PostgresStore)
    ]
    await harness.truncate("projection_status", "projection_stuck", *tables)
