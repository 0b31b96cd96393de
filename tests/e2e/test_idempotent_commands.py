"""A client that retries a write with the same Idempotency-Key gets the first answer back,
and the write happens once: no duplicate patient after a lost answer."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx

from clinic.platform import Platform
from tests.conftest import SignIn
from tests.e2e.test_appointment_book import appointment, set_up
from tests.e2e.test_patients_api import PATIENT


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def registrations(platform: Platform) -> int:
    """Patients registered (the store also holds each keyed request's RequestClaim)."""
    return int(
        await platform.pool.fetchval(
            "SELECT count(*) FROM patients_events WHERE topic LIKE '%.PatientRegistered'"
        )
    )


async def test_a_retried_registration_answers_as_the_first_and_registers_once(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    desk = keyed(await sign_in("receptionist"), str(uuid4()))

    first = await anonymous.post("/api/patients", json=PATIENT, headers=desk)
    retry = await anonymous.post("/api/patients", json=PATIENT, headers=desk)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Location"] == first.headers["Location"]
    assert retry.headers["ETag"] == first.headers["ETag"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await registrations(platform) == 1


async def test_ten_simultaneous_retries_register_one_patient(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    desk = keyed(await sign_in("receptionist"), "double-click-" + uuid4().hex)

    answers = await asyncio.gather(
        *(anonymous.post("/api/patients", json=PATIENT, headers=desk) for _ in range(10))
    )

    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert await registrations(platform) == 1


async def test_the_same_key_for_another_request_is_refused_and_writes_nothing(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    desk = keyed(await sign_in("receptionist"), str(uuid4()))
    await anonymous.post("/api/patients", json=PATIENT, headers=desk)

    other = await anonymous.post(
        "/api/patients", json={**PATIENT, "given_name": "Lucía"}, headers=desk
    )

    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert await registrations(platform) == 1


async def test_keys_belong_to_the_staff_member_who_sent_them(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    key = "shared-by-accident"
    mine = await anonymous.post(
        "/api/patients", json=PATIENT, headers=keyed(await sign_in("receptionist"), key)
    )
    theirs = await anonymous.post(
        "/api/patients", json=PATIENT, headers=keyed(await sign_in("dentist"), key)
    )

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers
    assert await registrations(platform) == 2


async def test_a_replayed_answer_is_in_the_access_log_too(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    desk = keyed(await sign_in("receptionist"), str(uuid4()))
    first = await anonymous.post("/api/patients", json=PATIENT, headers=desk)
    await anonymous.post("/api/patients", json=PATIENT, headers=desk)

    rows = await platform.pool.fetch(
        "SELECT action, patient_id FROM patient_access_log ORDER BY seq"
    )
    assert [(r["action"], str(r["patient_id"])) for r in rows] == [
        ("patients:write", first.json()["id"]),
        ("patients:write (replayed)", first.json()["id"]),
    ]


async def test_answers_that_hold_tokens_are_never_kept(
    anonymous: httpx.AsyncClient, platform: Platform
) -> None:
    await anonymous.post(
        "/api/auth/login",
        json={"email": "nobody@example.es", "password": "wrong password"},
        headers={"Idempotency-Key": str(uuid4())},
    )
    assert await platform.pool.fetchval("SELECT count(*) FROM idempotency_keys") == 0


async def test_a_key_that_is_not_printable_ascii_is_refused(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    desk = keyed(await sign_in("receptionist"), "x" * 256)
    answer = await anonymous.post("/api/patients", json=PATIENT, headers=desk)
    assert answer.status_code == 400
    assert await registrations(platform) == 0


async def test_a_retried_cancellation_answers_as_the_first_and_a_keyed_read_is_never_replayed(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    """DELETE is a write like POST: its retry replays the first answer instead of a 409
    "already cancelled"; a GET with a key is answered fresh, every time."""
    clinic = await set_up(anonymous, sign_in, platform)
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    assert booked.status_code == 201, booked.text
    path = f"/api/appointments/{booked.json()['id']}"
    desk = keyed(clinic.desk, str(uuid4()))

    first = await anonymous.delete(path, params={"reason": "flu"}, headers=desk)
    retry = await anonymous.delete(path, params={"reason": "flu"}, headers=desk)
    assert first.status_code == retry.status_code == 200, (first.text, retry.text)
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()

    # Read after the cancellation has reached the book (read your writes), not before.
    consistent = {"Sonrisa-Consistent-With": first.headers["Sonrisa-Consistency-Token"]}
    read = await anonymous.get(path, headers={**desk, **consistent})
    assert read.status_code == 200, read.text
    assert "Idempotent-Replayed" not in read.headers
