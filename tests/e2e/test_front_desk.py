"""The front desk's day sheet, and the waiting list that fills freed slots."""

from __future__ import annotations

from uuid import UUID

import httpx

from clinic.platform import Platform
from tests.conftest import SignIn, eventually
from tests.e2e.test_appointment_book import NEXT_MONDAY, appointment, set_up
from tests.e2e.test_patients_api import PATIENT, register


async def test_the_day_sheet_lists_the_days_appointments_with_names_and_alerts(
    client: httpx.AsyncClient,
    anonymous: httpx.AsyncClient,
    sign_in: SignIn,
    pipeline: None,
    platform: Platform,
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    patient_id = (await register(client)).json()["id"]
    await client.post(
        f"/api/patients/{patient_id}/alerts", json={"code": "latex", "description": "Latex allergy"}
    )
    await client.post(
        "/api/appointments",
        headers=clinic.desk,
        json=appointment(clinic, patient=patient_id, minutes=60),
    )
    await client.post("/api/appointments", headers=clinic.desk, json=appointment(clinic, minutes=0))
    other_day = appointment(clinic, minutes=24 * 60)
    await client.post("/api/appointments", headers=clinic.desk, json=other_day)

    async def sheet() -> list[dict[str, object]]:
        answer = await client.get(
            "/api/day-sheet", params={"day": NEXT_MONDAY.date().isoformat()}, headers=clinic.desk
        )
        return list(answer.json()["items"])

    async def both_listed_with_alerts() -> bool:
        listed = await sheet()
        return len(listed) == 2 and listed[1]["alerts"] == ["latex"]

    await eventually(both_listed_with_alerts, what="the day sheet")
    first, second = await sheet()
    assert first["patient_name"] == "Paciente 0 Apellido 00000"  # the first of set_up's
    assert second["patient_name"] == f"{PATIENT['given_name']} {PATIENT['family_name']}"
    assert second["alerts"] == ["latex"]


async def test_a_cancellation_offers_the_slot_to_waiting_patients_who_fit_it(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    mondays = {
        "appointment_type": "check-up",
        "weekdays": ["monday"],
        "earliest": "09:00",
        "latest": "12:00",
    }
    fits = await anonymous.post(
        "/api/waitlist", headers=clinic.desk, json={"patient_id": next(clinic.patients), **mondays}
    )
    assert fits.status_code == 201, fits.text
    await anonymous.post(
        "/api/waitlist",
        headers=clinic.desk,
        json={"patient_id": next(clinic.patients), **mondays, "weekdays": ["tuesday"]},
    )
    await anonymous.post(
        "/api/waitlist",
        headers=clinic.desk,
        json={"patient_id": next(clinic.patients), **mondays, "appointment_type": "root-canal"},
    )

    async def matches() -> list[dict[str, object]]:
        answer = await anonymous.get("/api/waitlist/matches", headers=clinic.desk)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    async def waitlisted() -> bool:
        listed = await anonymous.get("/api/waitlist", headers=clinic.desk)
        return len(listed.json()["items"]) == 3

    await eventually(waitlisted, what="the waiting list")
    assert await matches() == []
    await anonymous.delete(
        f"/api/appointments/{booked.json()['id']}",
        headers=clinic.desk,
        params={"reason": "moved away"},
    )

    async def offered() -> bool:
        return len(await matches()) == 1

    await eventually(offered, what="a match for the freed slot")
    (match,) = await matches()
    slot = match["slot"]
    assert isinstance(slot, dict)
    assert slot["start"] == NEXT_MONDAY.isoformat() or slot["start"].startswith(
        NEXT_MONDAY.astimezone(tz=None).date().isoformat()
    )
    candidates = match["candidates"]
    assert isinstance(candidates, list)
    assert [c["entry_id"] for c in candidates] == [fits.json()["id"]]

    rebooked = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    assert rebooked.status_code == 201

    async def taken_again() -> bool:
        return await matches() == []

    await eventually(taken_again, what="the slot to be taken again")


async def test_the_matches_for_freed_slots_log_every_patient_they_show(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    cancelling, waiting = next(clinic.patients), next(clinic.patients)
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic, patient=cancelling), headers=clinic.desk
    )
    joined = await anonymous.post(
        "/api/waitlist",
        headers=clinic.desk,
        json={
            "patient_id": waiting,
            "appointment_type": "check-up",
            "weekdays": ["monday"],
            "earliest": "09:00",
            "latest": "12:00",
        },
    )
    assert joined.status_code == 201, joined.text
    await anonymous.delete(
        f"/api/appointments/{booked.json()['id']}", headers=clinic.desk, params={"reason": "ill"}
    )

    async def offered() -> bool:
        answer = await anonymous.get("/api/waitlist/matches", headers=clinic.desk)
        return len(answer.json()["items"]) == 1

    await eventually(offered, what="a match for the freed slot")
    (match,) = (await anonymous.get("/api/waitlist/matches", headers=clinic.desk)).json()["items"]
    assert match["slot"]["patient_id"] == cancelling
    logged = (
        await platform.access_log.search(
            patient_id=None, actor=None, since=None, until=None, after_seq=0, limit=1000
        )
    )[-1]
    assert logged["route"] == "GET /api/waitlist/matches"
    assert logged["details"]["patient_ids"] == sorted({cancelling, waiting})
    about_cancelling = await platform.access_log.search(
        patient_id=UUID(cancelling), actor=None, since=None, until=None, after_seq=0, limit=1000
    )
    assert about_cancelling[-1]["route"] == "GET /api/waitlist/matches"
