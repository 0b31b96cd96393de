"""The inventory's read models (PostgreSQL) and the named queries on them: items, suppliers,
stock per lot and location, and each treatment's consumption (the lot trace). Each is one
row per aggregate (ADR 2): rebuildable, versioned, idempotent. Alerts are queries over them."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from domain.inventory import stock_id
from infra.eventstore import Envelope, EventStoreReader
from projections.base import Document
from projections.postgres import PostgresProjection, PostgresStore

CONTEXT = "inventory"
EXPIRING_DAYS = 60  # the default window of the "expiring soon" alert


def _meta_at(doc: Document, envelope: Envelope) -> Document:
    doc["updated_at"] = envelope.timestamp.isoformat()
    return doc


class ItemList(PostgresProjection):
    """Every item the clinic stocks, with how it is kept and reordered."""

    name = "inventory_items"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"Item"})
    table = "inventory_items"
    columns_ddl = (
        "name text NOT NULL, unit text NOT NULL, category text NOT NULL, "
        "reorder_point numeric NOT NULL, reorder_quantity numeric NOT NULL, "
        "supplier_id uuid, gtin text"
    )
    indexes_ddl = ("CREATE INDEX IF NOT EXISTS inventory_items_name ON inventory_items (name)",)
    column_names = (
        "name",
        "unit",
        "category",
        "reorder_point",
        "reorder_quantity",
        "supplier_id",
        "gtin",
    )

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        payload = envelope.payload
        if envelope.event_type in ("ItemDefined", "ItemRevised"):
            fields = (
                "name",
                "unit",
                "category",
                "location",
                "reorder_point",
                "reorder_quantity",
                "supplier_id",
                "material",
                "pack",
            )
            doc.update({k: payload[k] for k in fields if k in payload})
            doc.setdefault("id", str(envelope.aggregate_id))
            doc.setdefault("gtin", None)
        elif envelope.event_type == "GtinBound":
            doc["gtin"] = payload["gtin"]
        return _meta_at(doc, envelope)

    def columns(self, document: Document) -> tuple[Any, ...]:
        supplier = document.get("supplier_id")
        return (
            document["name"],
            document["unit"],
            document["category"],
            Decimal(document["reorder_point"]),
            Decimal(document["reorder_quantity"]),
            UUID(supplier) if supplier else None,
            document.get("gtin"),
        )


class SupplierList(PostgresProjection):
    name = "inventory_suppliers"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"Supplier"})
    table = "inventory_suppliers"
    columns_ddl = "name text NOT NULL"
    column_names = ("name",)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        if envelope.event_type == "SupplierAdded":
            p = envelope.payload
            doc.update(
                id=str(envelope.aggregate_id),
                name=p["name"],
                email=p["email"],
                phone=p["phone"],
                lead_days=p["lead_days"],
            )
        return _meta_at(doc, envelope)

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (document["name"],)


def _add(lots: dict[str, Document], lot: str, location: str, change: Decimal) -> None:
    key = f"{lot}\n{location}"
    row = lots.setdefault(key, {"lot": lot, "location": location, "quantity": "0"})
    left = Decimal(row["quantity"]) + change
    if left:
        row["quantity"] = f"{left.normalize():f}"
    else:
        lots.pop(key)


class StockLevels(PostgresProjection):
    """An item's stock: each lot in each location with its expiry, the total on hand, and the
    shortfalls (uses the count could not account for) not yet settled by a count."""

    name = "inventory_stock"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"Stock"})
    table = "inventory_stock"
    columns_ddl = (
        "item_id uuid NOT NULL, on_hand numeric NOT NULL, earliest_expiry date, "
        "shortfall numeric NOT NULL"
    )
    indexes_ddl = (
        "CREATE UNIQUE INDEX IF NOT EXISTS inventory_stock_item ON inventory_stock (item_id)",
        "CREATE INDEX IF NOT EXISTS inventory_stock_expiry ON inventory_stock (earliest_expiry)",
    )
    column_names = ("item_id", "on_hand", "earliest_expiry", "shortfall")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {"lots": [], "expiries": {}, "shortfalls": []})
        lots = {f"{r['lot']}\n{r['location']}": dict(r) for r in doc["lots"]}
        expiries: dict[str, str | None] = dict(doc["expiries"])
        shortfalls: list[Document] = list(doc["shortfalls"])
        p, kind = envelope.payload, envelope.event_type
        if kind == "StockOpened":
            doc["item_id"] = p["item_id"]
        elif kind == "StockReceived":
            expiries[p["lot"]] = p["expiry"]
            _add(lots, p["lot"], p["location"], Decimal(p["quantity"]))
        elif kind in ("StockTaken", "StockReturned"):
            sign = -1 if kind == "StockTaken" else 1
            for line in p["lines"]:
                _add(lots, line["lot"], p["location"], sign * Decimal(line["quantity"]))
            if kind == "StockTaken" and Decimal(p["short"]) > 0:
                shortfalls.append(
                    {
                        "consumption_id": p["consumption_id"],
                        "location": p["location"],
                        "quantity": p["short"],
                        "at": envelope.timestamp.isoformat(),
                    }
                )
            if kind == "StockReturned":
                shortfalls = [s for s in shortfalls if s["consumption_id"] != p["consumption_id"]]
        elif kind == "StockTransferred":
            _add(lots, p["lot"], p["source"], -Decimal(p["quantity"]))
            _add(lots, p["lot"], p["destination"], Decimal(p["quantity"]))
        elif kind == "StockAdjusted":
            _add(lots, p["lot"], p["location"], Decimal(p["change"]))
            if p["reason"] == "count_correction":  # a count settles what was short there
                shortfalls = [s for s in shortfalls if s["location"] != p["location"]]
        rows = sorted(lots.values(), key=lambda r: (expiries.get(r["lot"]) or "9999", r["lot"]))
        doc.update(
            lots=[{**r, "expiry": expiries.get(r["lot"])} for r in rows],
            expiries=expiries,
            shortfalls=shortfalls,
        )
        return _meta_at(doc, envelope)

    def columns(self, document: Document) -> tuple[Any, ...]:
        lots = [r for r in document["lots"] if Decimal(r["quantity"]) > 0]
        dated = [r["expiry"] for r in lots if r["expiry"]]
        return (
            UUID(document["item_id"]),
            sum((Decimal(r["quantity"]) for r in document["lots"]), Decimal(0)),
            date.fromisoformat(min(dated)) if dated else None,
            sum((Decimal(s["quantity"]) for s in document["shortfalls"]), Decimal(0)),
        )


class ConsumptionList(PostgresProjection):
    """What each treatment consumed, from which lots, for which patient: the lot trace."""

    name = "inventory_consumptions"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"Consumption"})
    table = "inventory_consumptions"
    columns_ddl = (
        "treatment_id uuid NOT NULL, patient_id uuid NOT NULL, performed_at timestamptz NOT "
        "NULL, lots text[] NOT NULL, status text NOT NULL"
    )
    indexes_ddl = (
        "CREATE INDEX IF NOT EXISTS inventory_consumptions_lots ON inventory_consumptions "
        "USING gin (lots)",
        "CREATE INDEX IF NOT EXISTS inventory_consumptions_patient ON inventory_consumptions "
        "(patient_id)",
    )
    column_names = ("treatment_id", "patient_id", "performed_at", "lots", "status")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        p, kind = envelope.payload, envelope.event_type
        if kind == "MaterialsConsumed":
            doc.update(
                id=str(envelope.aggregate_id),
                treatment_id=p["treatment_id"],
                patient_id=p["patient_id"],
                procedure=p["procedure"],
                performed_at=p["performed_at"],
                tooth=p["tooth"],
                location=p["location"],
                lines=p["lines"],
                devices=p["devices"],
                status="consumed",
            )
        elif kind == "ConsumptionCorrected":
            doc.update(tooth=p["tooth"], lines=p["lines"], devices=p["devices"], status="corrected")
        elif kind == "ConsumptionReversed":
            doc.update(lines=[], status="reversed")
        return _meta_at(doc, envelope)

    def columns(self, document: Document) -> tuple[Any, ...]:
        lots = {line["lot"] for line in document["lines"] if line["lot"]}
        lots |= {d["lot"] for d in document["devices"] if d.get("lot")}
        return (
            UUID(document["treatment_id"]),
            UUID(document["patient_id"]),
            datetime.fromisoformat(document["performed_at"]),
            sorted(lots),
            document["status"],
        )


class OrderList(PostgresProjection):
    """Purchase orders: their lines, what came of each (short, over, substituted), status."""

    name = "inventory_orders"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"PurchaseOrder"})
    table = "inventory_orders"
    columns_ddl = (
        "supplier_id uuid NOT NULL, status text NOT NULL, drafted_at timestamptz NOT NULL, "
        "items uuid[] NOT NULL"
    )
    indexes_ddl = (
        "CREATE INDEX IF NOT EXISTS inventory_orders_listed ON inventory_orders "
        "(drafted_at DESC, aggregate_id)",
    )
    column_names = ("supplier_id", "status", "drafted_at", "items")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        p, kind = envelope.payload, envelope.event_type
        if kind == "OrderDrafted":
            doc.update(
                id=str(envelope.aggregate_id),
                supplier_id=p["supplier_id"],
                lines=p["lines"],
                note=p["note"],
                suggested=p["suggested"],
                status="draft",
                drafted_at=envelope.timestamp.isoformat(),
                receipts=[],
                received={},
            )
        elif kind == "OrderLinesChanged":
            doc["lines"] = p["lines"]
        elif kind == "OrderSent":
            doc.update(status="sent", sent_at=envelope.timestamp.isoformat())
        elif kind == "GoodsReceived":
            received = dict(doc["received"])
            ordered = {line["item_id"] for line in doc["lines"]}
            for line in p["lines"]:
                counted_for = line["item_id"] if line["item_id"] in ordered else line["instead_of"]
                before = Decimal(received.get(counted_for, "0"))
                received[counted_for] = f"{(before + Decimal(line['quantity'])).normalize():f}"
            receipt = {
                "receipt_id": p["receipt_id"],
                "reference": p["reference"],
                "lines": p["lines"],
                "at": envelope.timestamp.isoformat(),
            }
            doc.update(receipts=[*doc["receipts"], receipt], received=received)
            whole = all(
                Decimal(received.get(line["item_id"], "0")) >= Decimal(line["quantity"])
                for line in doc["lines"]
            )
            doc["status"] = "received" if whole else "partly_received"
        elif kind == "OrderCancelled":
            doc.update(status="cancelled", cancelled=p["reason"])
        doc["variance"] = {
            line["item_id"]: _compared(
                line["quantity"], doc.get("received", {}).get(line["item_id"])
            )
            for line in doc.get("lines", [])
        }
        return _meta_at(doc, envelope)

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (
            UUID(document["supplier_id"]),
            document["status"],
            datetime.fromisoformat(document["drafted_at"]),
            [UUID(line["item_id"]) for line in document["lines"]],
        )


def _compared(ordered: str, received: str | None) -> str:
    came, wanted = Decimal(received or "0"), Decimal(ordered)
    return "short" if came < wanted else "over" if came > wanted else "as_ordered"


class StockTakeList(PostgresProjection):
    """Stock-takes: the lots counted at a location and, once completed, their variances."""

    name = "inventory_stock_takes"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"StockTake"})
    table = "inventory_stock_takes"
    columns_ddl = "location text NOT NULL, status text NOT NULL, started_at timestamptz NOT NULL"
    column_names = ("location", "status", "started_at")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        p, kind = envelope.payload, envelope.event_type
        if kind == "StockTakeStarted":
            doc.update(
                id=str(envelope.aggregate_id),
                location=p["location"],
                status="counting",
                started_at=envelope.timestamp.isoformat(),
                counts={},
            )
        elif kind == "LotCounted":
            doc["counts"] = {**doc["counts"], f"{p['item_id']}\n{p['lot']}": p["counted"]}
        elif kind == "StockTakeCompleted":
            doc.update(
                status="completed",
                variances=p["variances"],
                completed_at=envelope.timestamp.isoformat(),
            )
        return _meta_at(doc, envelope)

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (
            document["location"],
            document["status"],
            datetime.fromisoformat(document["started_at"]),
        )


READ_MODELS = (
    ItemList(),
    SupplierList(),
    StockLevels(),
    ConsumptionList(),
    OrderList(),
    StockTakeList(),
)
LEVEL_COLUMNS = ("item_id", "item", "unit", "category", "lot", "location", "expiry", "quantity")


class InventoryQueries:
    """Named queries on the inventory's read models."""

    def __init__(
        self, pool: asyncpg.Pool, reader: EventStoreReader, expiring_days: int = EXPIRING_DAYS
    ) -> None:
        self.pool = pool
        self.reader = reader
        self.expiring_days = expiring_days
        self.stores = {p.name: PostgresStore(pool, p) for p in READ_MODELS}

    def version_of(self, read_model: str) -> Callable[[UUID], Awaitable[int]]:
        return self.stores[read_model].version_of

    async def item(self, item_id: UUID) -> Document | None:
        row = await self.pool.fetchrow(
            "SELECT i.version, i.document, s.document AS stock, s.version AS stock_version "
            "FROM inventory_items i "
            "LEFT JOIN inventory_stock s ON s.item_id = i.aggregate_id WHERE i.aggregate_id = $1",
            item_id,
        )
        if row is None:
            return None
        stock = row["stock"] or {"lots": [], "shortfalls": []}
        return {
            **row["document"],
            "version": row["version"],
            "lots": stock["lots"],
            "shortfalls": stock["shortfalls"],
            "stock_version": row["stock_version"] or 0,
        }

    async def items(self, after: str | None, limit: int) -> list[Document]:
        """Items by name, in keyset pages (`after`: the last name and id seen, as a cursor)."""
        rows = await self.pool.fetch(
            "SELECT i.version, i.document, coalesce(s.on_hand, 0) AS on_hand "
            "FROM inventory_items i LEFT JOIN inventory_stock s ON s.item_id = i.aggregate_id "
            "WHERE $1::text IS NULL OR (i.name, i.aggregate_id::text) > "
            "(split_part($1, E'\\n', 1), split_part($1, E'\\n', 2)) "
            "ORDER BY i.name, i.aggregate_id LIMIT $2",
            after,
            limit,
        )
        return [
            {**r["document"], "version": r["version"], "on_hand": _text(r["on_hand"])} for r in rows
        ]

    async def suppliers(self) -> list[Document]:
        rows = await self.pool.fetch(
            "SELECT version, document FROM inventory_suppliers ORDER BY name, aggregate_id"
        )
        return [{**r["document"], "version": r["version"]} for r in rows]

    async def levels(
        self, item_id: UUID | None = None, location: str | None = None
    ) -> list[Document]:
        """Stock by item, lot and location (what is on hand), by item name, then expiry."""
        rows = await self.pool.fetch(
            "SELECT s.item_id, i.name AS item, i.unit, i.category, l->>'lot' AS lot, "
            "l->>'location' AS location, l->>'expiry' AS expiry, l->>'quantity' AS quantity "
            "FROM inventory_stock s JOIN inventory_items i ON i.aggregate_id = s.item_id "
            "CROSS JOIN LATERAL jsonb_array_elements(s.document->'lots') l "
            "WHERE ($1::uuid IS NULL OR s.item_id = $1) "
            "AND ($2::text IS NULL OR l->>'location' = $2) "
            "ORDER BY i.name, s.item_id, l->>'expiry' NULLS LAST, l->>'lot', l->>'location'",
            item_id,
            location,
        )
        return [{**dict(r), "item_id": str(r["item_id"])} for r in rows]

    async def levels_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(LEVEL_COLUMNS)
        for row in await self.levels():
            writer.writerow([_cell(row[c]) for c in LEVEL_COLUMNS])
        return out.getvalue()

    async def alerts(
        self, today: date, expiring_days: int | None = None
    ) -> dict[str, list[Document]]:
        """What needs the stock keeper: items at or below their reorder point, lots expiring
        within `expiring_days`, expired lots still on the shelf, and uncounted shortfalls."""
        low = await self.pool.fetch(
            "SELECT i.aggregate_id AS item_id, i.name AS item, i.unit, "
            "coalesce(s.on_hand, 0) AS on_hand, i.reorder_point, i.reorder_quantity, "
            "i.supplier_id FROM inventory_items i "
            "LEFT JOIN inventory_stock s ON s.item_id = i.aggregate_id "
            "WHERE coalesce(s.on_hand, 0) <= i.reorder_point AND i.reorder_point > 0 "
            "ORDER BY i.name, i.aggregate_id"
        )
        dated = await self.pool.fetch(
            "SELECT s.item_id, i.name AS item, l->>'lot' AS lot, l->>'location' AS location, "
            "(l->>'expiry')::date AS expiry, l->>'quantity' AS quantity "
            "FROM inventory_stock s JOIN inventory_items i ON i.aggregate_id = s.item_id "
            "CROSS JOIN LATERAL jsonb_array_elements(s.document->'lots') l "
            "WHERE s.earliest_expiry <= $1 AND (l->>'expiry')::date <= $1 "
            "AND (l->>'quantity')::numeric > 0 ORDER BY 5, 2, 3",
            today + timedelta(days=expiring_days or self.expiring_days),
        )
        short = await self.pool.fetch(
            "SELECT s.item_id, i.name AS item, f->>'location' AS location, "
            "f->>'quantity' AS quantity, f->>'consumption_id' AS consumption_id, f->>'at' AS at "
            "FROM inventory_stock s JOIN inventory_items i ON i.aggregate_id = s.item_id "
            "CROSS JOIN LATERAL jsonb_array_elements(s.document->'shortfalls') f "
            "WHERE s.shortfall > 0 ORDER BY f->>'at', 2"
        )
        lots = [_plain(r) for r in dated]
        return {
            "below_reorder_point": [_plain(r) for r in low],
            "expiring": [r for r in lots if r["expiry"] >= today.isoformat()],
            "expired": [r for r in lots if r["expiry"] < today.isoformat()],
            "discrepancies": [_plain(r) for r in short],
        }

    async def movements(self, item_id: UUID, after: int, limit: int) -> list[Document]:
        """The item's stock movements, oldest first, in keyset pages by their number (the
        stock's event version): each receipt, use, return, transfer and correction, with who
        made it. Read from the event store, where they are kept whole."""
        start = max(after, 1)  # the first event opens the stock: it moves nothing
        events = await self.reader.aggregate_events(
            CONTEXT, stock_id(item_id), start, start + limit
        )
        found = []
        for e in events:
            meta = e.payload.get("meta") or {}
            found.append(
                {
                    "number": e.version,
                    "kind": e.event_type,
                    "at": e.timestamp.isoformat(),
                    "by": meta.get("actor_id"),
                    "role": meta.get("actor_role"),
                    "detail": {k: v for k, v in e.payload.items() if k != "meta"},
                }
            )
        return found

    async def order(self, order_id: UUID) -> Document | None:
        row = await self.pool.fetchrow(
            "SELECT version, document FROM inventory_orders WHERE aggregate_id = $1", order_id
        )
        return {**row["document"], "version": row["version"]} if row else None

    async def orders(self, status: str | None, limit: int) -> list[Document]:
        rows = await self.pool.fetch(
            "SELECT version, document FROM inventory_orders WHERE $1::text IS NULL OR "
            "status = $1 ORDER BY drafted_at DESC, aggregate_id LIMIT $2",
            status,
            limit,
        )
        return [{**r["document"], "version": r["version"]} for r in rows]

    async def to_reorder(self, today: date) -> list[Document]:
        """Items below their reorder point that no open order (draft, sent, partly received)
        already asks for."""
        below = (await self.alerts(today))["below_reorder_point"]
        open_items = await self.pool.fetchval(
            "SELECT coalesce(array_agg(DISTINCT i), '{}') FROM inventory_orders, "
            "unnest(items) i WHERE status IN ('draft', 'sent', 'partly_received')"
        )
        ordered = {str(i) for i in open_items}
        return [row for row in below if row["item_id"] not in ordered]

    async def stock_take(self, take_id: UUID) -> Document | None:
        """A stock-take with its variance report: each counted lot against the stock now
        (while counting) or as completed."""
        row = await self.pool.fetchrow(
            "SELECT version, document FROM inventory_stock_takes WHERE aggregate_id = $1",
            take_id,
        )
        if row is None:
            return None
        doc = {**row["document"], "version": row["version"]}
        if doc["status"] == "completed":
            return doc
        here = {
            f"{r['item_id']}\n{r['lot']}": Decimal(r["quantity"])
            for r in await self.levels(location=doc["location"])
        }
        report = []
        for key, counted in sorted(doc["counts"].items()):
            item, lot = key.split("\n", 1)
            expected = here.get(key, Decimal(0))
            report.append(
                {
                    "item_id": item,
                    "lot": lot,
                    "expected": _text(expected),
                    "counted": counted,
                    "change": _text(Decimal(counted) - expected),
                }
            )
        return {**doc, "variances": report}

    async def lot_trace(self, lot: str) -> list[Document]:
        """Who received material from a lot: the treatment, the tooth and when."""
        rows = await self.pool.fetch(
            "SELECT document FROM inventory_consumptions WHERE lots @> ARRAY[$1]::text[] "
            "AND status <> 'reversed' ORDER BY performed_at, aggregate_id",
            lot,
        )
        found = []
        for r in rows:
            d = r["document"]
            found.append(
                {
                    "patient_id": d["patient_id"],
                    "treatment_id": d["treatment_id"],
                    "procedure": d["procedure"],
                    "tooth": d["tooth"],
                    "performed_at": d["performed_at"],
                    "location": d["location"],
                    "lines": [x for x in d["lines"] if x["lot"] == lot],
                    "devices": [x for x in d["devices"] if x.get("lot") == lot],
                }
            )
        return found


def _text(value: Decimal) -> str:
    return f"{Decimal(value).normalize():f}"


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: a leading =, +, - or @ is quoted away."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _plain(row: asyncpg.Record) -> Document:
    out: Document = {}
    for key, value in dict(row).items():
        if isinstance(value, UUID):
            out[key] = str(value)
        elif isinstance(value, Decimal):
            out[key] = _text(value)
        elif isinstance(value, date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out
