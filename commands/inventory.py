"""Commands on the clinic's stock, and the Application that handles them: load, decide, save.

Staff define items and suppliers, receive deliveries (typed or scanned), move stock between
the store room and the operatories and correct it with a reason. The inventory worker turns
treatments' events into consumptions (`consume`, `correct`, `give_back`): each is saved
with the stocks it changed in one transaction, and is idempotent by the treatment's version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import Field, StrictInt, StringConstraints

from commands.base import (
    WHOLE,
    AlreadyExists,
    ClinicApplication,
    Command,
    Day,
    DecimalForm,
    NotFound,
    Scanned,
    Unit,
    Written,
    clinic_today,
)
from domain.inventory import (
    STORE_ROOM,
    Category,
    Consumption,
    Item,
    ItemClaim,
    Line,
    Reason,
    Scan,
    Stock,
    Supplier,
    consumption_id,
    gtin_claim_id,
    material_claim_id,
    material_key,
    quantity,
    read_scan,
    stock_id,
    valid_gtin,
)
from domain.inventory import Unit as StockUnit
from domain.shared import InvalidValue, Meta

SAVE_ATTEMPTS = 8  # consumptions and receipts of one item race; each loser decides again
Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Lot = Annotated[str, StringConstraints(min_length=1, max_length=40)]
Location = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Gtin = Annotated[str, StringConstraints(pattern=r"^\d{8}$|^\d{12,14}$")]
# An amount in the item's unit; exactness (at most three places) is the domain's rule.
AMOUNT = DecimalForm(9, "an amount like 2 or 2.5")
Amount = Annotated[Decimal, AMOUNT.before, AMOUNT.bounds, AMOUNT.schema]


class DefineItem(Command):
    name: Name
    unit: StockUnit
    category: Category
    location: Location = STORE_ROOM
    reorder_point: Amount = Decimal(0)
    reorder_quantity: Amount
    supplier_id: UUID | None = None
    material: Name | None = Field(
        default=None,
        description="the treatments catalogue's material this item supplies (its bill of "
        "materials names it, like 'anaesthetic cartridge'); consumed from treatments",
    )
    gtin: Gtin | None = Field(default=None, description="the package's GTIN, bound once")


class ReviseItem(Command):
    name: Name
    category: Category
    location: Location = STORE_ROOM
    reorder_point: Amount = Decimal(0)
    reorder_quantity: Amount
    supplier_id: UUID | None = None


class AddSupplier(Command):
    name: Name
    email: Annotated[str, StringConstraints(max_length=254)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    lead_days: Annotated[StrictInt, Field(ge=0, le=365), WHOLE] = 2


class ReceiveStock(Command):
    """Goods in: typed, or filled from the package's scanned GS1 barcode (its GTIN names the
    item, and its lot and expiry fill those fields)."""

    item_id: UUID | None = None
    scan: Scanned | None = Field(
        default=None, description="a GS1 element string as the scanner types it"
    )
    lot: Lot | None = None
    expiry: Day | None = None
    location: Location = STORE_ROOM
    quantity: Amount
    reference: Annotated[str, StringConstraints(max_length=120)] | None = Field(
        default=None, description="the delivery note's number"
    )


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


@dataclass(frozen=True, slots=True)
class Use:
    """One material a treatment used: the catalogue's name, how many, and the lot the
    clinician named (or the device they scanned), if any."""

    material: str
    amount: Decimal
    lot: str | None = None


@dataclass(frozen=True, slots=True)
class TreatmentUse:
    """What the inventory needs to know of a recorded (or amended) treatment."""

    treatment_id: UUID
    treatment_version: int
    patient_id: UUID
    procedure: str
    performed_at: datetime
    tooth: int | None
    operatory: str | None
    uses: tuple[Use, ...]
    devices: tuple[dict[str, str | None], ...] = field(default=())


def device_of(text: str | None, on: date) -> Scan | None:
    """A named lot that is a scanned UDI (an implant's GS1 string), read; plain text is not."""
    if not text or not text.lstrip("]").startswith(("01", "d201")):
        return None
    try:
        return read_scan(text, on, "udi")
    except InvalidValue:
        return None


class Inventory(ClinicApplication):
    """The command side of the `inventory` context."""

    def __init__(
        self, env: dict[str, str] | None = None, today: Callable[[], date] = clinic_today
    ) -> None:
        super().__init__(env, today)

    # Items and suppliers -----------------------------------------------------------------

    def define_item(self, cmd: DefineItem, meta: Meta) -> Written:
        """An item, with its material and GTIN claimed for it in the same transaction."""
        if cmd.supplier_id is not None:
            self.load(cmd.supplier_id, Supplier)

        def make() -> tuple[Item, list[Aggregate]]:
            item = Item.define(
                name=cmd.name,
                unit=cmd.unit,
                category=cmd.category,
                location=cmd.location,
                reorder_point=cmd.reorder_point,
                reorder_quantity=cmd.reorder_quantity,
                supplier_id=cmd.supplier_id,
                material=cmd.material,
                meta=meta,
            )
            claims: list[Aggregate] = [Stock(item_id=item.id, meta=meta)]
            if item.material is not None:
                claims.append(self._claim(material_claim_id(item.material), item, "material", meta))
            if cmd.gtin is not None:
                gtin = valid_gtin(cmd.gtin)
                item.bind_gtin(gtin, meta)
                claims.append(self._claim(gtin_claim_id(gtin), item, "gtin", meta))
            return item, claims

        return self.create(make, attempts=2)

    def _claim(self, key: UUID, item: Item, what: str, meta: Meta) -> ItemClaim:
        if self.exists(key):
            other = self.load(key, ItemClaim).item_id
            raise AlreadyExists(f"that {what} is bound to item {other} already")
        return ItemClaim(key=key, what=what, item_id=item.id, meta=meta)

    def revise_item(
        self, item_id: UUID, cmd: ReviseItem, meta: Meta, expected_version: int | None
    ) -> Written:
        if cmd.supplier_id is not None:
            self.load(cmd.supplier_id, Supplier)
        return self.change(
            item_id,
            Item,
            lambda item: item.revise(
                name=cmd.name,
                category=cmd.category,
                location=cmd.location,
                reorder_point=cmd.reorder_point,
                reorder_quantity=cmd.reorder_quantity,
                supplier_id=cmd.supplier_id,
                meta=meta,
            ),
            expected_version,
        )

    def add_supplier(self, cmd: AddSupplier, meta: Meta) -> Written:
        return self.create(
            lambda: Supplier.add(
                name=cmd.name, email=cmd.email, phone=cmd.phone, lead_days=cmd.lead_days,
                meta=meta,
            )
        )  # fmt: skip

    def item_of_gtin(self, gtin: str) -> UUID:
        try:
            return self.load(gtin_claim_id(gtin), ItemClaim).item_id
        except NotFound:
            raise InvalidValue(
                f"GTIN {gtin} is not bound to any item: define the item with its GTIN first",
                field="scan.gtin",
            ) from None

    # Stock -------------------------------------------------------------------------------

    def receive(self, cmd: ReceiveStock, meta: Meta) -> Written:
        """Goods in, into the item's stock. A scan fills the item, lot and expiry; what was
        also typed must agree with it."""
        today = self.today()
        item_id, lot, expiry = cmd.item_id, cmd.lot, cmd.expiry
        if cmd.scan is not None:
            scan = read_scan(cmd.scan, today)
            scanned_item = self.item_of_gtin(scan.gtin)
            if item_id is not None and item_id != scanned_item:
                raise InvalidValue("the scanned GTIN is another item's", field="scan.gtin")
            if lot is not None and scan.lot is not None and lot != scan.lot:
                raise InvalidValue("the typed lot differs from the scanned one", field="lot")
            item_id, lot, expiry = scanned_item, lot or scan.lot, expiry or scan.expiry
        if item_id is None:
            raise InvalidValue("name the item, or scan its package", field="item_id")
        if lot is None:
            raise InvalidValue("a delivery's lot number is on its package", field="lot")
        self.load(item_id, Item)
        received_lot: str = lot
        return self.change(
            stock_id(item_id),
            Stock,
            lambda stock: stock.receive(
                lot=received_lot,
                expiry=expiry,
                location=cmd.location,
                amount=cmd.quantity,
                received_on=today,
                reference=cmd.reference,
                meta=meta,
            ),
            attempts=SAVE_ATTEMPTS,
        )

    def transfer(
        self, item_id: UUID, cmd: TransferStock, meta: Meta, expected_version: int | None = None
    ) -> Written:
        return self._on_stock(
            item_id,
            lambda stock: stock.transfer(
                lot=cmd.lot,
                source=cmd.source,
                destination=cmd.destination,
                amount=cmd.quantity,
                meta=meta,
            ),
            expected_version,
        )

    def adjust(
        self, item_id: UUID, cmd: AdjustStock, meta: Meta, expected_version: int | None = None
    ) -> Written:
        return self._on_stock(
            item_id,
            lambda stock: stock.adjust(
                lot=cmd.lot,
                location=cmd.location,
                change=cmd.change,
                reason=cmd.reason,
                note=cmd.note,
                meta=meta,
            ),
            expected_version,
        )

    def _on_stock(
        self, item_id: UUID, decide: Callable[[Stock], None], expected_version: int | None
    ) -> Written:
        """A stock keeper's change to an item's stock: checked against the version they saw
        (If-Match), or decided again on fresh stock after a race with a use or a delivery."""
        self.load(item_id, Item)
        return self.change(
            stock_id(item_id),
            Stock,
            decide,
            expected_version,
            attempts=1 if expected_version is not None else SAVE_ATTEMPTS,
        )

    # Consumption, from treatments' events ------------------------------------------------

    def consume(self, use: TreatmentUse, meta: Meta) -> Written | None:
        """A recorded treatment's materials out of stock, once (a redelivery finds its
        consumption saved). Materials no item supplies are not stocked, so not counted."""
        key = consumption_id(use.treatment_id)

        def decide() -> Unit[Written | None]:
            if self.exists(key):
                return Unit(None)
            stocks, lines = self._take(use, key, meta)
            consumption = Consumption(
                treatment_id=use.treatment_id,
                patient_id=use.patient_id,
                procedure=use.procedure,
                performed_at=use.performed_at,
                tooth=use.tooth,
                location=use.operatory or STORE_ROOM,
                lines=lines,
                devices=list(use.devices),
                treatment_version=use.treatment_version,
                meta=meta,
            )
            return Unit(Written.of(consumption), (consumption, *stocks))

        return self.unit_of_work(decide, attempts=SAVE_ATTEMPTS)

    def correct(self, use: TreatmentUse, meta: Meta) -> Written | None:
        """An amended treatment: what it took goes back to its lots and the amended use is
        taken again, in one transaction. A consumption not yet made is made."""
        key = consumption_id(use.treatment_id)

        def decide() -> Unit[Written | None]:
            if not self.exists(key):
                return Unit(None)
            consumption = self.load(key, Consumption)
            if consumption.done_up_to(use.treatment_version) or consumption.reversed:
                return Unit(None)
            returned = self._give_back(consumption, meta)
            stocks, lines = self._take(use, key, meta, returned)
            consumption.correct(
                tooth=use.tooth,
                lines=lines,
                devices=list(use.devices),
                treatment_version=use.treatment_version,
                meta=meta,
            )
            return Unit(Written.of(consumption), (consumption, *stocks))

        if not self.exists(key):
            return self.consume(use, meta)
        return self.unit_of_work(decide, attempts=SAVE_ATTEMPTS)

    def give_back(self, treatment_id: UUID, treatment_version: int, meta: Meta) -> Written | None:
        """A voided treatment: everything it took returns to the very lots it came from."""
        key = consumption_id(treatment_id)

        def decide() -> Unit[Written | None]:
            if not self.exists(key):
                return Unit(None)
            consumption = self.load(key, Consumption)
            if consumption.reversed:
                return Unit(None)
            stocks = self._give_back(consumption, meta)
            consumption.reverse(treatment_version=treatment_version, meta=meta)
            return Unit(Written.of(consumption), (consumption, *stocks.values()))

        return self.unit_of_work(decide, attempts=SAVE_ATTEMPTS)

    def _give_back(self, consumption: Consumption, meta: Meta) -> dict[UUID, Stock]:
        stocks: dict[UUID, Stock] = {}
        for item in sorted({line["item_id"] for line in consumption.lines}):
            stock = self.load(stock_id(UUID(item)), Stock)
            stock.give_back(
                consumption=consumption.id,
                location=consumption.location,
                lines=consumption.lines,
                meta=meta,
            )
            stocks[stock.item_id] = stock
        return stocks

    def _take(
        self,
        use: TreatmentUse,
        key: UUID,
        meta: Meta,
        loaded: dict[UUID, Stock] | None = None,
    ) -> tuple[list[Stock], list[Line]]:
        stocks: dict[UUID, Stock] = dict(loaded or {})
        lines: list[Line] = []
        today = use.performed_at.date()
        for material in use.uses:
            item_id = self._supplier_of(material.material)
            if item_id is None:
                continue
            stock = stocks.get(item_id) or self.load(stock_id(item_id), Stock)
            stocks[item_id] = stock
            location = _where(stock, use.operatory)
            lines += stock.take(
                consumption=key,
                location=location,
                amount=quantity(material.amount),
                today=today,
                named_lot=material.lot,
                meta=meta,
            )
        return list(stocks.values()), lines

    def _supplier_of(self, material: str) -> UUID | None:
        """The item that supplies a material of the treatments catalogue, if one does."""
        try:
            return self.load(material_claim_id(material), ItemClaim).item_id
        except NotFound:
            return None


def _where(stock: Stock, operatory: str | None) -> str:
    """The operatory's drawer while it holds the item; the store room otherwise."""
    if operatory is not None and any(
        where == operatory and left > 0 for (_, where), left in stock.on_hand.items()
    ):
        return operatory
    return STORE_ROOM


def uses_of(
    bill: Sequence[dict[str, Any]], named: Sequence[dict[str, Any]], on: date
) -> tuple[tuple[Use, ...], tuple[dict[str, str | None], ...]]:
    """A treatment's bill of materials, each with the lot the clinician named for it, and the
    devices whose UDI they scanned (an implant's GS1 string names its GTIN, lot and serial)."""
    lots: dict[str, str] = {}
    devices: list[dict[str, str | None]] = []
    for m in named:
        text = m.get("lot")
        if not text:
            continue
        device = device_of(str(text), on)
        material = str(m.get("item") or "")
        if device is not None:
            devices.append(
                {
                    "material": material,
                    "udi": device.text,
                    "gtin": device.gtin,
                    "lot": device.lot,
                    "serial": device.serial,
                    "expiry": device.expiry.isoformat() if device.expiry else None,
                }
            )
        lot = device.lot if device is not None else str(text)
        if lot:
            lots[material_key(material)] = lot
    uses = tuple(
        Use(str(b["item"]), Decimal(str(b["quantity"])), lots.get(material_key(str(b["item"]))))
        for b in bill
    )
    return uses, tuple(devices)
