"""Purchasing and counting, as the stock keeper does them over HTTP: an order drafted, sent,
received short and then with a substitute; a cancelled order refuses a receipt; the reorder
suggestion drafts one order per supplier; a stock-take's variances become corrections; and
the alerts are counted for /metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from prometheus_client import REGISTRY, generate_latest

from bus.inventory import AlertCount
from clinic.platform import Platform
from commands.base import clinic_today
from projections.inventory import InventoryQueries
from tests.conftest import SignIn, eventually
from tests.e2e.test_inventory_api import item
from tests.e2e.test_patients_api import CONSISTENT, TOKEN

TODAY = clinic_today()
LATER = (TODAY + timedelta(days=300)).isoformat()


async def supplier(http: httpx.AsyncClient, keeper: dict[str, str], name: str) -> str:
    made = await http.post("/api/inventory/suppliers", json={"name": name}, headers=keeper)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def ok(answer: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    return dict(answer.json())


async def order_of(
    http: httpx.AsyncClient, keeper: dict[str, str], written: httpx.Response
) -> dict[str, Any]:
    wait = {**keeper, CONSISTENT: written.headers[TOKEN]}
    order_id = written.json()["id"]
    return await ok(await http.get(f"/api/inventory/orders/{order_id}", headers=wait))


async def test_an_order_goes_from_draft_to_sent_to_partly_received_to_received(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None
) -> None:
    keeper = await sign_in("inventory")
    dental = await supplier(anonymous, keeper, "Suministros Dentales del Norte S.L.")
    gloves = await item(anonymous, keeper, name="Guantes M", unit="pair", category="disposables")
    other = await item(
        anonymous, keeper, name="Guantes M (otra marca)", unit="pair", category="disposables"
    )
    drafted = await anonymous.post(
        "/api/inventory/orders",
        json={"supplier_id": dental, "lines": [{"item_id": gloves, "quantity": 100}]},
        headers=keeper,
    )
    order = (await ok(drafted, 201))["id"]
    base = f"/api/inventory/orders/{order}"
    await ok(await anonymous.post(f"{base}/sent", headers={**keeper, "If-Match": '"1"'}))

    short = {"lines": [{"item_id": gloves, "lot": "G1", "expiry": LATER, "quantity": 60}]}
    first = await anonymous.post(f"{base}/receipts", json=short, headers=keeper)
    await ok(first)
    assert (await order_of(anonymous, keeper, first))["status"] == "partly_received"
    swap = {"item_id": other, "instead_of": gloves, "lot": "X9", "expiry": LATER, "quantity": 50}
    second = await anonymous.post(f"{base}/receipts", json={"lines": [swap]}, headers=keeper)
    await ok(second)

    done = await order_of(anonymous, keeper, second)
    assert done["status"] == "received"
    assert done["received"] == {gloves: "110"}
    assert done["variance"] == {gloves: "over"}
    assert [line["item_id"] for r in done["receipts"] for line in r["lines"]] == [gloves, other]
    # What the second receipt wrote, read once the stock has it (read-your-writes).
    after = {**keeper, CONSISTENT: second.headers[TOKEN]}
    stock = await ok(await anonymous.get("/api/inventory/stock", headers=after))
    assert {(r["item_id"], r["lot"], r["quantity"]) for r in stock["items"]} == {
        (gloves, "G1", "60"),
        (other, "X9", "50"),
    }


async def test_a_cancelled_order_refuses_a_receipt_and_nothing_is_received(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None
) -> None:
    keeper = await sign_in("inventory")
    dental = await supplier(anonymous, keeper, "Dental Sur S.L.")
    gloves = await item(anonymous, keeper, name="Guantes S", unit="pair", category="disposables")
    order = (
        await ok(
            await anonymous.post(
                "/api/inventory/orders",
                json={"supplier_id": dental, "lines": [{"item_id": gloves, "quantity": 10}]},
                headers=keeper,
            ),
            201,
        )
    )["id"]
    base = f"/api/inventory/orders/{order}"
    await ok(await anonymous.post(f"{base}/sent", headers=keeper))
    await ok(
        await anonymous.post(f"{base}/cancellation", json={"reason": "duplicated"}, headers=keeper)
    )

    line = {"item_id": gloves, "lot": "G1", "expiry": LATER, "quantity": 10}
    refused = await anonymous.post(f"{base}/receipts", json={"lines": [line]}, headers=keeper)

    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "cancelled" in refused.json()["detail"]
    moves = await anonymous.get(f"/api/inventory/items/{gloves}/movements", headers=keeper)
    assert moves.json()["items"] == []


async def test_the_reorder_suggestion_drafts_one_order_per_supplier(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    keeper = await sign_in("inventory")
    north = await supplier(anonymous, keeper, "Norte S.L.")
    south = await supplier(anonymous, keeper, "Sur S.L.")
    boxed = {"pack_unit": "box", "pack_size": 25}  # bought by the box, used one by one
    north_items = [
        await item(
            anonymous,
            keeper,
            name=f"Norte {n}",
            supplier_id=north,
            reorder_point=10,
            reorder_quantity=40 + n,
            **(boxed if n == 0 else {}),
        )
        for n in range(2)
    ]
    south_item = await item(anonymous, keeper, name="Sur", supplier_id=south, reorder_point=5)
    stocked = await item(anonymous, keeper, name="Bien", supplier_id=south, reorder_point=1)
    receipt = {"item_id": stocked, "lot": "B1", "expiry": LATER, "quantity": 9}
    await ok(await anonymous.post("/api/inventory/receipts", json=receipt, headers=keeper), 201)
    queries = platform.get(InventoryQueries)

    async def all_listed() -> bool:
        return len(await queries.to_reorder(TODAY)) == 3

    await eventually(all_listed, what="the items below their reorder point")

    made = await ok(await anonymous.post("/api/inventory/order-suggestions", headers=keeper), 201)

    assert len(made["orders"]) == 2

    async def drafted() -> bool:
        return len(await queries.orders("draft", 10)) == 2

    await eventually(drafted, what="the drafted orders")
    lines = {
        order["supplier_id"]: {(line["item_id"], line["quantity"]) for line in order["lines"]}
        for order in await queries.orders("draft", 10)
    }
    assert lines == {
        north: {(north_items[0], "50"), (north_items[1], "41")},  # two boxes of 25
        south: {(south_item, "50")},
    }
    again = await ok(await anonymous.post("/api/inventory/order-suggestions", headers=keeper), 201)
    assert again["orders"] == []  # each is on an open order now


async def test_a_stock_takes_variances_become_count_corrections(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    keeper = await sign_in("inventory")
    burs = await item(anonymous, keeper, name="Fresas", unit="unit", category="instruments")
    for lot, amount in (("F1", 10), ("F2", 4)):
        receipt = {"item_id": burs, "lot": lot, "expiry": LATER, "quantity": amount}
        await ok(await anonymous.post("/api/inventory/receipts", json=receipt, headers=keeper), 201)
    take = (
        await ok(await anonymous.post("/api/inventory/stock-takes", json={}, headers=keeper), 201)
    )["id"]
    base = f"/api/inventory/stock-takes/{take}"
    for lot, counted in (("F1", 8), ("F2", 4)):
        body = {"item_id": burs, "lot": lot, "counted": counted}
        last = await anonymous.post(f"{base}/counts", json=body, headers=keeper)
        await ok(last)

    report = await ok(
        await anonymous.get(base, headers={**keeper, CONSISTENT: last.headers[TOKEN]})
    )
    assert [(v["lot"], v["expected"], v["counted"], v["change"]) for v in report["variances"]] == [
        ("F1", "10", "8", "-2"),
        ("F2", "4", "4", "0"),
    ]
    await ok(await anonymous.post(f"{base}/completion", headers=keeper))

    async def corrected() -> bool:
        rows = await platform.get(InventoryQueries).levels(UUID(burs))
        return {r["lot"]: r["quantity"] for r in rows} == {"F1": "8", "F2": "4"}

    await eventually(corrected, what="the count correction in the stock")
    again = await anonymous.post(
        f"{base}/counts", json={"item_id": burs, "lot": "F1", "counted": 1}, headers=keeper
    )
    assert again.status_code == 409


async def test_the_alerts_are_listed_and_counted_in_metrics(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    keeper = await sign_in("inventory")
    low = await item(anonymous, keeper, name="Composite A2", reorder_point=10)
    soon = (TODAY + timedelta(days=20)).isoformat()
    receipt = {"item_id": low, "lot": "C1", "expiry": soon, "quantity": 3}
    await ok(await anonymous.post("/api/inventory/receipts", json=receipt, headers=keeper), 201)
    queries = platform.get(InventoryQueries)

    async def listed() -> bool:
        found = await queries.alerts(TODAY)
        return bool(found["below_reorder_point"] and found["expiring"])

    await eventually(listed, what="the alerts")
    alerts = await ok(await anonymous.get("/api/inventory/alerts?expiring_days=30", headers=keeper))
    assert [a["item"] for a in alerts["below_reorder_point"]] == ["Composite A2"]
    assert [(a["lot"], a["expiry"]) for a in alerts["expiring"]] == [("C1", soon)]
    narrow = await ok(await anonymous.get("/api/inventory/alerts?expiring_days=10", headers=keeper))
    assert narrow["expiring"] == []

    await AlertCount(queries.alerts, lambda: TODAY, 30).count_once()
    page = generate_latest(REGISTRY).decode()  # what the worker's /metrics shows

    assert 'sonrisa_inventory_alerts{kind="below_reorder_point"} 1.0' in page
    assert 'sonrisa_inventory_alerts{kind="expiring"} 1.0' in page
    assert 'sonrisa_inventory_alerts{kind="expired"} 0.0' in page
