"""The stock room's rules on the command side (in-memory event store): deliveries in, a
treatment's materials out first-expiry-first-out, never from an expired lot, a shortfall
recorded rather than refused, and a void that puts back exactly what was taken."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from commands.base import AlreadyExists
from commands.inventory import (
    AdjustStock,
    DefineItem,
    Inventory,
    ReceiveStock,
    TransferStock,
    TreatmentUse,
    uses_of,
)
from domain.inventory import STORE_ROOM, Consumption, Stock, consumption_id, stock_id
from domain.shared import InvalidValue, Meta, TransitionRefused

TODAY = date(2026, 12, 5)
META = Meta("stock-keeper", "inventory", "corr", "cause")
GTIN = "09501101530003"


@pytest.fixture
def inventory() -> Inventory:
    return Inventory(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, today=lambda: TODAY)


def cartridges(inventory: Inventory, **more: Any) -> UUID:
    fields = {"material": "anaesthetic cartridge", **more}
    cmd = DefineItem(
        name="Articaína 4% 1:100.000",
        unit="cartridge",
        category="anaesthesia",
        reorder_point=Decimal(20),
        reorder_quantity=Decimal(100),
        **fields,
    )
    return inventory.define_item(cmd, META).id


def receive(inventory: Inventory, item: UUID, lot: str, expiry: date, amount: str) -> None:
    inventory.receive(
        ReceiveStock(item_id=item, lot=lot, expiry=expiry, quantity=Decimal(amount)), META
    )


def treatment(uses: int | str = 2, lot: str | None = None, version: int = 1) -> TreatmentUse:
    bill: list[dict[str, Any]] = [
        {"item": "anaesthetic cartridge", "quantity": uses},
        {"item": "gloves", "quantity": 1},
    ]
    named = [{"item": "anaesthetic cartridge", "lot": lot}] if lot else []
    found, devices = uses_of(bill, named, TODAY)
    return TreatmentUse(
        treatment_id=TREATMENT,
        treatment_version=version,
        patient_id=PATIENT,
        procedure="EXT-S",
        performed_at=datetime(2026, 12, 5, 10, tzinfo=UTC),
        tooth=36,
        operatory=None,
        uses=found,
        devices=devices,
    )


TREATMENT, PATIENT = uuid4(), uuid4()


def on_hand(inventory: Inventory, item: UUID) -> dict[str, Decimal]:
    stock = inventory.load(stock_id(item), Stock)
    return {lot: left for (lot, _), left in sorted(stock.on_hand.items())}


def test_a_treatment_takes_from_the_lot_that_expires_first(inventory: Inventory) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "LATE", date(2028, 1, 1), "50")
    receive(inventory, item, "EARLY", date(2027, 3, 1), "1")

    inventory.consume(treatment(uses=2), META)

    assert on_hand(inventory, item) == {"LATE": Decimal(49)}
    lines = inventory.load(consumption_id(TREATMENT), Consumption).lines
    assert [(line["lot"], line["quantity"]) for line in lines] == [("EARLY", "1"), ("LATE", "1")]


def test_an_expired_lot_is_never_picked(inventory: Inventory) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "OLD", date(2026, 12, 10), "10")
    receive(inventory, item, "NEW", date(2028, 1, 1), "10")
    stock = inventory.load(stock_id(item), Stock)

    lines, short = stock.choose(STORE_ROOM, Decimal(3), date(2026, 12, 11))

    assert [line["lot"] for line in lines] == ["NEW"]
    assert short == 0


def test_a_named_lot_is_taken_even_when_another_expires_first(inventory: Inventory) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "EARLY", date(2027, 3, 1), "5")
    receive(inventory, item, "NAMED", date(2028, 1, 1), "5")

    inventory.consume(treatment(uses=2, lot="NAMED"), META)

    assert on_hand(inventory, item) == {"EARLY": Decimal(5), "NAMED": Decimal(3)}


def test_a_use_beyond_the_count_is_recorded_as_short_and_the_treatment_kept(
    inventory: Inventory,
) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "ONLY", date(2028, 1, 1), "1")

    written = inventory.consume(treatment(uses=3), META)

    assert written is not None
    assert on_hand(inventory, item) == {}
    lines = inventory.load(consumption_id(TREATMENT), Consumption).lines
    assert [(line["lot"], line["quantity"]) for line in lines] == [("ONLY", "1"), (None, "2")]


def test_a_redelivered_treatment_is_deducted_once(inventory: Inventory) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "L1", date(2028, 1, 1), "10")

    assert inventory.consume(treatment(), META) is not None
    assert inventory.consume(treatment(), META) is None

    assert on_hand(inventory, item) == {"L1": Decimal(8)}


def test_a_void_returns_the_stock_to_the_same_lots(inventory: Inventory) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "EARLY", date(2027, 3, 1), "1")
    receive(inventory, item, "LATE", date(2028, 1, 1), "10")
    inventory.consume(treatment(uses=2), META)

    inventory.give_back(TREATMENT, 2, META)
    inventory.give_back(TREATMENT, 2, META)  # redelivered: nothing more comes back

    assert on_hand(inventory, item) == {"EARLY": Decimal(1), "LATE": Decimal(10)}


def test_an_amendment_corrects_the_deduction(inventory: Inventory) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "L1", date(2027, 3, 1), "10")
    receive(inventory, item, "L2", date(2028, 1, 1), "10")
    inventory.consume(treatment(uses=2), META)

    inventory.correct(treatment(uses=2, lot="L2", version=2), META)
    inventory.correct(treatment(uses=2, lot="L2", version=2), META)  # redelivered

    assert on_hand(inventory, item) == {"L1": Decimal(10), "L2": Decimal(8)}


def test_quantities_are_exact_decimals_in_the_items_unit(inventory: Inventory) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "L1", date(2028, 1, 1), "0.1")
    receive(inventory, item, "L1", date(2028, 1, 1), "0.2")

    assert on_hand(inventory, item) == {"L1": Decimal("0.3")}
    with pytest.raises(InvalidValue, match="at most 3 decimal places"):
        receive(inventory, item, "L1", date(2028, 1, 1), "0.0001")


def test_bad_deliveries_are_refused_and_write_nothing(inventory: Inventory) -> None:
    item = cartridges(inventory)
    with pytest.raises(InvalidValue, match="more than zero"):
        receive(inventory, item, "L1", date(2028, 1, 1), "-5")
    with pytest.raises(InvalidValue, match="before the day it is received"):
        receive(inventory, item, "L1", date(2026, 12, 4), "5")
    with pytest.raises(InvalidValue, match="check digit") as bad_scan:
        inventory.receive(ReceiveStock(scan="010950110153000417281231", quantity=Decimal(1)), META)
    assert bad_scan.value.field == "scan.gtin"

    assert inventory.load(stock_id(item), Stock).version == 1


def test_a_scanned_package_fills_item_lot_and_expiry(inventory: Inventory) -> None:
    item = cartridges(inventory, gtin=GTIN)
    for scanned in (f"01{GTIN}1728123110AB-123", f"]d201{GTIN}10AB-123\x1d17281231"):
        inventory.receive(ReceiveStock(scan=scanned, quantity=Decimal(2)), META)

    stock = inventory.load(stock_id(item), Stock)
    assert stock.expiries == {"AB-123": date(2028, 12, 31)}
    assert on_hand(inventory, item) == {"AB-123": Decimal(4)}


def test_a_gtin_and_a_material_are_bound_to_one_item(inventory: Inventory) -> None:
    cartridges(inventory, gtin=GTIN)
    with pytest.raises(AlreadyExists):
        cartridges(inventory)
    with pytest.raises(InvalidValue, match="check digit"):
        cartridges(inventory, material=None, gtin="09501101530004")


def test_stock_moves_between_locations_and_is_corrected_with_a_reason(
    inventory: Inventory,
) -> None:
    item = cartridges(inventory)
    receive(inventory, item, "L1", date(2028, 1, 1), "10")
    chair = str(uuid4())

    inventory.transfer(item, TransferStock(lot="L1", destination=chair, quantity=Decimal(4)), META)
    inventory.adjust(
        item, AdjustStock(lot="L1", location=chair, change=Decimal(-1), reason="breakage"), META
    )

    stock = inventory.load(stock_id(item), Stock)
    assert stock.available("L1", chair) == 3
    assert stock.available("L1", STORE_ROOM) == 6
    with pytest.raises(TransitionRefused, match="only 3 of lot L1"):
        inventory.transfer(
            item, TransferStock(lot="L1", source=chair, destination=STORE_ROOM, quantity=5), META
        )


def test_boxes_are_bought_and_units_counted(inventory: Inventory) -> None:
    boxed = cartridges(inventory, pack_unit="box", pack_size=Decimal(50))
    inventory.receive(
        ReceiveStock(item_id=boxed, lot="L1", expiry=date(2028, 1, 1), packs=Decimal(2)), META
    )

    assert on_hand(inventory, boxed) == {"L1": Decimal(100)}
    with pytest.raises(InvalidValue, match="the quantity, or the number of packs"):
        inventory.receive(
            ReceiveStock(item_id=boxed, lot="L1", quantity=Decimal(1), packs=Decimal(1)), META
        )
    unboxed = cartridges(inventory, material=None)
    with pytest.raises(InvalidValue, match="has no pack size"):
        inventory.receive(ReceiveStock(item_id=unboxed, lot="L2", packs=Decimal(1)), META)
