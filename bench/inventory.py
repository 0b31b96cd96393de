"""(m) `TreatmentRecorded` to stock decremented at a steady 50 treatments/s, p50/p99: from the
HTTP 201 of RecordTreatment, through the relay and the inventory worker, to the treatment's
consumption in the read model; (n) a stock-level query (one item's lots and locations) over
5,000 items and 20,000 lots, over HTTP vs the same SQL run bare."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import httpx

from bench.harness import Harness, Sizes, run_alone
from bench.report import Row, value_at_most
from bench.treatments import _dentist, dentist_account
from bench.workload import open_loop, percentile, registered_patients
from commands.base import clinic_today
from commands.inventory import Inventory
from domain.inventory import Category, Item, ItemClaim, Stock, Unit, material_claim_id
from domain.shared import Meta, Role
from security.sessions import Claims

RATE = 50.0
ITEMS, LOTS_PER_ITEM = 5000, 4
READS = 500
POLL_SECONDS = 0.002
PROJECTORS = ("inventory_consumptions", "inventory_stock")
META = Meta("bench", Role.ADMIN.value, "bench", "bench")


def stocked(harness: Harness, items: int, materials: tuple[str, ...] = ()) -> list[UUID]:
    """`items` items, each with LOTS_PER_ITEM lots received in the store room, saved straight
    to the event store in chunks; the first ones supply `materials`."""
    inventory = harness.platform.application(Inventory)
    today, ids = clinic_today(), []
    for start in range(0, items, 250):
        batch: list[object] = []
        for n in range(start, min(items, start + 250)):
            material = materials[n] if n < len(materials) else None
            item = Item.define(
                name=f"Artículo {n:05d}",
                unit=Unit.UNIT,
                category=Category.OTHER,
                reorder_point="10",
                reorder_quantity="100",
                supplier_id=None,
                material=material,
                meta=META,
            )
            stock = Stock(item_id=item.id, meta=META)
            for lot in range(LOTS_PER_ITEM):
                stock.receive(
                    lot=f"L{n}-{lot}",
                    expiry=today + timedelta(days=30 + 90 * lot),
                    amount=Decimal(100_000),
                    received_on=today,
                    reference=None,
                    meta=META,
                )
            batch += [item, stock]
            if material is not None:
                claim = ItemClaim(
                    key=material_claim_id(material), what="material", item_id=item.id, meta=META
                )
                batch.append(claim)
            ids.append(item.id)
        inventory.save(*batch)  # type: ignore[arg-type]
    return ids


async def lag(harness: Harness, sizes: Sizes, headers: dict[str, str]) -> list[Row]:
    """(m): open loop at RATE treatments/s (EXT-S: gloves and a cartridge); lag from each
    201 to its consumption in the inventory's read model. The relay, the inventory worker and
    the inventory's projectors are processes of their own, as `clinic up` runs them."""
    platform = harness.platform
    await asyncio.to_thread(stocked, harness, 2, ("gloves (pair)", "anaesthetic cartridge"))
    processes = [
        await harness.spawn("relay"),
        await harness.spawn("inventory"),
        await harness.spawn("project", *PROJECTORS),
    ]
    outstanding: dict[str, float] = {}
    lags: list[float] = []
    patients = await asyncio.to_thread(registered_patients, platform, 50)
    total = round(RATE * sizes.lag_seconds)
    body = {"code": "EXT-S", "tooth": 48}

    async def watch(sent: asyncio.Event) -> None:
        while not (sent.is_set() and not outstanding):
            if outstanding:
                asked = time.perf_counter()
                rows = await platform.pool.fetch(
                    "SELECT treatment_id FROM inventory_consumptions "
                    "WHERE treatment_id = ANY($1::uuid[])",
                    [UUID(t) for t in outstanding],
                )
                for row in rows:
                    lags.append(asked - outstanding.pop(str(row["treatment_id"])))
            await asyncio.sleep(POLL_SECONDS)

    try:
        async with httpx.AsyncClient(base_url=harness.base_url, headers=headers) as client:

            async def one(n: int) -> None:
                patient = str(patients[n % len(patients)])
                response = await client.post(
                    "/api/treatments", json={**body, "patient_id": patient}
                )
                if response.status_code != 201:
                    raise RuntimeError(f"record answered {response.status_code}")
                outstanding[response.json()["id"]] = time.perf_counter()

            ready = asyncio.Event()
            ready.set()
            await one(-1)
            await asyncio.wait_for(watch(ready), timeout=60)
            lags.clear()
            await open_loop(RATE, total, one, watch)
    finally:
        for process in processes:
            await harness.reap(process)
    detail = (
        f"{len(lags)} treatments at {RATE:.0f}/s, HTTP 201 to its consumption recorded; "
        "relay, worker and projectors as processes"
    )
    return [
        Row(
            "(m) TreatmentRecorded to stock decremented, p50",
            percentile(lags, 0.5) * 1000,
            unit="ms",
            detail=detail,
        ),
        Row(
            "(m) TreatmentRecorded to stock decremented, p99",
            percentile(lags, 0.99) * 1000,
            unit="ms",
            target="≤ 200 ms",
            met=value_at_most(200),
            detail=detail,
        ),
    ]


LEVELS_SQL = (
    "SELECT s.item_id, i.name AS item, i.unit, i.category, l->>'lot' AS lot, "
    "l->>'location' AS location, l->>'expiry' AS expiry, l->>'quantity' AS quantity "
    "FROM inventory_stock s JOIN inventory_items i ON i.aggregate_id = s.item_id "
    "CROSS JOIN LATERAL jsonb_array_elements(s.document->'lots') l WHERE s.item_id = $1"
)


async def levels(harness: Harness, headers: dict[str, str]) -> list[Row]:
    """(n): ITEMS items and ITEMS x LOTS_PER_ITEM lots in the read models (rebuilt from the
    event store); one item's stock by lot and location, over HTTP vs the bare SQL."""
    platform = harness.platform
    items = await asyncio.to_thread(stocked, harness, ITEMS)
    for name in ("inventory_items", "inventory_stock"):
        await platform.projectors[name].rebuild()
    lots = await platform.pool.fetchval(
        "SELECT sum(jsonb_array_length(document->'lots')) FROM inventory_stock"
    )
    rng = random.Random(7)
    http: list[float] = []
    bare: list[float] = []
    async with httpx.AsyncClient(base_url=harness.base_url, headers=headers) as client:
        for _ in range(READS):
            item = rng.choice(items)
            started = time.perf_counter()
            response = await client.get("/api/inventory/stock", params={"item_id": str(item)})
            http.append(time.perf_counter() - started)
            if response.status_code != 200 or not response.json()["items"]:
                raise RuntimeError(f"stock answered {response.status_code}")
            started = time.perf_counter()
            await platform.pool.fetch(LEVELS_SQL, item)
            bare.append(time.perf_counter() - started)
    detail = (
        f"{len(items)} items, {lots} lots: GET /api/inventory/stock?item_id= (guard, "
        f"query, JSON) vs the same SQL bare; {READS} reads each"
    )
    return [
        Row(
            "(n) stock levels of an item, p50",
            percentile(http, 0.5) * 1000,
            percentile(bare, 0.5) * 1000,
            unit="ms",
            detail=detail,
        ),
        Row(
            "(n) stock levels of an item, p99",
            percentile(http, 0.99) * 1000,
            percentile(bare, 0.99) * 1000,
            unit="ms",
            target="≤ 10 ms",
            met=value_at_most(10),
            detail=detail,
        ),
    ]


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    dentist = await asyncio.to_thread(dentist_account, harness)
    rows = await lag(harness, sizes, await _dentist(harness, dentist))
    keeper = await harness.platform.tokens.start_session(
        Claims(dentist, uuid4(), (Role.INVENTORY.value,), "Bench Keeper")
    )
    rows += await levels(harness, {"Authorization": f"Bearer {keeper.access_token}"})
    return rows


if __name__ == "__main__":  # `python -m bench.inventory [--quick]`: these two alone
    run_alone(run, "Sonrisa benchmarks: inventory", "sonrisa_bench_inventory")
