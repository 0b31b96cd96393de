"""The inventory over real PostgreSQL and RabbitMQ: a treatment recorded in the treatments
context lowers the stock over the bus by its bill of materials, first-expiry-first-out; a void
puts it back in the same lot, a redelivered message changes nothing, racing receipts and uses
end at the exact total, and a use beyond the count keeps the treatment and raises an alert."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from bus.inventory import TreatmentReactions
from clinic.platform import Platform
from commands.base import StaleVersion, clinic_today
from commands.inventory import DefineItem, Inventory, ReceiveStock, TreatmentUse, uses_of
from commands.treatments import RecordTreatment, Treatments, VoidTreatment
from domain.inventory import Stock, stock_id
from projections.inventory import InventoryQueries
from tests.conftest import eventually, running
from tests.integration.helpers import META, clinician, publish, registered_patient

TODAY = clinic_today()
NOW = datetime.now(UTC)


@pytest.fixture
async def worker(platform: Platform, pipeline: None) -> AsyncIterator[None]:
    """The inventory worker's consumer of treatments' events, beside relay and projectors."""
    async with running(platform.consumer(TreatmentReactions.name).run):
        yield


def cartridges(platform: Platform, *lots: tuple[str, int, str]) -> UUID:
    """Anaesthetic cartridges in the store room: (lot, days to expiry, how many) each."""
    inventory = platform.application(Inventory)
    item = inventory.define_item(
        DefineItem(
            name="Articaína 4%",
            unit="cartridge",
            category="anaesthesia",
            reorder_point=Decimal(5),
            reorder_quantity=Decimal(50),
            material="anaesthetic cartridge",
        ),
        META,
    ).id
    for lot, days, count in lots:
        inventory.receive(
            ReceiveStock(
                item_id=item,
                lot=lot,
                expiry=TODAY + timedelta(days=days),
                quantity=Decimal(count),
            ),
            META,
        )
    return item


async def lots_of(platform: Platform, item: UUID) -> dict[str, str]:
    rows = await platform.get(InventoryQueries).levels(item)
    return {r["lot"]: r["quantity"] for r in rows}


async def settles_at(platform: Platform, item: UUID, expected: dict[str, str]) -> None:
    async def there() -> bool:
        return await lots_of(platform, item) == expected

    await eventually(there, what=f"stock of {expected}")


def extraction(platform: Platform, patient: UUID) -> UUID:
    """A simple extraction (EXT-S): one pair of gloves and one anaesthetic cartridge."""
    body = RecordTreatment(patient_id=patient, code="EXT-S", tooth=48)
    return platform.application(Treatments).record(body, clinician(platform)).id


async def test_a_recorded_treatment_lowers_stock_from_the_lot_that_expires_first(
    platform: Platform, worker: None
) -> None:
    item = cartridges(platform, ("LATER", 300, "10"), ("SOONER", 90, "3"))
    patient = registered_patient(platform)

    extraction(platform, patient)

    await settles_at(platform, item, {"SOONER": "2", "LATER": "10"})


def received_long_ago(platform: Platform, item: UUID, lot: str, expired_days_ago: int) -> None:
    """A lot received a year ago that has expired since, still on the shelf."""
    platform.application(Inventory).change(
        stock_id(item),
        Stock,
        lambda stock: stock.receive(
            lot=lot,
            expiry=TODAY - timedelta(days=expired_days_ago),
            amount=Decimal(5),
            received_on=TODAY - timedelta(days=365),
            reference=None,
            meta=META,
        ),
    )


async def test_an_expired_lot_is_never_picked_and_shows_as_expired_on_the_shelf(
    platform: Platform, worker: None
) -> None:
    item = cartridges(platform, ("GOOD", 300, "4"))
    received_long_ago(platform, item, "EXPIRED", expired_days_ago=1)
    patient = registered_patient(platform)

    extraction(platform, patient)

    await settles_at(platform, item, {"EXPIRED": "5", "GOOD": "3"})
    (expired,) = (await platform.get(InventoryQueries).alerts(TODAY))["expired"]
    assert (expired["lot"], expired["quantity"]) == ("EXPIRED", "5")


async def test_a_void_returns_the_stock_to_the_same_lot_and_a_duplicate_changes_nothing(
    platform: Platform, worker: None
) -> None:
    item = cartridges(platform, ("A", 60, "1"), ("B", 300, "5"))
    patient = registered_patient(platform)
    first = extraction(platform, patient)
    second = extraction(platform, patient)
    await settles_at(platform, item, {"B": "4"})

    treatments = platform.application(Treatments)
    treatments.void(first, VoidTreatment(reason="entered in error"), clinician(platform), None)
    await settles_at(platform, item, {"A": "1", "B": "4"})
    history = await platform.reader.aggregate_events("treatments", second)
    await publish(platform, history)  # the second treatment's recording, delivered again
    await publish(platform, await platform.reader.aggregate_events("treatments", first))
    extraction(platform, patient)  # after the duplicates in the queue: once it shows, they did
    await settles_at(platform, item, {"B": "4"})  # A's last cartridge, expiring first

    stock = platform.application(Inventory).load(stock_id(item), Stock)
    assert stock.on_hand == {("B", "store-room"): 4}


async def test_racing_receipts_and_uses_of_one_item_end_at_the_exact_total(
    platform: Platform, worker: None
) -> None:
    """Every write that was answered as done is in the total, and no other: a racer that
    lost its every try was told so (StaleVersion, "try again") and changed nothing. How many
    lose depends on the machine's load; that none is lost or counted twice does not."""
    item = cartridges(platform, ("L", 300, "10"))
    patient = registered_patient(platform)
    inventory = platform.application(Inventory)

    def receipt() -> Decimal:
        try:
            inventory.receive(ReceiveStock(item_id=item, lot="L", quantity=Decimal("2.5")), META)
        except StaleVersion:
            return Decimal(0)
        return Decimal("2.5")

    def use() -> Decimal:  # as the worker does for a treatment, on another thread
        uses, _ = uses_of([{"item": "anaesthetic cartridge", "quantity": 1}], [], TODAY)
        treatment = TreatmentUse(uuid4(), 1, patient, "EXT-S", NOW, 48, None, uses)
        try:
            assert inventory.consume(treatment, META) is not None
        except StaleVersion:
            return Decimal(0)
        return Decimal(-1)

    changes = await asyncio.gather(
        *(asyncio.to_thread(receipt if n % 2 else use) for n in range(20))
    )

    assert any(changes), "of racers on one item, one wins each round"
    total = Decimal(10) + sum(changes)
    await settles_at(platform, item, {"L": f"{total.normalize():f}"})  # 25 when none lost
    stock = platform.application(Inventory).load(stock_id(item), Stock)
    assert stock.on_hand == {("L", "store-room"): total}


async def test_a_use_beyond_the_count_keeps_the_treatment_and_raises_a_discrepancy(
    platform: Platform, worker: None
) -> None:
    item = cartridges(platform, ("LAST", 300, "1"))
    patient = registered_patient(platform)
    extraction(platform, patient)
    treatment = extraction(platform, patient)
    queries = platform.get(InventoryQueries)

    async def alerted() -> bool:
        return bool((await queries.alerts(TODAY))["discrepancies"])

    await eventually(alerted, what="the discrepancy alert")
    (alert,) = (await queries.alerts(TODAY))["discrepancies"]
    assert alert["item_id"] == str(item)
    assert alert["quantity"] == "1"
    assert platform.application(Treatments).exists(treatment)
    assert (await queries.alerts(TODAY))["below_reorder_point"][0]["on_hand"] == "0"
