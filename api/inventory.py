"""HTTP for the `inventory` context: items, suppliers, deliveries (typed or scanned), stock
by item, lot and location (and as CSV), movements, alerts and the lot trace.

Inventory staff manage items, stock and orders and see no patient data. The lot trace names
patients, so it is for admins and clinicians only, and every use of it is in the access log.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.deps import WrittenOut
from api.permissions import CLINICIANS, Actor, Grants, allowed
from api.routes import Read, Write, WriteIfMatch
from commands.inventory import (
    AddSupplier,
    AdjustStock,
    CancelOrder,
    CountLot,
    DefineItem,
    DraftOrder,
    Inventory,
    ReceiveOrder,
    ReceiveStock,
    ReviseItem,
    StartStockTake,
    TransferStock,
)
from domain.shared import Role
from projections.inventory import (
    EXPIRING_DAYS,
    InventoryQueries,
    ItemList,
    OrderList,
    StockLevels,
    StockTakeList,
)

router = APIRouter(prefix="/api/inventory", tags=["inventory"])
STOCK_READ = "inventory:read"  # items, suppliers, stock, movements, alerts (no patient data)
STOCK_MANAGE = "inventory:manage"  # define items and suppliers, receive, move, correct stock
LOT_TRACE = "inventory:trace"  # which patients received a lot (patient data)
KEEPERS = (Role.ADMIN, Role.INVENTORY)
GRANTS: Grants = {
    STOCK_READ: (*KEEPERS, *CLINICIANS, Role.AUDITOR),
    STOCK_MANAGE: KEEPERS,
    LOT_TRACE: (Role.ADMIN, *CLINICIANS),
}
Reader = Annotated[Actor, Depends(allowed(STOCK_READ))]
Keeper = Annotated[Actor, Depends(allowed(STOCK_MANAGE))]
Tracer = Annotated[Actor, Depends(allowed(LOT_TRACE, patient_data=True))]
ItemId = Annotated[UUID, Path(description="the item's id")]
Lot = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[\x21-\x7e]+( [\x21-\x7e]+)*$")]
Location = Annotated[str | None, Query(min_length=1, max_length=64)]


class LotOut(BaseModel):
    lot: str
    location: str
    expiry: str | None
    quantity: str


class ShortfallOut(BaseModel):
    consumption_id: str
    location: str
    quantity: str
    at: str


class PackOut(BaseModel):
    unit: str = Field(description="what is bought: a box")
    size: str = Field(description="how many of the item's units it holds")


class ItemOut(BaseModel):
    id: str
    version: int
    name: str
    unit: str
    category: str
    location: str
    reorder_point: str
    reorder_quantity: str
    supplier_id: str | None
    material: str | None
    gtin: str | None
    pack: PackOut | None = Field(default=None, description="how it is bought, if in packs")
    updated_at: str
    on_hand: str | None = Field(default=None, description="in the list: the total on hand")
    lots: list[LotOut] | None = Field(default=None, description="one item: its lots")
    shortfalls: list[ShortfallOut] | None = Field(default=None, description="one item")
    stock_version: int | None = Field(
        default=None, description="one item: its stock's version, for If-Match on moves"
    )


class ItemPageOut(BaseModel):
    items: list[ItemOut]
    next: str | None = Field(description="the cursor of the next page, if there is one")


class SupplierOut(BaseModel):
    id: str
    version: int
    name: str
    email: str | None
    phone: str | None
    lead_days: int
    updated_at: str


class SuppliersOut(BaseModel):
    items: list[SupplierOut]


class LevelOut(BaseModel):
    item_id: str
    item: str
    unit: str
    category: str
    lot: str
    location: str
    expiry: str | None
    quantity: str


class LevelsOut(BaseModel):
    items: list[LevelOut]


class MovementOut(BaseModel):
    number: int = Field(description="the movement's number in the item's stock")
    kind: str
    at: str
    by: str | None
    role: str | None
    detail: dict[str, Any]


class MovementsOut(BaseModel):
    items: list[MovementOut]
    next: int | None


class LowOut(BaseModel):
    item_id: str
    item: str
    unit: str
    on_hand: str
    reorder_point: str
    reorder_quantity: str
    supplier_id: str | None


class DatedLotOut(BaseModel):
    item_id: str
    item: str
    lot: str
    location: str
    expiry: str
    quantity: str


class DiscrepancyOut(BaseModel):
    item_id: str
    item: str
    location: str
    quantity: str
    consumption_id: str
    at: str


class AlertsOut(BaseModel):
    expiring_days: int
    below_reorder_point: list[LowOut]
    expiring: list[DatedLotOut]
    expired: list[DatedLotOut]
    discrepancies: list[DiscrepancyOut]


class TracedLineOut(BaseModel):
    item_id: str
    lot: str | None
    quantity: str


class DeviceOut(BaseModel):
    material: str
    udi: str
    gtin: str
    lot: str | None
    serial: str | None
    expiry: str | None


class TracedOut(BaseModel):
    patient_id: str
    treatment_id: str
    procedure: str
    tooth: int | None
    performed_at: str
    location: str
    lines: list[TracedLineOut]
    devices: list[DeviceOut]


class LotTraceOut(BaseModel):
    lot: str
    items: list[TracedOut]


class OrderLineOut(BaseModel):
    item_id: str
    quantity: str


class ReceivedLineOut(BaseModel):
    item_id: str
    instead_of: str | None
    lot: str
    expiry: str | None
    location: str
    quantity: str


class ReceiptOut(BaseModel):
    receipt_id: str
    reference: str | None
    lines: list[ReceivedLineOut]
    at: str


class OrderOut(BaseModel):
    id: str
    version: int
    supplier_id: str
    lines: list[OrderLineOut]
    note: str | None
    suggested: bool = Field(description="drafted by the reorder suggestion")
    status: str = Field(description="draft, sent, partly_received, received or cancelled")
    drafted_at: str
    sent_at: str | None = None
    receipts: list[ReceiptOut]
    received: dict[str, str] = Field(description="per ordered item, how much came")
    variance: dict[str, str] = Field(description="per ordered item: short, over, as_ordered")
    cancelled: str | None = Field(default=None, description="why it was cancelled")
    updated_at: str


class OrdersOut(BaseModel):
    items: list[OrderOut]


class SuggestedOut(BaseModel):
    orders: list[WrittenOut]


class VarianceOut(BaseModel):
    item_id: str
    lot: str
    expected: str
    counted: str
    change: str


class StockTakeOut(BaseModel):
    id: str
    version: int
    location: str
    status: str = Field(description="counting or completed")
    started_at: str
    completed_at: str | None = None
    counts: dict[str, str] = Field(description="item id and lot (a line apart): counted")
    variances: list[VarianceOut]
    updated_at: str


# Items and suppliers -------------------------------------------------------------------


@router.post("/items", status_code=201, response_model=WrittenOut)
def define_item(body: DefineItem, who: Keeper, write: Write) -> dict[str, object]:
    """An item the clinic stocks; its material and GTIN are bound to it once."""
    return write.answer(write.get(Inventory).define_item(body, who.meta), at="/api/inventory/items")


@router.get("/items", response_model=ItemPageOut, response_model_exclude_unset=True)
async def list_items(
    read: Read,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, object]:
    queries = read.get(InventoryQueries)
    await read.consistent(queries.version_of(ItemList.name))
    found = await queries.items(cursor, limit + 1)
    page = found[:limit]
    more = len(found) > limit
    return {"items": page, "next": f"{page[-1]['name']}\n{page[-1]['id']}" if more else None}


@router.get("/items/{item_id}", response_model=ItemOut, response_model_exclude_unset=True)
async def get_item(item_id: ItemId, read: Read, who: Reader) -> dict[str, Any]:
    queries = read.get(InventoryQueries)
    await read.consistent(queries.version_of(ItemList.name), queries.version_of(StockLevels.name))
    return read.found(await queries.item(item_id), f"item {item_id}")


@router.put("/items/{item_id}", response_model=WrittenOut)
def revise_item(
    item_id: ItemId, body: ReviseItem, who: Keeper, write: WriteIfMatch
) -> dict[str, object]:
    """Changes how an item is described, kept and reordered (If-Match: its version)."""
    return write.answer(write.get(Inventory).revise_item(item_id, body, who.meta, write.version))


@router.post("/suppliers", status_code=201, response_model=WrittenOut)
def add_supplier(body: AddSupplier, who: Keeper, write: Write) -> dict[str, object]:
    result = write.get(Inventory).add_supplier(body, who.meta)
    return write.answer(result, at="/api/inventory/suppliers")


@router.get("/suppliers", response_model=SuppliersOut)
async def list_suppliers(read: Read, who: Reader) -> dict[str, object]:
    return {"items": await read.get(InventoryQueries).suppliers()}


# Stock ---------------------------------------------------------------------------------


@router.post("/receipts", status_code=201, response_model=WrittenOut)
def receive(body: ReceiveStock, who: Keeper, write: Write) -> dict[str, object]:
    """Goods in, typed or scanned: the written id is the item's stock."""
    return write.answer(write.get(Inventory).receive(body, who.meta))


@router.post("/items/{item_id}/transfers", response_model=WrittenOut)
def transfer(
    item_id: ItemId, body: TransferStock, who: Keeper, write: WriteIfMatch
) -> dict[str, object]:
    """Moves part of a lot between locations (If-Match: the stock's version, if given)."""
    return write.answer(write.get(Inventory).transfer(item_id, body, who.meta, write.version))


@router.post("/items/{item_id}/adjustments", response_model=WrittenOut)
def adjust(
    item_id: ItemId, body: AdjustStock, who: Keeper, write: WriteIfMatch
) -> dict[str, object]:
    """A correction with its reason (If-Match: the stock's version, if given)."""
    return write.answer(write.get(Inventory).adjust(item_id, body, who.meta, write.version))


@router.get("/stock", response_model=LevelsOut)
async def stock_levels(
    read: Read, who: Reader, item_id: UUID | None = None, location: Location = None
) -> dict[str, object]:
    """What is on hand, by item, lot and location."""
    queries = read.get(InventoryQueries)
    await read.consistent(queries.version_of(StockLevels.name))
    return {"items": await queries.levels(item_id, location)}


@router.get(
    "/stock.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def stock_levels_csv(read: Read, who: Reader) -> Response:
    """Stock levels as a spreadsheet opens them."""
    body = await read.get(InventoryQueries).levels_csv()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="stock.csv"'},
    )


@router.get("/items/{item_id}/movements", response_model=MovementsOut)
async def movements(
    item_id: ItemId,
    read: Read,
    who: Reader,
    after: Annotated[int, Query(ge=0, le=2**62, description="the last number seen")] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, object]:
    """Receipts, uses, returns, transfers and corrections, oldest first, in keyset pages."""
    page = await read.get(InventoryQueries).movements(item_id, after, limit)
    return {"items": page, "next": page[-1]["number"] if len(page) == limit else None}


@router.get("/alerts", response_model=AlertsOut)
async def alerts(
    read: Read,
    who: Reader,
    expiring_days: Annotated[
        int | None, Query(ge=1, le=730, description=f"default: the clinic's ({EXPIRING_DAYS})")
    ] = None,
) -> dict[str, object]:
    """Below the reorder point, expiring within `expiring_days`, expired on the shelf, and
    uses the count could not account for."""
    queries = read.get(InventoryQueries)
    days = expiring_days or queries.expiring_days
    found = await queries.alerts(read.get(Inventory).today(), days)
    return {"expiring_days": days, **found}


@router.get("/lots/{lot}/patients", response_model=LotTraceOut)
async def lot_trace(lot: Lot, read: Read, who: Tracer) -> dict[str, object]:
    """The patients who received material from a lot (a recall): which treatment, which
    tooth, when. Every use is in the access log, with every patient it named."""
    answer: dict[str, object] = {
        "lot": lot,
        "items": await read.get(InventoryQueries).lot_trace(lot),
    }
    read.note("lot", lot)
    read.shows(answer)
    return answer


# Purchasing ----------------------------------------------------------------------------

OrderId = Annotated[UUID, Path(description="the order's id")]
OrderStatus = Annotated[
    str | None, Query(pattern="^(draft|sent|partly_received|received|cancelled)$")
]


@router.post("/orders", status_code=201, response_model=WrittenOut)
def draft_order(body: DraftOrder, who: Keeper, write: Write) -> dict[str, object]:
    result = write.get(Inventory).draft_order(body, who.meta)
    return write.answer(result, at="/api/inventory/orders")


@router.get("/orders", response_model=OrdersOut, response_model_exclude_unset=True)
async def list_orders(
    read: Read,
    who: Reader,
    status: OrderStatus = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, object]:
    queries = read.get(InventoryQueries)
    await read.consistent(queries.version_of(OrderList.name))
    return {"items": await queries.orders(status, limit)}


@router.get("/orders/{order_id}", response_model=OrderOut, response_model_exclude_unset=True)
async def get_order(order_id: OrderId, read: Read, who: Reader) -> dict[str, Any]:
    queries = read.get(InventoryQueries)
    await read.consistent(queries.version_of(OrderList.name))
    return read.found(await queries.order(order_id), f"order {order_id}")


@router.post("/orders/{order_id}/sent", response_model=WrittenOut)
def send_order(order_id: OrderId, who: Keeper, write: WriteIfMatch) -> dict[str, object]:
    """The draft is sent to its supplier (If-Match: the order's version, if given)."""
    return write.answer(write.get(Inventory).send_order(order_id, who.meta, write.version))


@router.post("/orders/{order_id}/cancellation", response_model=WrittenOut)
def cancel_order(
    order_id: OrderId, body: CancelOrder, who: Keeper, write: WriteIfMatch
) -> dict[str, object]:
    result = write.get(Inventory).cancel_order(order_id, body, who.meta, write.version)
    return write.answer(result)


@router.post("/orders/{order_id}/receipts", response_model=WrittenOut)
def receive_order(
    order_id: OrderId, body: ReceiveOrder, who: Keeper, write: WriteIfMatch
) -> dict[str, object]:
    """Goods in against a sent order, as they came: short, over or substituted."""
    result = write.get(Inventory).receive_order(order_id, body, who.meta, write.version)
    return write.answer(result)


@router.post("/order-suggestions", status_code=201, response_model=SuggestedOut)
async def suggest_orders(who: Keeper, write: Write) -> dict[str, object]:
    """One draft order per supplier for the items below their reorder point that no open
    order asks for yet, each for its reorder quantity."""
    inventory = write.get(Inventory)
    below = await write.get(InventoryQueries).to_reorder(inventory.today())
    made = await run_in_threadpool(inventory.suggest_orders, below, who.meta)
    return {"orders": [{"id": str(w.id), "version": w.version} for w in made]}


# Stock-takes ---------------------------------------------------------------------------

TakeId = Annotated[UUID, Path(description="the stock-take's id")]


@router.post("/stock-takes", status_code=201, response_model=WrittenOut)
def start_stock_take(body: StartStockTake, who: Keeper, write: Write) -> dict[str, object]:
    result = write.get(Inventory).start_stock_take(body, who.meta)
    return write.answer(result, at="/api/inventory/stock-takes")


@router.post("/stock-takes/{take_id}/counts", response_model=WrittenOut)
def count_lot(
    take_id: TakeId, body: CountLot, who: Keeper, write: WriteIfMatch
) -> dict[str, object]:
    """A lot counted (counting it again replaces the count)."""
    return write.answer(write.get(Inventory).count(take_id, body, who.meta, write.version))


@router.get(
    "/stock-takes/{take_id}", response_model=StockTakeOut, response_model_exclude_unset=True
)
async def get_stock_take(take_id: TakeId, read: Read, who: Reader) -> dict[str, Any]:
    """The stock-take with its variance report: each counted lot against the stock."""
    queries = read.get(InventoryQueries)
    await read.consistent(queries.version_of(StockTakeList.name))
    return read.found(await queries.stock_take(take_id), f"stock-take {take_id}")


@router.post("/stock-takes/{take_id}/completion", response_model=WrittenOut)
def complete_stock_take(take_id: TakeId, who: Keeper, write: WriteIfMatch) -> dict[str, object]:
    """Each counted difference becomes a count correction of its stock."""
    result = write.get(Inventory).complete_stock_take(take_id, who.meta, write.version)
    return write.answer(result)
