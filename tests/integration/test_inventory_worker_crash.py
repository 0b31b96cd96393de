"""The inventory worker SIGKILLed while it works through a queue of treatments, then
restarted: every treatment's materials are deducted exactly once."""

from __future__ import annotations

import asyncio
import signal
from decimal import Decimal

from clinic.platform import Platform
from commands.treatments import RecordTreatment, Treatments
from infra.settings import Settings
from projections.inventory import InventoryQueries
from tests.conftest import eventually
from tests.integration.helpers import clinician, registered_patient
from tests.integration.test_inventory_choreography import cartridges
from tests.integration.test_relay_crash import CLINIC, clinic_env

TREATMENTS = 100
STOCK = 1000


async def start_worker(settings: Settings) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        CLINIC,
        "inventory",
        env=clinic_env(settings),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_worker_killed_mid_queue_deducts_each_treatment_exactly_once(
    platform: Platform, settings: Settings, pipeline: None
) -> None:
    item = cartridges(platform, ("L", 300, str(STOCK)))
    patient = registered_patient(platform)
    meta = clinician(platform)
    queries = platform.get(InventoryQueries)

    def record() -> None:
        for _ in range(TREATMENTS):
            body = RecordTreatment(patient_id=patient, code="EXT-S", tooth=48)
            platform.application(Treatments).record(body, meta)

    await asyncio.to_thread(record)

    async def consumed(at_least: int) -> bool:
        rows = await queries.levels(item)
        left = Decimal(rows[0]["quantity"]) if rows else Decimal(STOCK)
        return STOCK - left >= at_least

    worker = await start_worker(settings)
    try:
        await eventually(lambda: consumed(20), within=60, what="the worker at work")
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
        worker = await start_worker(settings)

        async def all_consumed() -> bool:
            count = await platform.pool.fetchval("SELECT count(*) FROM inventory_consumptions")
            return bool(count == TREATMENTS)

        await eventually(all_consumed, within=90, what="every treatment's consumption")
        await eventually(lambda: consumed(TREATMENTS), within=30, what="the stock at its total")
    finally:
        if worker.returncode is None:
            worker.terminate()
            await worker.wait()

    (level,) = await queries.levels(item)
    assert Decimal(level["quantity"]) == STOCK - TREATMENTS
