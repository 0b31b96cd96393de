"""The clinical record names only what exists and belongs together (issue 15, item 1), tried
over HTTP as each hole was found: a record for a patient nobody registered, a treatment on
another patient's appointment, a hygienist recording as somebody else or voiding a dentist's
work, a treatment dated before the patient was born."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import httpx

from clinic.platform import Platform
from tests.conftest import SignIn
from tests.e2e.test_appointment_book import appointment, set_up
from tests.e2e.test_treatments_api import (
    PROBLEM,
    a_patient,
    after,
    filling,
    record,
    treatment_events,
)
from tests.integration.helpers import staff_account

FINDING = {"tooth": 16, "condition": "caries"}


def crown_plan(patient_id: str) -> dict[str, Any]:
    return {"patient_id": patient_id, "title": "Plan", "items": [{"code": "CROWN", "tooth": 26}]}


def refused(response: httpx.Response, status: int, kind: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith(f"/{kind}")


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    return str((await client.get("/api/auth/profile", headers=headers)).json()["staff_id"])


async def test_nothing_is_recorded_for_a_patient_the_clinic_never_registered(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    nobody = str(uuid4())
    writes: list[tuple[str, dict[str, Any]]] = [
        ("/api/treatments", filling(nobody)),
        ("/api/examinations", {"patient_id": nobody, "findings": [FINDING]}),
        ("/api/plans", crown_plan(nobody)),
    ]
    for path, body in writes:
        refused(await client.post(path, json=body), 404, "not-found")
    assert await treatment_events(platform) == 0
    history = await client.get(f"/api/patients/{nobody}/treatments")
    assert history.status_code == 200
    assert history.json()["items"] == []


async def test_a_treatment_never_lands_on_another_patients_appointment(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(client, sign_in, platform)
    body = appointment(clinic)
    booked = await client.post("/api/appointments", json=body, headers=clinic.desk)
    assert booked.status_code == 201, booked.text
    owner, appointment_id = body["patient_id"], booked.json()["id"]
    someone_else = next(clinic.patients)

    theirs = await client.post(
        "/api/treatments", json=filling(someone_else, appointment_id=appointment_id)
    )
    refused(theirs, 422, "invalid-data")
    assert theirs.json()["detail"] == f"appointment {appointment_id} is not this patient's"
    unknown = await client.post("/api/treatments", json=filling(owner, appointment_id=str(uuid4())))
    refused(unknown, 404, "not-found")
    assert await treatment_events(platform) == 0

    plan = await client.post("/api/plans", json=crown_plan(someone_else))
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    item = (await client.get(f"/api/plans/{plan_id}", headers=after(plan))).json()["items"][0]
    linked = await client.post(
        f"/api/plans/{plan_id}/items/{item['item_id']}/appointment",
        json={"appointment_id": appointment_id},
    )
    refused(linked, 422, "invalid-data")
    assert linked.json()["detail"] == f"appointment {appointment_id} is not this patient's"

    ours = await record(client, filling(owner, appointment_id=appointment_id))
    [kept] = (await client.get(f"/api/patients/{owner}/treatments", headers=after(ours))).json()[
        "items"
    ]
    assert kept["appointment_id"] == appointment_id


async def test_a_hygienist_records_as_themselves_and_never_as_somebody_else(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    patient = await a_patient(platform)
    hygienist = await sign_in("hygienist")
    receptionist, dentist = [
        str(await asyncio.to_thread(staff_account, platform, role))
        for role in ("receptionist", "dentist")
    ]
    for provider, status, kind in [
        (receptionist, 422, "invalid-data"),  # not a clinician
        (str(uuid4()), 422, "invalid-data"),  # nobody on the staff
        (dentist, 403, "forbidden"),  # a clinician, but somebody else
    ]:
        forged = await client.post(
            "/api/treatments", json=filling(patient, provider_id=provider), headers=hygienist
        )
        refused(forged, status, kind)
    assert await treatment_events(platform) == 0

    own_id = await me(client, hygienist)
    mine = await client.post("/api/treatments", json=filling(patient), headers=hygienist)
    assert mine.status_code == 201, mine.text
    named = await client.post(
        "/api/treatments", json=filling(patient, tooth=46, provider_id=own_id), headers=hygienist
    )
    assert named.status_code == 201, named.text
    history = await client.get(f"/api/patients/{patient}/treatments", headers=after(named))
    assert [t["provider_id"] for t in history.json()["items"]] == [own_id, own_id]


async def test_a_hygienist_cannot_void_a_dentists_treatment_and_a_dentist_can_void_theirs(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    patient = await a_patient(platform)
    hygienist = await sign_in("hygienist")
    dentists = await record(client, filling(patient))
    voided = await client.post(
        f"/api/treatments/{dentists.json()['id']}/void",
        json={"reason": "entered in error"},
        headers=hygienist,
    )
    refused(voided, 403, "forbidden")
    amended = await client.put(
        f"/api/treatments/{dentists.json()['id']}",
        json={"tooth": 37, "surfaces": "O", "fee": "45.00", "reason": "wrong tooth"},
        headers={**hygienist, "If-Match": dentists.headers["ETag"]},
    )
    refused(amended, 403, "forbidden")
    assert await treatment_events(platform) == 1

    hygienists = await client.post(
        "/api/treatments", json=filling(patient, tooth=46), headers=hygienist
    )
    assert hygienists.status_code == 201, hygienists.text
    by_the_dentist = await client.post(
        f"/api/treatments/{hygienists.json()['id']}/void", json={"reason": "entered in error"}
    )
    assert by_the_dentist.status_code == 200, by_the_dentist.text
    assert await treatment_events(platform) == 3


async def test_nothing_clinical_is_dated_before_the_patient_was_born(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    patient = await a_patient(platform)  # born on 1 January 1950
    long_ago = "1900-01-01T10:00:00+01:00"
    treated = await client.post("/api/treatments", json=filling(patient, performed_at=long_ago))
    refused(treated, 422, "invalid-data")
    assert treated.json()["field"] == "performed_at"
    examined = await client.post(
        "/api/examinations",
        json={"patient_id": patient, "examined_at": long_ago, "findings": []},
    )
    refused(examined, 422, "invalid-data")
    assert await treatment_events(platform) == 0
    on_the_day = await client.post(
        "/api/treatments", json=filling(patient, performed_at="1950-01-01T12:00:00+01:00")
    )
    assert on_the_day.status_code == 201, on_the_day.text
