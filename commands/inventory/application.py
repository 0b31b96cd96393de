"""The inventory's Application: load, decide, save.

Staff define items and suppliers, receive deliveries (typed or scanned), order, move stock
between the store room and the operatories, correct it with a reason and count it. The
inventory worker turns treatments' events into consumptions (`consume`, `correct`,
`give_back`): each is saved with the stocks it changed in one transaction, and is idempotent
by the treatment's version (ADR 28).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from commands.base import (
    AlreadyExists,
    ClinicApplication,
    NotFound,
    Unit,
    Written,
    clinic_day,
)
from commands.inventory.requests import (
    AddSupplier,
    AdjustStock,
    CancelOrder,
    CountLot,
    DefineItem,
    DraftOrder,
    OrderedLine,
    OrderLine,
    ReceiptLine,
    ReceiveOrder,
    ReceiveStock,
    ReviseItem,
    StartStockTake,
    TransferStock,
)
from commands.inventory.uses import TreatmentUse
from domain.inventory import (
    STORE_ROOM,
    Consumption,
    Item,
    ItemClaim,
    Line,
    PurchaseOrder,
    Reason,
    Stock,
    StockTake,
    Supplier,
    consumption_id,
    gtin_claim_id,
    material_claim_id,
    quantity,
    read_scan,
    stock_id,
    text_of,
    valid_gtin,
    variances,
)
from domain.shared import InvalidValue, Meta

SAVE_ATTEMPTS = 8  # consumptions and receipts of one item race; each loser decides again


@dataclass(frozen=True, slots=True)
class Received:
    """A receipt line resolved: the item, lot and expiry (from the scan or as typed)."""

    item_id: UUID
    lot: str
    expiry: date | None
    location: str
    amount: Decimal


class Inventory(ClinicApplication):
    """The command side of the `inventory` context.

    Every use of an item loads its stock, whose history grows with every treatment: loaded
    aggregates are cached, and a cached one is brought up to date with only the events saved
    since (eventsourcing's fast-forward), so a long-running worker or API process never
    replays an item's whole history twice. Another process's writes are read on the next
    load; a race is still caught by the version check when saving."""

    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "5000"}

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
                pack=cmd.pack(),
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
                pack=cmd.pack(),
            ),
            expected_version,
        )

    def add_supplier(self, cmd: AddSupplier, meta: Meta) -> Written:
        return self.create(
            lambda: Supplier.add(
                name=cmd.name,
                email=cmd.email,
                phone=cmd.phone,
                lead_days=cmd.lead_days,
                meta=meta,
            )
        )

    def item_of_gtin(self, gtin: str) -> UUID:
        try:
            return self._claim_of(gtin_claim_id(gtin)).item_id
        except NotFound:
            raise InvalidValue(
                f"GTIN {gtin} is not bound to any item: define the item with its GTIN first",
                field="scan.gtin",
            ) from None

    # Stock -------------------------------------------------------------------------------

    def resolved(self, line: ReceiptLine, today: date) -> Received:
        """The item, lot and expiry of a receipt line. A scan fills them; what was also typed
        must agree with it."""
        item_id, lot, expiry = line.item_id, line.lot, line.expiry
        if line.scan is not None:
            scan = read_scan(line.scan, today)
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
        amount = self._amount(self.load(item_id, Item), line.quantity, line.packs)
        return Received(item_id, lot, expiry, line.location, amount)

    @staticmethod
    def _amount(item: Item, units: Decimal | None, packs: Decimal | None) -> Decimal:
        """An amount given in the item's units or in its packs (exactly one of them)."""
        if (units is None) == (packs is None):
            raise InvalidValue("give the quantity, or the number of packs", field="quantity")
        return item.in_units(packs) if packs is not None else quantity(units or 0)

    def receive(self, cmd: ReceiveStock, meta: Meta) -> Written:
        """Goods in without an order, into the item's stock."""
        today = self.today()
        came = self.resolved(cmd, today)
        return self.change(
            stock_id(came.item_id),
            Stock,
            lambda stock: _into(stock, came, today, cmd.reference, meta),
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

    # Purchasing ------------------------------------------------------------------------

    def draft_order(self, cmd: DraftOrder, meta: Meta, *, suggested: bool = False) -> Written:
        self.load(cmd.supplier_id, Supplier)
        lines = [
            (line.item_id, self._amount(self.load(line.item_id, Item), line.quantity, line.packs))
            for line in cmd.lines
        ]
        return self.create(
            lambda: PurchaseOrder.draft(
                supplier_id=cmd.supplier_id,
                lines=lines,
                note=cmd.note,
                suggested=suggested,
                meta=meta,
            )
        )

    def send_order(self, order_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        return self.change(order_id, PurchaseOrder, lambda o: o.send(meta), expected_version)

    def cancel_order(
        self, order_id: UUID, cmd: CancelOrder, meta: Meta, expected_version: int | None
    ) -> Written:
        return self.change(
            order_id, PurchaseOrder, lambda o: o.cancel(cmd.reason, meta), expected_version
        )

    def receive_order(
        self, order_id: UUID, cmd: ReceiveOrder, meta: Meta, expected_version: int | None
    ) -> Written:
        """Goods in against an order: the order and every stock they came into, in one
        transaction, so the order's status and the stock never disagree."""
        today = self.today()
        came = [(line, self.resolved(line, today)) for line in cmd.lines]
        receipt = uuid4()

        def decide() -> Unit[Written]:
            order = self.load(order_id, PurchaseOrder, expected_version)
            stocks: dict[UUID, Stock] = {}
            for _, one in came:
                stock = stocks.get(one.item_id) or self.load(stock_id(one.item_id), Stock)
                _into(stock, one, today, cmd.reference, meta)
                stocks[one.item_id] = stock
            order.receive(
                receipt_id=receipt,
                lines=[_received_line(line, one) for line, one in came],
                reference=cmd.reference,
                meta=meta,
            )
            written = Written.of(order)
            return Unit(written, (order, *stocks.values()), claim=written)

        attempts = 1 if expected_version is not None else SAVE_ATTEMPTS
        return self.unit_of_work(decide, attempts=attempts, expected_version=expected_version)

    def suggest_orders(self, below: list[dict[str, Any]], meta: Meta) -> list[Written]:
        """One draft order per supplier for the items below their reorder point (`below`,
        from the alerts, without items already on an open order), each for its reorder
        quantity in whole packs. Items without a preferred supplier are left to a person."""
        per_supplier: dict[UUID, list[OrderLine]] = {}
        for row in below:
            if row.get("supplier_id"):
                item = self.load(UUID(str(row["item_id"])), Item)
                amount = item.whole_packs(Decimal(row["reorder_quantity"]))
                line = OrderLine(item_id=item.id, quantity=amount)
                per_supplier.setdefault(UUID(str(row["supplier_id"])), []).append(line)
        return [
            self.draft_order(DraftOrder(supplier_id=supplier, lines=lines), meta, suggested=True)
            for supplier, lines in sorted(per_supplier.items())
        ]

    # Stock-takes -----------------------------------------------------------------------

    def start_stock_take(self, cmd: StartStockTake, meta: Meta) -> Written:
        return self.create(lambda: StockTake.start(location=cmd.location, meta=meta))

    def count(
        self, take_id: UUID, cmd: CountLot, meta: Meta, expected_version: int | None
    ) -> Written:
        self.load(cmd.item_id, Item)
        return self.change(
            take_id,
            StockTake,
            lambda take: take.count(
                item_id=cmd.item_id, lot=cmd.lot, counted=cmd.counted, meta=meta
            ),
            expected_version,
        )

    def expected(self, take: StockTake) -> dict[tuple[str, str], Decimal]:
        """What each counted lot's stock says is at the stock-take's location now."""
        stocks = {item: self.load(stock_id(UUID(item)), Stock) for item, _ in take.counts}
        return {
            (item, lot): stocks[item].available(lot, take.location) for item, lot in take.counts
        }

    def complete_stock_take(
        self, take_id: UUID, meta: Meta, expected_version: int | None
    ) -> Written:
        """Each counted difference becomes a count correction of its stock, with the
        stock-take completed, in one transaction; a use or delivery meanwhile is counted in
        by deciding again on fresh stock."""

        def decide() -> Unit[Written]:
            take = self.load(take_id, StockTake, expected_version)
            found = variances(take, self.expected(take))
            stocks: dict[str, Stock] = {}
            for row in found:
                if Decimal(row["change"]) == 0:
                    continue
                stock = stocks.get(row["item_id"]) or self.load(
                    stock_id(UUID(row["item_id"])), Stock
                )
                stock.adjust(
                    lot=row["lot"],
                    location=take.location,
                    change=row["change"],
                    reason=Reason.COUNT_CORRECTION,
                    note=f"stock-take {take.id}",
                    meta=meta,
                )
                stocks[row["item_id"]] = stock
            take.complete(variances=found, meta=meta)
            written = Written.of(take)
            return Unit(written, (take, *stocks.values()), claim=written)

        attempts = 1 if expected_version is not None else SAVE_ATTEMPTS
        return self.unit_of_work(decide, attempts=attempts, expected_version=expected_version)

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
        today = clinic_day(use.performed_at)  # a lot expires on the clinic's day, not UTC's
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
            return self._claim_of(material_claim_id(material)).item_id
        except NotFound:
            return None

    def _claim_of(self, key: UUID) -> ItemClaim:
        """A claim never changes once made: a cached one is used as it is, without asking
        the store for events since (a treatment's materials cost no round trip each)."""
        cache = self.repository.cache
        if cache is not None:
            with contextlib.suppress(KeyError):
                claim = cache.get(key)
                if isinstance(claim, ItemClaim):
                    return claim
        return self.load(key, ItemClaim)


def _into(stock: Stock, came: Received, today: date, reference: str | None, meta: Meta) -> None:
    stock.receive(
        lot=came.lot,
        expiry=came.expiry,
        location=came.location,
        amount=came.amount,
        received_on=today,
        reference=reference,
        meta=meta,
    )


def _received_line(line: OrderedLine, came: Received) -> dict[str, Any]:
    return {
        "item_id": str(came.item_id),
        "instead_of": str(line.instead_of) if line.instead_of else None,
        "lot": came.lot,
        "expiry": came.expiry.isoformat() if came.expiry else None,
        "location": came.location,
        "quantity": text_of(quantity(came.amount)),
    }


def _where(stock: Stock, operatory: str | None) -> str:
    """The operatory's drawer while it holds the item; the store room otherwise."""
    if operatory is not None and any(
        where == operatory and left > 0 for (_, where), left in stock.on_hand.items()
    ):
        return operatory
    return STORE_ROOM
