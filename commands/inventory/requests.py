"""What staff ask of the stock, as they typed it: items and suppliers, deliveries (typed or
scanned, in units or packs), orders, transfers, corrections and stock-takes."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import Field, StrictInt, StringConstraints

from commands.base import (
    WHOLE,
    Command,
    Day,
    DecimalForm,
    Scanned,
)
from domain.inventory import (
    STORE_ROOM,
    Category,
    Reason,
)
from domain.inventory import Unit as StockUnit
from domain.shared import InvalidValue

Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Lot = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Location = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Gtin = Annotated[str, StringConstraints(pattern=r"^\d{8}$|^\d{12,14}$")]
# An amount in the item's unit; exactness (at most three places) is the domain's rule.
AMOUNT = DecimalForm(9, "an amount like 2 or 2.5")
Amount = Annotated[Decimal, AMOUNT.before, AMOUNT.bounds, AMOUNT.schema]


class ReviseItem(Command):
    """How an item is described, kept, bought and reordered (its unit is fixed)."""

    name: Name
    category: Category
    location: Location = STORE_ROOM
    reorder_point: Amount = Decimal(0)
    reorder_quantity: Amount
    supplier_id: UUID | None = None
    pack_unit: StockUnit | None = Field(default=None, description="how it is bought: a box")
    pack_size: Amount | None = Field(default=None, description="units in one pack")

    def pack(self) -> tuple[StockUnit, Decimal] | None:
        if (self.pack_unit is None) != (self.pack_size is None):
            raise InvalidValue("a pack has both its unit and its size", field="pack_size")
        if self.pack_unit is None or self.pack_size is None:
            return None
        return self.pack_unit, self.pack_size


class DefineItem(ReviseItem):
    """A new item: also its unit, the catalogue material it supplies and its GTIN."""

    unit: StockUnit
    material: Name | None = Field(
        default=None,
        description="the treatments catalogue's material this item supplies (its bill of "
        "materials names it, like 'anaesthetic cartridge'); consumed from treatments",
    )
    gtin: Gtin | None = Field(default=None, description="the package's GTIN, bound once")


class AddSupplier(Command):
    name: Name
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    lead_days: Annotated[StrictInt, Field(ge=0, le=365), WHOLE] = 2


class ReceiptLine(Command):
    """One lot that came: typed, or filled from the package's scanned GS1 barcode (its GTIN
    names the item, and its lot and expiry fill those fields)."""

    item_id: UUID | None = None
    scan: Scanned | None = Field(
        default=None, description="a GS1 element string as the scanner types it"
    )
    lot: Lot | None = None
    expiry: Day | None = None
    location: Location = STORE_ROOM
    quantity: Amount | None = Field(default=None, description="in the item's unit")
    packs: Amount | None = Field(default=None, description="or in packs, for an item bought so")


Reference = Annotated[str, StringConstraints(max_length=120)]


class ReceiveStock(ReceiptLine):
    """Goods in without an order."""

    reference: Reference | None = Field(default=None, description="the delivery note's number")


class OrderedLine(ReceiptLine):
    instead_of: UUID | None = Field(
        default=None, description="for a substitute: the ordered item it replaces"
    )


class ReceiveOrder(Command):
    """Goods in against a sent order: short, over or substituted as they came."""

    lines: list[OrderedLine] = Field(min_length=1, max_length=200)
    reference: Reference | None = Field(default=None, description="the delivery note's number")


class OrderLine(Command):
    item_id: UUID
    quantity: Amount | None = Field(default=None, description="in the item's unit")
    packs: Amount | None = Field(default=None, description="or in packs, for an item bought so")


class DraftOrder(Command):
    supplier_id: UUID
    lines: list[OrderLine] = Field(min_length=1, max_length=200)
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class CancelOrder(Command):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class StartStockTake(Command):
    location: Location = STORE_ROOM


class CountLot(Command):
    item_id: UUID
    lot: Lot
    counted: Amount = Field(description="what is on the shelf: zero or more")


class TransferStock(Command):
    lot: Lot
    source: Location = STORE_ROOM
    destination: Location
    quantity: Amount


class AdjustStock(Command):
    lot: Lot
    location: Location = STORE_ROOM
    change: Amount = Field(description="negative for breakage or loss; a count may add")
    reason: Reason
    note: Annotated[str, StringConstraints(max_length=500)] | None = None
