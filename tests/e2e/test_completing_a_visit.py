"""Completing an appointment carries the treatments done in it, in one request: the
appointment ends completed and the treatments are in the patient's history, once, however
the request is retried; an appointment that cannot be completed records nothing."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from clinic.platform import Platform
from commands.base import StoreUnavailable, Written
from commands.scheduling import Scheduling
from domain.shared import Meta
from tests.conftest import SignIn, eventually
from tests.e2e.test_appointment_book import Clinic, appointment, on_the_day, set_up

CONSISTENT = "Sonrisa-Consistent-With"
TOKEN = "Sonrisa-Consistency-Token"
PROBLEM = "application/problem+json"
DONE = [
    {"code": "CLEAN"},
    {"code": "FILL-2", "tooth": 14, "surfaces": "DO", "clinical_notes": "Caries distal."},
]


async def events_in(platform: Platform, context: str) -> int:
    return int(await platform.pool.fetchval(f"SELECT count(*) FROM {context}_events"))


async def checked_in(
    http: httpx.AsyncClient, clinic: Clinic, platform: Platform
) -> tuple[str, str]:
    """A booked appointment whose patient has arrived: its id and the patient's."""
    body = appointment(clinic)
    booked = await http.post("/api/appointments", json=body, headers=clinic.desk)
    assert booked.status_code == 201, booked.text
    appointment_id = booked.json()["id"]
    with on_the_day(platform):
        arrived = await http.post(
            f"/api/appointments/{appointment_id}/check-in", headers=clinic.desk
        )
    assert arrived.status_code == 200, arrived.text
    return appointment_id, body["patient_id"]


def visit(patient_id: str, **more: Any) -> dict[str, Any]:
    return {"patient_id": patient_id, "treatments": DONE, "complete": True, **more}


async def status_of(
    http: httpx.AsyncClient, clinic: Clinic, appointment_id: str, version: int
) -> str:
    found = await http.get(
        f"/api/appointments/{appointment_id}",
        headers={**clinic.desk, CONSISTENT: f"{appointment_id}:{version}"},
    )
    assert found.status_code == 200, found.text
    return str(found.json()["status"])


async def history(
    http: httpx.AsyncClient, who: dict[str, str], patient_id: str, token: str
) -> list[dict[str, Any]]:
    found = await http.get(
        f"/api/patients/{patient_id}/treatments",
        headers={"Authorization": who["Authorization"], CONSISTENT: token},
    )
    assert found.status_code == 200, found.text
    return list(found.json()["items"])


async def test_completing_an_appointment_with_its_treatments_records_them_once_however_retried(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    appointment_id, patient_id = await checked_in(anonymous, clinic, platform)
    dentist = {**await sign_in("dentist"), "Idempotency-Key": str(uuid4())}
    path = f"/api/appointments/{appointment_id}/treatments"

    first = await anonymous.post(path, json=visit(patient_id), headers=dentist)
    assert first.status_code == 201, first.text
    answer = first.json()
    assert len(answer["items"]) == 2
    assert answer["appointment"]["id"] == appointment_id
    written = (await events_in(platform, "treatments"), await events_in(platform, "scheduling"))

    retry = await anonymous.post(path, json=visit(patient_id), headers=dentist)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == answer
    # Without the key too (the client lost it): the same visit is not recorded again.
    again = await anonymous.post(
        path, json=visit(patient_id), headers={"Authorization": dentist["Authorization"]}
    )
    assert again.status_code == 201, again.text
    assert again.json()["items"] == answer["items"]
    assert again.json()["appointment"] == answer["appointment"]
    assert (await events_in(platform, "treatments"), await events_in(platform, "scheduling")) == (
        written
    )

    version = answer["appointment"]["version"]
    assert await status_of(anonymous, clinic, appointment_id, version) == "completed"
    recorded = await history(anonymous, dentist, patient_id, first.headers[TOKEN])
    assert sorted(t["code"] for t in recorded) == ["CLEAN", "FILL-2"]
    assert {t["appointment_id"] for t in recorded} == {appointment_id}
    assert {t["id"] for t in recorded} == {i["id"] for i in answer["items"]}

    other = await anonymous.post(
        path,
        json=visit(patient_id, treatments=DONE[:1]),
        headers=await sign_in("dentist"),
    )
    assert other.status_code == 409
    assert other.headers["content-type"] == PROBLEM
    assert "already carried other treatments" in other.json()["detail"]
    assert await events_in(platform, "treatments") == written[0]


async def test_after_a_crash_between_the_two_writes_the_retry_completes_without_recording_twice(
    anonymous: httpx.AsyncClient,
    sign_in: SignIn,
    pipeline: None,
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    appointment_id, patient_id = await checked_in(anonymous, clinic, platform)
    hygienist = {**await sign_in("hygienist"), "Idempotency-Key": str(uuid4())}
    path = f"/api/appointments/{appointment_id}/treatments"
    completes = platform.application(Scheduling).complete_once

    def unreachable(appointment: UUID, meta: Meta) -> Written:
        """The scheduling store fails once, after the treatments were saved."""
        monkeypatch.setattr(platform.application(Scheduling), "complete_once", completes)
        raise StoreUnavailable("the clinic's records could not be reached")

    monkeypatch.setattr(platform.application(Scheduling), "complete_once", unreachable)
    failed = await anonymous.post(path, json=visit(patient_id), headers=hygienist)
    assert failed.status_code == 503
    assert "send the same request again to finish" in failed.json()["detail"]
    recorded = await events_in(platform, "treatments")
    assert recorded > 0  # the treatments were saved; the completion was not
    version = int(
        (await anonymous.get(f"/api/appointments/{appointment_id}", headers=clinic.desk)).json()[
            "version"
        ]
    )
    assert await status_of(anonymous, clinic, appointment_id, version) == "checked_in"

    retry = await anonymous.post(path, json=visit(patient_id), headers=hygienist)
    assert retry.status_code == 201, retry.text
    assert await events_in(platform, "treatments") == recorded
    version = retry.json()["appointment"]["version"]
    assert await status_of(anonymous, clinic, appointment_id, version) == "completed"
    shown = await history(anonymous, hygienist, patient_id, retry.headers[TOKEN])
    assert sorted(t["id"] for t in shown) == sorted(i["id"] for i in retry.json()["items"])


async def test_a_cancelled_appointment_completed_with_treatments_records_nothing_and_says_why(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    body = appointment(clinic)
    booked = await anonymous.post("/api/appointments", json=body, headers=clinic.desk)
    appointment_id, patient_id = booked.json()["id"], body["patient_id"]
    cancelled = await anonymous.delete(f"/api/appointments/{appointment_id}", headers=clinic.desk)
    assert cancelled.status_code == 200, cancelled.text
    dentist = await sign_in("dentist")
    path = f"/api/appointments/{appointment_id}/treatments"

    refused = await anonymous.post(path, json=visit(patient_id), headers=dentist)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == "cannot complete an appointment that is cancelled"
    assert await events_in(platform, "treatments") == 0


async def test_completing_with_treatments_refuses_another_patient_and_the_front_desk(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    appointment_id, patient_id = await checked_in(anonymous, clinic, platform)
    someone_else = next(clinic.patients)
    path = f"/api/appointments/{appointment_id}/treatments"

    theirs = await anonymous.post(path, json=visit(someone_else), headers=await sign_in("dentist"))
    assert theirs.status_code == 422
    assert theirs.headers["content-type"] == PROBLEM
    assert theirs.json()["detail"] == f"appointment {appointment_id} is not this patient's"
    desk = await anonymous.post(path, json=visit(patient_id), headers=clinic.desk)
    assert desk.status_code == 403
    assert await events_in(platform, "treatments") == 0

    async def still_checked_in() -> bool:
        found = await anonymous.get(f"/api/appointments/{appointment_id}", headers=clinic.desk)
        return bool(found.status_code == 200 and found.json()["status"] == "checked_in")

    await eventually(still_checked_in, what="the appointment, untouched, in the book")
