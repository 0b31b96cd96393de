"""A dentist records, corrects and plans treatments over HTTP; the chart (Mongo), the list and
the production report (PostgreSQL) follow, as of now and as of any earlier instant."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from clinic.platform import Platform
from clinic.rebuild import rebuild
from commands.base import clinic_today
from projections.treatments import TreatmentQueries
from tests.conftest import SignIn, eventually
from tests.e2e.test_appointment_book import appointment, set_up
from tests.integration.helpers import caught_up, publish, registered_patient

CONSISTENT = "Sonrisa-Consistent-With"
TOKEN = "Sonrisa-Consistency-Token"
PROBLEM = "application/problem+json"


def filling(patient_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "patient_id": patient_id,
        "code": "FILL-1",
        "tooth": 36,
        "surfaces": "O",
        "clinical_notes": "Caries oclusal profunda; anestesia troncular.",
        "materials": [{"item": "composite A2", "lot": "LOT-2291"}],
        **changes,
    }


async def a_patient(platform: Platform, n: int = 0) -> str:
    """A patient the clinic has registered: nothing is recorded for a patient who does not exist."""
    return str(await asyncio.to_thread(registered_patient, platform, n))


async def treatment_events(platform: Platform) -> int:
    return int(await platform.pool.fetchval("SELECT count(*) FROM treatments_events"))


def after(response: httpx.Response) -> dict[str, str]:
    """Headers that make a read wait for the write that gave this response."""
    return {CONSISTENT: response.headers[TOKEN]}


async def record(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    response = await client.post("/api/treatments", json=body)
    assert response.status_code == 201, response.text
    return response


async def test_a_recorded_treatment_reaches_the_chart_and_production_and_corrections_follow(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    today = clinic_today().isoformat()  # the report counts the clinic's days
    created = await record(client, filling(patient))
    treatment_id = created.json()["id"]
    assert created.headers["Location"] == f"/api/treatments/{treatment_id}"

    chart = (await client.get(f"/api/patients/{patient}/chart", headers=after(created))).json()
    assert chart["teeth"]["36"]["surfaces"]["O"]["state"] == "restoration"
    report = await client.get(
        "/api/reports/production", params={"from": today, "to": today}, headers=after(created)
    )
    assert [(r["treatments"], r["fees"]) for r in report.json()["rows"]] == [(1, "50.00")]

    amended = await client.put(
        f"/api/treatments/{treatment_id}",
        json={"tooth": 37, "surfaces": "O", "fee": "45.00", "reason": "wrong tooth charted"},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert amended.status_code == 200, amended.text
    chart = (await client.get(f"/api/patients/{patient}/chart", headers=after(amended))).json()
    assert set(chart["teeth"]) == {"37"}
    report = await client.get(
        "/api/reports/production", params={"from": today, "to": today}, headers=after(amended)
    )
    assert [r["fees"] for r in report.json()["rows"]] == ["45.00"]

    voided = await client.post(
        f"/api/treatments/{treatment_id}/void", json={"reason": "entered in error"}
    )
    assert voided.status_code == 200, voided.text
    chart = (await client.get(f"/api/patients/{patient}/chart", headers=after(voided))).json()
    assert chart["teeth"] == {}
    report = await client.get(
        "/api/reports/production", params={"from": today, "to": today}, headers=after(voided)
    )
    assert report.json()["rows"] == []

    history = await client.get(f"/api/patients/{patient}/treatments", headers=after(voided))
    [kept] = history.json()["items"]
    assert kept["status"] == "voided"
    assert [e["event"] for e in kept["history"]] == ["recorded", "amended", "voided"]
    assert [e["tooth"] for e in kept["history"][:2]] == [36, 37]
    listed = await client.get("/api/treatments", params={"code": "fill-1"}, headers=after(voided))
    assert [t["status"] for t in listed.json()["items"]] == ["voided"]


async def test_a_plan_presented_and_accepted_falls_to_nothing_pending_as_its_items_are_done(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    items = [
        {"code": "FILL-2", "tooth": 46, "surfaces": "MO", "phase": "basic", "priority": 1},
        {"code": "CROWN", "tooth": 26, "phase": "rehabilitation", "priority": 2, "fee": "420.00"},
    ]
    drafted = await client.post(
        "/api/plans", json={"patient_id": patient, "title": "Rehabilitación", "items": items}
    )
    assert drafted.status_code == 201, drafted.text
    plan_id = drafted.json()["id"]
    assert (await client.post(f"/api/plans/{plan_id}/present")).status_code == 200
    accepted = await client.post(
        f"/api/plans/{plan_id}/accept",
        json={"signed_by": "María José Núñez", "document_version": "CI-2026-03"},
    )
    assert accepted.status_code == 200, accepted.text
    plan = (await client.get(f"/api/plans/{plan_id}", headers=after(accepted))).json()
    assert plan["status"] == "accepted"
    assert plan["consent"]["document_version"] == "CI-2026-03"
    assert plan["totals"] == {
        "per_phase": {"basic": "65.00", "rehabilitation": "420.00"},
        "total": "485.00",
        "done": "0.00",
        "pending": "485.00",
    }
    chart = (await client.get(f"/api/patients/{patient}/chart", headers=after(accepted))).json()
    assert [p["code"] for p in chart["teeth"]["26"]["planned"]] == ["CROWN"]

    last = accepted
    for item in plan["items"]:
        where = {k: item[k] for k in ("code", "tooth", "surfaces")}
        last = await record(
            client,
            {"patient_id": patient, **where, "plan_id": plan_id, "plan_item_id": item["item_id"]},
        )
    await eventually(lambda: _plan_version(platform, plan_id, 7), what="plan items completed")
    plan = (await client.get(f"/api/plans/{plan_id}")).json()
    assert plan["totals"]["pending"] == "0.00"
    assert all(i["completed_by"] for i in plan["items"])
    chart = (await client.get(f"/api/patients/{patient}/chart", headers=after(last))).json()
    assert chart["teeth"]["26"]["planned"] == []
    assert chart["teeth"]["26"]["conditions"] == ["crown"]


async def _plan_version(platform: Platform, plan_id: str, version: int) -> bool:
    return await platform.projectors["treatment_chart"].store.version_of(UUID(plan_id)) >= version


async def test_a_visit_records_all_its_treatments_against_the_appointment_or_none_of_them(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(client, sign_in, platform)
    body = appointment(clinic)
    booked = await client.post("/api/appointments", json=body, headers=clinic.desk)
    patient, appointment_id = body["patient_id"], booked.json()["id"]
    done = [
        {"code": "CLEAN"},
        {"code": "FILL-2", "tooth": 14, "surfaces": "DO", "clinical_notes": "Caries distal."},
    ]
    path = f"/api/appointments/{appointment_id}/treatments"
    refused = await client.post(
        path,
        json={"patient_id": patient, "treatments": [*done, {"code": "FILL-1", "tooth": 19}]},
    )
    assert refused.status_code == 422
    unknown = await client.post(
        f"/api/appointments/{uuid4()}/treatments", json={"patient_id": patient, "treatments": done}
    )
    assert unknown.status_code == 404
    theirs = await client.post(path, json={"patient_id": next(clinic.patients), "treatments": done})
    assert theirs.status_code == 422
    assert theirs.json()["detail"] == f"appointment {appointment_id} is not this patient's"
    assert await treatment_events(platform) == 0

    visit = await client.post(path, json={"patient_id": patient, "treatments": done})
    assert visit.status_code == 201, visit.text
    assert len(visit.json()["items"]) == 2
    await eventually(lambda: caught_up(platform), what="the visit projected")
    history = (await client.get(f"/api/patients/{patient}/treatments")).json()["items"]
    assert sorted(t["code"] for t in history) == ["CLEAN", "FILL-2"]
    assert {t["appointment_id"] for t in history} == {appointment_id}


async def test_the_chart_as_of_five_past_instants_equals_what_the_api_returned_then(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    steps: list[dict[str, Any]] = [
        {"kind": "exam", "findings": [{"tooth": 16, "condition": "caries", "surfaces": "OD"}]},
        {"kind": "treatment", **filling(patient, tooth=16, surfaces="OD", code="FILL-2")},
        {"kind": "treatment", **filling(patient, tooth=48, surfaces="", code="EXT-S")},
        {"kind": "exam", "findings": [{"tooth": 31, "condition": "mobility", "grade": 2}]},
        {"kind": "treatment", **filling(patient, tooth=11, surfaces="MI", code="FILL-2")},
    ]
    seen: list[tuple[str, dict[str, Any]]] = []
    for step in steps:
        kind = step.pop("kind")
        if kind == "exam":
            response = await client.post("/api/examinations", json={"patient_id": patient, **step})
        else:
            response = await client.post("/api/treatments", json=step)
        assert response.status_code == 201, response.text
        chart = await client.get(f"/api/patients/{patient}/chart", headers=after(response))
        seen.append((datetime.now(UTC).isoformat(), chart.json()["teeth"]))
        await asyncio.sleep(0.01)

    for instant, then in seen:
        past = await client.get(f"/api/patients/{patient}/chart", params={"as_of": instant})
        assert past.status_code == 200, past.text
        assert past.json()["teeth"] == then
    assert seen[-1][1]["48"]["conditions"] == ["missing"]
    assert seen[0][1]["16"]["surfaces"]["O"]["state"] == "caries"
    assert seen[1][1]["16"]["surfaces"]["O"]["state"] == "restoration"


BAD: list[tuple[str, dict[str, Any], int, str]] = [
    ("tooth 19 does not exist", {"tooth": 19}, 422, "invalid-data"),
    ("tooth 86 does not exist", {"tooth": 86}, 422, "invalid-data"),
    ("occlusal on an incisor", {"tooth": 11, "surfaces": "O"}, 422, "invalid-data"),
    ("a negative fee", {"fee": "-10.00"}, 422, "invalid-data"),
    ("a fee below the cent", {"fee": "10.005"}, 422, "invalid-data"),
    ("a procedure that does not exist", {"code": "D2391"}, 422, "invalid-data"),
    ("surfaces on a whole-mouth procedure", {"code": "CLEAN", "tooth": None}, 422, "invalid-data"),
    ("an unknown field", {"colour": "A2"}, 422, "invalid-request"),
    ("done in the future", {"performed_at": "2199-01-01T10:00:00+01:00"}, 422, "invalid-data"),
    (
        "done before the patient was born",
        {"performed_at": "1900-01-01T10:00:00+01:00"},
        422,
        "invalid-data",
    ),
]


@pytest.mark.parametrize(("case", "change", "status", "kind"), BAD, ids=[b[0] for b in BAD])
async def test_bad_input_gets_a_problem_and_writes_nothing(
    client: httpx.AsyncClient,
    platform: Platform,
    case: str,
    change: dict[str, Any],
    status: int,
    kind: str,
) -> None:
    response = await client.post(
        "/api/treatments", json=filling(await a_patient(platform), **change)
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith(f"/{kind}")
    assert await treatment_events(platform) == 0


async def test_a_voided_treatment_cannot_be_amended(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    created = await record(client, filling(await a_patient(platform)))
    treatment_id = created.json()["id"]
    voided = await client.post(f"/api/treatments/{treatment_id}/void", json={"reason": "error"})
    assert voided.status_code == 200
    refused = await client.put(
        f"/api/treatments/{treatment_id}",
        json={"tooth": 37, "surfaces": "O", "fee": "50.00", "reason": "late fix"},
        headers={"If-Match": voided.headers["ETag"]},
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["type"].endswith("/transition-refused")
    assert await treatment_events(platform) == 2


async def test_the_desk_sees_fees_and_plans_but_not_notes_or_the_chart_and_reads_are_logged(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    created = await record(client, filling(patient))
    receptionist = {**await sign_in("receptionist"), **after(created)}
    history = await client.get(f"/api/patients/{patient}/treatments", headers=receptionist)
    assert history.status_code == 200
    [seen] = history.json()["items"]
    assert seen["fee"] == "50.00"
    assert "clinical_notes" not in seen
    assert all("clinical_notes" not in e for e in seen["history"])
    listed = await client.get("/api/treatments", headers=receptionist)
    assert "clinical_notes" not in listed.json()["items"][0]
    assert (
        await client.get(f"/api/patients/{patient}/chart", headers=receptionist)
    ).status_code == 403
    refused = await client.post("/api/treatments", json=filling(patient), headers=receptionist)
    assert refused.status_code == 403

    dentist = await client.get(f"/api/patients/{patient}/treatments", headers=after(created))
    assert dentist.json()["items"][0]["clinical_notes"].startswith("Caries")
    inventory = await sign_in("inventory")
    for path in (f"/api/patients/{patient}/treatments", "/api/treatments"):
        assert (await client.get(path, headers=inventory)).status_code == 403
    assert (await client.get("/api/catalogue", headers=inventory)).status_code == 200

    entries = await platform.access_log.search(
        patient_id=UUID(patient), actor=None, since=None, until=None, after_seq=0, limit=100
    )
    actions = {(e["actor_role"], e["action"]) for e in entries}
    assert ("receptionist", "treatments:read") in actions
    assert ("dentist", "treatments:write") in actions


async def test_auditors_replay_treatment_events_and_change_nothing(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    created = await record(client, filling(patient))
    await client.post(
        f"/api/treatments/{created.json()['id']}/void", json={"reason": "entered in error"}
    )
    auditor = await sign_in("auditor")
    await eventually(lambda: caught_up(platform), what="chart")
    events = await client.get(f"/api/audit/patients/{patient}/events", headers=auditor)
    assert [e["type"] for e in events.json()["events"]] == [
        "PatientRegistered",
        "TreatmentRecorded",
        "TreatmentVoided",
    ]
    refused = await client.post("/api/treatments", json=filling(patient), headers=auditor)
    assert refused.status_code == 403
    assert await treatment_events(platform) == 2


async def test_a_fee_change_applies_only_to_treatments_recorded_after_it(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    before = await record(client, filling(patient))
    admin = await sign_in("admin")
    changed = await client.put("/api/catalogue/FILL-1/fee", json={"fee": "58.00"}, headers=admin)
    assert changed.status_code == 200, changed.text
    later = await record(client, filling(patient, tooth=46))
    history = await client.get(f"/api/patients/{patient}/treatments", headers=after(later))
    fees = {t["treatment_id"]: t["fee"] for t in history.json()["items"]}
    assert fees == {before.json()["id"]: "50.00", later.json()["id"]: "58.00"}
    catalogue = (await client.get("/api/catalogue")).json()["items"]
    assert next(p["fee"] for p in catalogue if p["code"] == "FILL-1") == "58.00"


async def test_a_procedure_that_would_leave_an_unknown_mark_on_the_chart_is_refused(
    client: httpx.AsyncClient, sign_in: SignIn
) -> None:
    """Found by the fuzzer: a mark the chart does not know was a 500, not a 422."""
    admin = await sign_in("admin")
    procedure = {
        "code": "WHITE-9", "category": "Estética", "name_es": "Blanqueamiento",
        "name_en": "Whitening", "minutes": 60, "fee": "200.00", "site": "mouth", "marks": "O",
    }  # fmt: skip
    refused = await client.post("/api/catalogue", json=procedure, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("/invalid-request")
    assert any(e["location"][-1] == "marks" for e in refused.json()["errors"])


async def test_duplicated_and_out_of_order_deliveries_leave_the_chart_as_the_store_says(
    client: httpx.AsyncClient, platform: Platform, projectors: None
) -> None:
    """Without the relay: we deliver the events ourselves, twice, last first."""
    patient = await a_patient(platform)
    created = await record(client, filling(patient))
    treatment_id = UUID(created.json()["id"])
    await client.put(
        f"/api/treatments/{treatment_id}",
        json={"tooth": 37, "surfaces": "O", "fee": "45.00", "reason": "wrong tooth"},
        headers={"If-Match": '"1"'},
    )
    envelopes = await platform.reader.aggregate_events("treatments", treatment_id)
    assert len(envelopes) == 2
    await publish(platform, [envelopes[1]])  # a gap: version 2 before 1, healed from the store
    await publish(platform, [envelopes[0], envelopes[1], envelopes[0]])  # duplicates

    chart_store = platform.projectors["treatment_chart"].store
    await eventually(lambda: _at(chart_store, treatment_id, 2), what="chart contribution")
    list_store = platform.projectors["treatment_list"].store
    await eventually(lambda: _at(list_store, treatment_id, 2), what="list row")
    await asyncio.sleep(0.3)  # any late duplicate has had its chance to do harm
    chart = await platform.get(TreatmentQueries).chart(UUID(patient))
    assert set(chart["teeth"]) == {"37"}
    [entry] = await platform.get(TreatmentQueries).history(UUID(patient))
    assert [e["event"] for e in entry["history"]] == ["recorded", "amended"]


async def _at(store: Any, aggregate_id: UUID, version: int) -> bool:
    return bool(await store.version_of(aggregate_id) == version)


async def test_both_read_models_rebuilt_from_the_event_store_equal_the_live_ones(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    first = await record(client, filling(patient))
    await record(client, filling(patient, tooth=47, surfaces="MOD", code="FILL-3"))
    await client.post(f"/api/treatments/{first.json()['id']}/void", json={"reason": "error"})
    await client.post(
        "/api/examinations",
        json={"patient_id": patient, "findings": [{"tooth": 21, "condition": "fracture"}]},
    )
    plan = await client.post(
        "/api/plans",
        json={"patient_id": patient, "title": "Plan", "items": [{"code": "IMPLANT", "tooth": 46}]},
    )
    await client.post(f"/api/plans/{plan.json()['id']}/present")
    await eventually(lambda: caught_up(platform), what="read models caught up")
    records = platform.get(TreatmentQueries)
    live_chart = await records.chart(UUID(patient))
    for name in ("treatment_chart", "treatment_list"):
        store = platform.projectors[name].store
        live = await store.dump()
        await rebuild(platform, name)
        assert await store.dump() == live, name
    assert await records.chart(UUID(patient)) == live_chart
    assert live_chart["teeth"]["46"]["planned"][0]["code"] == "IMPLANT"
