"""The stock keeper's API: items and deliveries typed or scanned, stock by lot and location,
CSV, movements and alerts; bad input refused as problem+json with nothing written; and the
lot trace, which names patients, kept from inventory staff and written to the access log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bus.inventory import TreatmentReactions
from clinic.platform import Platform
from commands.base import clinic_today
from tests.conftest import SignIn, eventually, running
from tests.e2e.test_audit import entries
from tests.e2e.test_patients_api import CONSISTENT, TOKEN
from tests.integration.helpers import registered_patient

TODAY = clinic_today()
GTIN = "09501101530003"  # a valid GTIN-13 (check digit 3), as GTIN-14
IMPLANT_GTIN = "08412345000065"
EXPIRY = TODAY + timedelta(days=400)
YYMMDD = EXPIRY.strftime("%y%m%d")


@pytest.fixture
async def worker(platform: Platform, pipeline: None) -> AsyncIterator[None]:
    async with running(platform.consumer(TreatmentReactions.name).run):
        yield


async def item(http: httpx.AsyncClient, keeper: dict[str, str], **fields: Any) -> str:
    body = {
        "name": "Articaína 4%",
        "unit": "cartridge",
        "category": "anaesthesia",
        "reorder_point": 5,
        "reorder_quantity": 50,
        **fields,
    }
    made = await http.post("/api/inventory/items", json=body, headers=keeper)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def levels(http: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await http.get("/api/inventory/stock", headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def test_a_scanned_package_fills_the_receipt_with_or_without_group_separators(
    anonymous: httpx.AsyncClient, sign_in: SignIn, worker: None
) -> None:
    keeper = await sign_in("inventory")
    cartridges = await item(anonymous, keeper, gtin=GTIN, material="anaesthetic cartridge")
    scans = (f"01{GTIN}17{YYMMDD}10AB-123", f"]d201{GTIN}10AB-123\x1d17{YYMMDD}")
    for scan in scans:
        received = await anonymous.post(
            "/api/inventory/receipts", json={"scan": scan, "quantity": "2.5"}, headers=keeper
        )
        assert received.status_code == 201, received.text
    wait = {**keeper, CONSISTENT: received.headers[TOKEN]}

    async def listed() -> bool:
        return bool(await levels(anonymous, wait))

    await eventually(listed, what="the item's stock in the list")  # the item's row lands too
    assert await levels(anonymous, wait) == [
        {
            "item_id": cartridges,
            "item": "Articaína 4%",
            "unit": "cartridge",
            "category": "anaesthesia",
            "lot": "AB-123",
            "location": "store-room",
            "expiry": EXPIRY.isoformat(),
            "quantity": "5",
        }
    ]
    csv = await anonymous.get("/api/inventory/stock.csv", headers=keeper)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[1].endswith(f",AB-123,store-room,{EXPIRY.isoformat()},5")
    moves = await anonymous.get(
        f"/api/inventory/items/{cartridges}/movements?limit=1", headers=keeper
    )
    first = moves.json()
    assert [m["kind"] for m in first["items"]] == ["StockReceived"]
    rest = await anonymous.get(
        f"/api/inventory/items/{cartridges}/movements?after={first['next']}", headers=keeper
    )
    assert [m["detail"]["quantity"] for m in rest.json()["items"]] == ["2.5"]


BAD_RECEIPTS = {
    "a negative quantity": ({"lot": "L1", "quantity": -5}, "quantity"),
    "an expiry before the receipt": (
        {"lot": "L1", "quantity": 5, "expiry": (TODAY - timedelta(days=1)).isoformat()},
        "expiry",
    ),
    "a GS1 string with a wrong check digit": (
        {"scan": f"0109501101530004 17{YYMMDD}10L1".replace(" ", ""), "quantity": 1},
        "gtin",
    ),
}


@pytest.mark.parametrize("case", BAD_RECEIPTS, ids=list(BAD_RECEIPTS))
async def test_a_bad_receipt_is_refused_as_a_problem_and_writes_nothing(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, case: str
) -> None:
    keeper = await sign_in("inventory")
    cartridges = await item(anonymous, keeper)
    body, named = BAD_RECEIPTS[case]

    refused = await anonymous.post(
        "/api/inventory/receipts", json={"item_id": cartridges, **body}, headers=keeper
    )

    assert 400 <= refused.status_code < 500, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert named in refused.text
    moves = await anonymous.get(f"/api/inventory/items/{cartridges}/movements", headers=keeper)
    assert moves.json()["items"] == []


async def test_an_unknown_unit_is_refused_and_defines_nothing(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    keeper = await sign_in("inventory")
    body = {"name": "Algo", "unit": "bucket", "category": "other", "reorder_quantity": 1}

    refused = await anonymous.post("/api/inventory/items", json=body, headers=keeper)

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    listed = await anonymous.get("/api/inventory/items", headers=keeper)
    assert listed.json()["items"] == []


async def record(
    http: httpx.AsyncClient, dentist: dict[str, str], patient: str, lot: str | None
) -> dict[str, Any]:
    materials = [{"item": "implant fixture", "lot": lot}] if lot else []
    body = {"patient_id": patient, "code": "IMPLANT", "tooth": 36, "materials": materials}
    done = await http.post("/api/treatments", json=body, headers=dentist)
    assert done.status_code == 201, done.text
    return dict(done.json())


async def test_the_lot_trace_names_exactly_the_patients_who_received_the_lot(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, worker: None
) -> None:
    keeper, dentist = await sign_in("inventory"), await sign_in("dentist")
    implants = await item(
        anonymous, keeper, name="Implante 4,1 x 10", unit="unit", category="implants",
        material="implant fixture", gtin=IMPLANT_GTIN,
    )  # fmt: skip
    for lot in ("IMP-A", "IMP-B"):
        receipt = {"item_id": implants, "lot": lot, "quantity": 3, "expiry": EXPIRY.isoformat()}
        made = await anonymous.post("/api/inventory/receipts", json=receipt, headers=keeper)
        assert made.status_code == 201, made.text
    first, second, other = (str(registered_patient(platform, n)) for n in range(3))
    udi = f"01{IMPLANT_GTIN}17{YYMMDD}10IMP-A\x1d21SN-0042"
    await record(anonymous, dentist, first, udi)  # scanned: its lot is IMP-A
    await record(anonymous, dentist, second, "IMP-A")
    last = await record(anonymous, dentist, other, "IMP-B")

    async def traced() -> bool:
        answer = await anonymous.get("/api/inventory/lots/IMP-B/patients", headers=dentist)
        return bool(answer.json()["items"])

    await eventually(traced, what="the last implant in the lot trace")
    before = len(await entries(platform))
    trace = await anonymous.get("/api/inventory/lots/IMP-A/patients", headers=dentist)

    assert trace.status_code == 200, trace.text
    found = trace.json()["items"]
    assert sorted(t["patient_id"] for t in found) == sorted([first, second])
    assert {t["tooth"] for t in found} == {36}
    (device,) = [d for t in found for d in t["devices"]]
    assert (device["gtin"], device["lot"], device["serial"]) == (IMPLANT_GTIN, "IMP-A", "SN-0042")
    logged = (await entries(platform))[before:]
    assert [e["action"] for e in logged] == ["inventory:trace"]
    details: dict[str, Any] = logged[0]["details"]  # type: ignore[assignment]
    assert sorted(details["patient_ids"]) == sorted([first, second])

    async def in_the_record() -> bool:  # the UDI, in the patient's treatment history
        history = await anonymous.get(f"/api/patients/{first}/treatments", headers=dentist)
        return "SN-0042" in history.text

    await eventually(in_the_record, what="the implant's UDI in the patient's record")
    chart = await anonymous.get(f"/api/patients/{first}/chart", headers=dentist)
    assert chart.json()["teeth"]["36"]["devices"] == [udi.replace("\x1d", "|")]
    card = await anonymous.get(f"/api/patients/{first}/implant-card", headers=dentist)
    assert card.status_code == 200, card.text
    assert card.headers["content-type"].startswith("text/html")
    for part in (IMPLANT_GTIN, "IMP-A", "SN-0042", EXPIRY.isoformat()):
        assert part in card.text
    assert last["version"] == 1


async def test_inventory_staff_get_403_on_the_lot_trace_and_every_patient_route(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    keeper = await sign_in("inventory")
    patient = str(registered_patient(platform))
    for path in (
        "/api/inventory/lots/IMP-A/patients",
        "/api/patients",
        f"/api/patients/{patient}",
        f"/api/patients/{patient}/medical-history",
        f"/api/patients/{patient}/treatments",
        "/api/treatments",
    ):
        refused = await anonymous.get(path, headers=keeper)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
