"""A front desk registers, finds, updates and charts patients through the HTTP API."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from clinic.platform import Platform
from infra.logs import configure_logging
from tests.conftest import event_count, eventually

PATIENT: dict[str, Any] = {
    "given_name": "María José",
    "family_name": "Núñez Peña",
    "birth_date": "1984-05-17",
    "sex": "female",
    "national_id": "12345678Z",
    "phone": "600 111 222",
    "email": "maria@Example.ES",
    "address": {"line1": "Calle Mayor 1", "city": "Madrid", "postal_code": "28013"},
    "language": "es",
    "consents": {"sms": True, "email": False, "whatsapp": False},
}
CONSISTENT = "Sonrisa-Consistent-With"
TOKEN = "Sonrisa-Consistency-Token"


async def register(client: httpx.AsyncClient, **changes: Any) -> httpx.Response:
    response = await client.post("/api/patients", json={**PATIENT, **changes})
    assert response.status_code == 201, response.text
    return response


async def test_a_registered_patient_reaches_both_read_models_and_is_found_by_search(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    created = await register(client)
    patient_id = created.json()["id"]
    assert created.headers["Location"] == f"/api/patients/{patient_id}"
    assert created.headers["ETag"] == '"1"'

    chart = await client.get(
        f"/api/patients/{patient_id}", headers={CONSISTENT: created.headers[TOKEN]}
    )
    assert chart.status_code == 200
    assert chart.headers["Sonrisa-Consistency"] == "consistent"
    assert chart.json()["demographics"]["family_name"] == "Núñez Peña"
    assert chart.json()["contact"]["phone"] == "+34600111222"

    found = await client.get(
        "/api/patients", params={"q": "nunez pena"}, headers={CONSISTENT: created.headers[TOKEN]}
    )
    assert [p["patient_id"] for p in found.json()["items"]] == [patient_id]
    assert await platform.projectors["patient_directory"].store.version_of(UUID(patient_id)) == 1
    assert await platform.projectors["patient_chart"].store.version_of(UUID(patient_id)) == 1


async def test_search_ignores_accents_and_case_and_finds_by_phone_and_national_id(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    maria = (await register(client)).json()["id"]
    other = await register(
        client,
        given_name="Luis",
        family_name="Gómez",
        national_id=None,
        phone="+34 911 222 333",
        email=None,
        consents={"sms": False, "email": False, "whatsapp": False},
    )
    await eventually(lambda: _has_version(platform, other.json()["id"]), what="projection")

    async def ids(q: str) -> list[str]:
        response = await client.get("/api/patients", params={"q": q})
        return [p["patient_id"] for p in response.json()["items"]]

    assert await ids("MARÍA") == [maria]
    assert await ids("gomez") == [other.json()["id"]]
    assert await ids("600111") == [maria]
    assert await ids("911 222") == [other.json()["id"]]
    assert await ids("12345678z") == [maria]
    assert await ids("nobody") == []


async def _has_version(platform: Platform, patient_id: str, version: int = 1) -> bool:
    return (
        await platform.projectors["patient_directory"].store.version_of(UUID(patient_id)) >= version
    )


async def _all_projected(platform: Platform, ids: list[str]) -> bool:
    return all([await _has_version(platform, p) for p in ids])


async def test_keyset_pagination_returns_every_patient_once_in_name_order(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    surnames = ["Zamora", "Álvarez", "Martín", "Benítez", "Ortega"]
    ids = [(await register(client, family_name=s)).json()["id"] for s in surnames]
    await eventually(lambda: _all_projected(platform, ids), what="projection")

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/patients", params=params)).json()
        seen += [p["family_name"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Álvarez", "Benítez", "Martín", "Ortega", "Zamora"]


async def test_an_update_with_the_current_etag_changes_the_record(
    client: httpx.AsyncClient, pipeline: None
) -> None:
    created = await register(client)
    patient_id = created.json()["id"]
    updated = await client.put(
        f"/api/patients/{patient_id}",
        json={**PATIENT, "phone": "+34 611 000 111", "family_name": "Núñez Ruiz"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert updated.status_code == 200, updated.text
    assert updated.headers["ETag"] == '"3"'
    chart = await client.get(
        f"/api/patients/{patient_id}", headers={CONSISTENT: updated.headers[TOKEN]}
    )
    assert chart.json()["contact"]["phone"] == "+34611000111"
    assert chart.json()["demographics"]["family_name"] == "Núñez Ruiz"
    assert chart.headers["ETag"] == '"3"'


async def test_two_concurrent_updates_with_the_same_etag_one_wins_and_one_gets_412(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    created = await register(client)
    patient_id = created.json()["id"]
    before = await event_count(platform.pool)

    async def update(phone: str) -> httpx.Response:
        return await client.put(
            f"/api/patients/{patient_id}",
            json={**PATIENT, "phone": phone},
            headers={"If-Match": '"1"'},
        )

    first, second = await asyncio.gather(update("+34 611 000 111"), update("+34 622 000 222"))
    assert sorted([first.status_code, second.status_code]) == [200, 412]
    loser = first if first.status_code == 412 else second
    assert loser.headers["content-type"] == "application/problem+json"
    assert loser.json()["type"].endswith("/stale-version")
    assert await event_count(platform.pool) == before + 1


async def test_an_update_without_if_match_is_refused_with_428(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    patient_id = (await register(client)).json()["id"]
    response = await client.put(f"/api/patients/{patient_id}", json=PATIENT)
    assert response.status_code == 428
    assert response.json()["type"].endswith("/precondition-required")
    assert await event_count(platform.pool) == 1


TOO_LONG = "x" * 101
FUTURE = (date.today() + timedelta(days=2)).isoformat()
BAD_BODIES: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown field", {**PATIENT, "favourite_colour": "blue"}, 422, "invalid-request"),
    ("wrong type", {**PATIENT, "birth_date": 19840517}, 422, "invalid-request"),
    ("not a date", {**PATIENT, "birth_date": "17/05/1984"}, 422, "invalid-request"),
    ("oversized name", {**PATIENT, "given_name": TOO_LONG}, 422, "invalid-request"),
    ("empty name", {**PATIENT, "family_name": "   "}, 422, "invalid-request"),
    (
        "missing name",
        {k: v for k, v in PATIENT.items() if k != "given_name"},
        422,
        "invalid-request",
    ),
    ("future birth date", {**PATIENT, "birth_date": FUTURE}, 422, "invalid-data"),
    ("bad phone", {**PATIENT, "phone": "12"}, 422, "invalid-data"),
    ("letters as phone", {**PATIENT, "phone": "call me maybe"}, 422, "invalid-data"),
    ("bad email", {**PATIENT, "email": "maria@"}, 422, "invalid-data"),
    ("bad national id", {**PATIENT, "national_id": "12345678A"}, 422, "invalid-data"),
    ("unknown sex", {**PATIENT, "sex": "robot"}, 422, "invalid-request"),
    ("sms consent without phone", {**PATIENT, "phone": None}, 422, "invalid-data"),
    ("unknown language", {**PATIENT, "language": "fr"}, 422, "invalid-request"),
]


@pytest.mark.parametrize(
    ("case", "body", "status", "kind"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES]
)
async def test_bad_input_gets_a_problem_and_writes_nothing(
    client: httpx.AsyncClient,
    platform: Platform,
    case: str,
    body: dict[str, Any],
    status: int,
    kind: str,
) -> None:
    response = await client.post("/api/patients", json=body)
    assert response.status_code == status, (case, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"https://sonrisa.dev/problems/{kind}"
    assert problem["status"] == status
    assert problem["detail"]
    assert await event_count(platform.pool) == 0


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("GET", "/api/patients/not-a-uuid", None),
        ("PUT", "/api/patients/1234", b"{}"),
        ("POST", "/api/patients", b"{not json"),
        ("POST", "/api/patients", b"x" * 70_000),
        ("GET", "/api/patients?limit=100000", None),
        ("GET", "/api/patients?cursor=garbage", None),
        (
            "POST",
            "/api/patients/00000000-0000-0000-0000-000000000000/alerts",
            b'{"code": "latex", "description": "Latex allergy"}',
        ),
    ],
)
async def test_malformed_requests_get_4xx_problems_and_write_nothing(
    client: httpx.AsyncClient, platform: Platform, method: str, path: str, content: bytes | None
) -> None:
    response = await client.request(
        method, path, content=content, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].startswith("https://sonrisa.dev/problems/")
    assert await event_count(platform.pool) == 0


async def test_medical_history_and_alerts_appear_on_the_chart(
    client: httpx.AsyncClient, pipeline: None
) -> None:
    patient_id = (await register(client)).json()["id"]
    allergy = await client.post(
        f"/api/patients/{patient_id}/medical-history",
        json={"kind": "allergy", "description": "Penicillin", "severity": "high"},
    )
    assert allergy.status_code == 201, allergy.text
    medication = await client.post(
        f"/api/patients/{patient_id}/medical-history",
        json={
            "kind": "medication",
            "description": "Acenocoumarol 4 mg",
            "started_on": "2020-01-01",
        },
    )
    ended = await client.post(
        f"/api/patients/{patient_id}/medical-history/{medication.json()['entry_id']}/end",
        json={"ended_on": "2024-06-01", "reason": "switched by cardiologist"},
    )
    assert ended.status_code == 200, ended.text
    alert = await client.post(
        f"/api/patients/{patient_id}/alerts",
        json={"code": "anticoagulants", "description": "On anticoagulants: check INR"},
    )
    assert alert.status_code == 201

    history = await client.get(
        f"/api/patients/{patient_id}/medical-history", headers={CONSISTENT: alert.headers[TOKEN]}
    )
    body = history.json()
    assert body["version"] == 5
    by_kind = {e["kind"]: e for e in body["entries"]}
    assert by_kind["allergy"]["active"] is True
    assert by_kind["medication"]["active"] is False
    assert by_kind["medication"]["ended_on"] == "2024-06-01"
    assert [a["code"] for a in body["alerts"]] == ["anticoagulants"]

    cleared = await client.post(
        f"/api/patients/{patient_id}/alerts/{alert.json()['alert_id']}/clear", json={}
    )
    chart = await client.get(
        f"/api/patients/{patient_id}", headers={CONSISTENT: cleared.headers[TOKEN]}
    )
    assert chart.json()["alerts"] == []


async def test_ending_an_entry_twice_is_refused_with_409(client: httpx.AsyncClient) -> None:
    patient_id = (await register(client)).json()["id"]
    entry = await client.post(
        f"/api/patients/{patient_id}/medical-history",
        json={"kind": "condition", "description": "Diabetes type 2"},
    )
    path = f"/api/patients/{patient_id}/medical-history/{entry.json()['entry_id']}/end"
    assert (await client.post(path, json={"ended_on": "2025-01-01"})).status_code == 200
    again = await client.post(path, json={"ended_on": "2025-01-01"})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/transition-refused")


async def test_logs_carry_the_correlation_id_but_no_patient_data(
    client: httpx.AsyncClient, pipeline: None
) -> None:
    captured = io.StringIO()
    configure_logging("DEBUG", stream=captured)
    try:
        created = await client.post(
            "/api/patients", json=PATIENT, headers={"X-Correlation-Id": "corr-123"}
        )
        await client.get(
            "/api/patients", params={"q": "Núñez"}, headers={CONSISTENT: created.headers[TOKEN]}
        )
    finally:
        configure_logging("INFO")
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.strip()]
    assert created.headers["X-Correlation-Id"] == "corr-123"
    assert any(line.get("correlation_id") == "corr-123" for line in lines)
    routes = {(line.get("method"), line.get("route")) for line in lines}
    assert {("POST", "/api/patients"), ("GET", "/api/patients")} <= routes
    logs = json.dumps(lines, ensure_ascii=False)
    for secret in ("Núñez", "María", "600111222", "maria@", "12345678Z"):
        assert secret not in logs


async def test_health_and_readiness_report_every_dependency(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"postgresql": "ok", "rabbitmq": "ok", "mongo": "ok"}
