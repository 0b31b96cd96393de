"""The front desk books, moves and cancels appointments; nobody is ever double-booked."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.app import create_app
from clinic.platform import Platform
from commands.patients import Patients
from commands.scheduling import Scheduling
from projections.scheduling import SchedulingQueries
from tests.conftest import SignIn, eventually
from tests.integration.helpers import META, registration

MADRID = ZoneInfo("Europe/Madrid")
NEXT_MONDAY = datetime(2030, 3, 4, 10, 0, tzinfo=MADRID)


@contextmanager
def on_the_day(platform: Platform, moment: datetime = NEXT_MONDAY) -> Iterator[None]:
    """The appointment book's clock set to `moment` (by default, the morning of the test
    appointments), so that their patients may check in; the real clock again afterwards."""
    scheduling = platform.application(Scheduling)
    real = scheduling.now
    scheduling.now = lambda: moment - timedelta(minutes=30)
    try:
        yield
    finally:
        scheduling.now = real


WEEKDAYS_9_TO_2 = {
    d: [["09:00", "14:00"]] for d in ("monday", "tuesday", "wednesday", "thursday", "friday")
}


@dataclass
class Clinic:
    admin: dict[str, str]
    desk: dict[str, str]
    providers: list[str]
    chairs: list[str]
    patients: Iterator[str]  # registered, and known to the appointment book; one per use


async def known_patients(platform: Platform, count: int) -> list[str]:
    """Patients registered at the clinic, once scheduling's view of them has them."""
    written = await asyncio.gather(
        *(
            asyncio.to_thread(platform.application(Patients).register, registration(n), META)
            for n in range(count)
        )
    )
    book = platform.get(SchedulingQueries)
    for patient in written:
        assert await book.patient_exists(patient.id, wait=20), (
            "the patient never reached scheduling"
        )
    return [str(patient.id) for patient in written]


async def set_up(
    http: httpx.AsyncClient,
    sign_in: SignIn,
    platform: Platform,
    providers: int = 1,
    chairs: int = 1,
    patients: int = 8,
) -> Clinic:
    admin, desk = await sign_in("admin"), await sign_in("receptionist")
    assert (
        await http.put("/api/clinic/hours", json={"hours": WEEKDAYS_9_TO_2}, headers=admin)
    ).status_code == 200
    await http.post(
        "/api/appointment-types",
        headers=admin,
        json={"code": "check-up", "name": "Check-up", "minutes": 30},
    )
    await http.post(
        "/api/appointment-types",
        headers=admin,
        json={"code": "root-canal", "name": "Root canal", "minutes": 90},
    )
    chair_ids = [
        (await http.post("/api/operatories", json={"name": f"Chair {n}"}, headers=admin)).json()[
            "id"
        ]
        for n in range(chairs)
    ]
    provider_ids = []
    for n in range(providers):
        added = await http.post(
            "/api/providers",
            headers=admin,
            json={"staff_id": str(uuid4()), "name": f"Dr. {n}", "kind": "dentist"},
        )
        provider_ids.append(added.json()["id"])
        hours = await http.put(
            f"/api/providers/{added.json()['id']}/working-hours",
            json={"hours": WEEKDAYS_9_TO_2},
            headers=admin,
        )
        assert hours.status_code == 200, hours.text

    async def projected() -> bool:
        types = await http.get("/api/appointment-types", headers=desk)
        providers = await http.get("/api/providers", headers=desk)
        return (
            types.status_code == 200
            and len(types.json()["items"]) == 2
            and len([p for p in providers.json()["items"] if p["working_hours"]]) == providers_n
        )

    providers_n = providers
    await eventually(projected, what="the clinic's set-up to reach the read models")
    return Clinic(
        admin, desk, provider_ids, chair_ids, iter(await known_patients(platform, patients))
    )


def appointment(
    clinic: Clinic,
    *,
    provider: int = 0,
    chair: int = 0,
    minutes: int = 0,
    patient: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "patient_id": patient or next(clinic.patients),
        "provider_id": clinic.providers[provider],
        "operatory_id": clinic.chairs[chair],
        "start": (NEXT_MONDAY + timedelta(minutes=minutes)).isoformat(),
        "appointment_type": "check-up",
        **extra,
    }


@pytest.mark.parametrize("shared", ["provider", "chair", "patient"])
async def test_fifty_concurrent_overlapping_bookings_give_exactly_one_appointment(
    anonymous: httpx.AsyncClient,
    sign_in: SignIn,
    platform: Platform,
    pipeline: None,
    shared: str,
) -> None:
    n = 50
    clinic = await set_up(
        anonymous,
        sign_in,
        platform,
        providers=n if shared != "provider" else 1,
        chairs=n if shared != "chair" else 1,
        patients=n + 1,
    )
    patient = next(clinic.patients)
    bodies = [
        appointment(
            clinic,
            provider=0 if shared == "provider" else i,
            chair=0 if shared == "chair" else i,
            minutes=i % 20,
            patient=patient if shared == "patient" else None,
        )
        for i in range(n)
    ]
    # All fifty in flight at once: an API that admits them all (overload is tested apart).
    roomy = platform.settings.model_copy(update={"max_commands_in_flight": n})
    app = create_app(roomy, platform.routers(), platform.services())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        answers = await asyncio.gather(
            *(http.post("/api/appointments", json=b, headers=clinic.desk) for b in bodies)
        )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (n - 1), [a.text for a in answers if a.status_code >= 500]
    refused = next(a for a in answers if a.status_code == 409)
    assert "already booked" in refused.json()["detail"]

    async def one_in_the_book() -> bool:
        return int(await platform.pool.fetchval("SELECT count(*) FROM appointments")) == 1

    await eventually(one_in_the_book, what="the appointment book")


async def test_a_booking_is_visible_and_its_slot_leaves_availability_until_cancelled(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    window = {
        "provider": clinic.providers[0],
        "operatory": clinic.chairs[0],
        "type": "check-up",
        "from": NEXT_MONDAY.replace(hour=9).isoformat(),
        "to": NEXT_MONDAY.replace(hour=14).isoformat(),
    }

    async def starts() -> list[str]:
        found = await anonymous.get("/api/availability", params=window, headers=clinic.desk)
        assert found.status_code == 200, found.text
        return [s["start"] for s in found.json()["slots"]]

    assert NEXT_MONDAY.isoformat() in await starts()
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    assert booked.status_code == 201
    token = {"Sonrisa-Consistent-With": booked.headers["Sonrisa-Consistency-Token"]}
    shown = await anonymous.get(
        f"/api/appointments/{booked.json()['id']}", headers={**clinic.desk, **token}
    )
    assert shown.json()["status"] == "booked"
    assert NEXT_MONDAY.isoformat() not in await starts()
    assert (NEXT_MONDAY + timedelta(minutes=30)).isoformat() in await starts()

    cancelled = await anonymous.delete(
        f"/api/appointments/{booked.json()['id']}",
        params={"reason": "patient has flu", "by_patient": "true"},
        headers=clinic.desk,
    )
    assert cancelled.status_code == 200
    token = {"Sonrisa-Consistent-With": cancelled.headers["Sonrisa-Consistency-Token"]}
    after = await anonymous.get(
        f"/api/appointments/{booked.json()['id']}", headers={**clinic.desk, **token}
    )
    assert after.json()["status"] == "cancelled"
    assert after.json()["cancellation"]["by_patient"] is True
    assert NEXT_MONDAY.isoformat() in await starts()


async def test_the_lifecycle_over_http_and_a_senseless_transition_gets_409(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    path = f"/api/appointments/{booked.json()['id']}"
    early = await anonymous.post(f"{path}/check-in", headers=clinic.desk)
    assert early.status_code == 409  # a week early: arrival belongs to the appointment's day
    assert "on the day of their appointment" in early.json()["detail"]
    with on_the_day(platform):
        for step in ("confirm", "check-in", "complete"):
            answer = await anonymous.post(f"{path}/{step}", headers=clinic.desk)
            assert answer.status_code == 200, (step, answer.text)
    refused = await anonymous.delete(path, headers=clinic.desk)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "cannot cancel an appointment that is completed"


async def test_outside_hours_is_refused_and_an_admin_override_is_recorded(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    evening = appointment(clinic, minutes=7 * 60)  # 17:00, after the 14:00 close
    refused = await anonymous.post("/api/appointments", json=evening, headers=clinic.desk)
    assert refused.status_code == 422
    assert "outside the clinic's opening hours" in refused.json()["detail"]
    desk_override = {**evening, "override_reason": "I say so"}
    assert (
        await anonymous.post("/api/appointments", json=desk_override, headers=clinic.desk)
    ).status_code == 422
    admin_override = {**evening, "override_reason": "emergency: swollen jaw"}
    booked = await anonymous.post("/api/appointments", json=admin_override, headers=clinic.admin)
    assert booked.status_code == 201, booked.text
    token = {"Sonrisa-Consistent-With": booked.headers["Sonrisa-Consistency-Token"]}
    shown = await anonymous.get(
        f"/api/appointments/{booked.json()['id']}", headers={**clinic.desk, **token}
    )
    assert shown.json()["override_reason"] == "emergency: swollen jaw"


async def test_a_closure_refuses_bookings_with_its_reason(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    day = NEXT_MONDAY.date().isoformat()
    await anonymous.post(
        "/api/closures",
        headers=clinic.admin,
        json={"first_day": day, "last_day": day, "reason": "Saint's day"},
    )
    refused = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    assert refused.status_code == 422
    assert "closed on 2030-03-04: Saint's day" in refused.json()["detail"]


async def test_every_access_to_a_patients_appointments_is_logged(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    body = appointment(clinic)
    booked = await anonymous.post("/api/appointments", json=body, headers=clinic.desk)
    await anonymous.post(f"/api/appointments/{booked.json()['id']}/confirm", headers=clinic.desk)
    entries = await platform.access_log.search(
        patient_id=None, actor=None, since=None, until=None, after_seq=0, limit=50
    )
    assert [(e["action"], e["patient_id"]) for e in entries] == [
        ("appointments:write", body["patient_id"]),
        ("appointments:write", body["patient_id"]),
    ]


async def test_the_book_filters_by_provider_and_patient_and_pages_in_time_order(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, providers=2, chairs=2)
    patient = next(clinic.patients)
    for minutes in (0, 30, 60):
        await anonymous.post(
            "/api/appointments",
            headers=clinic.desk,
            json=appointment(clinic, minutes=minutes, patient=patient),
        )
    await anonymous.post(
        "/api/appointments",
        headers=clinic.desk,
        json=appointment(clinic, provider=1, chair=1, minutes=120),
    )

    async def book(**params: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            page = await anonymous.get(
                "/api/appointments",
                headers=clinic.desk,
                params={**params, "limit": "2", **({"after": after} if after else {})},
            )
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            after = page.json()["next"]
            if after is None:
                return items

    async def all_four() -> bool:
        return len(await book()) == 4

    await eventually(all_four, what="the book")
    starts = [a["start"] for a in await book()]
    assert starts == sorted(starts)
    assert len(await book(provider=clinic.providers[0])) == 3
    assert {a["patient_id"] for a in await book(patient=patient)} == {patient}
    assert len(await book(status="cancelled")) == 0


async def test_a_reschedule_needs_the_current_etag_and_moves_the_appointment(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    path = f"/api/appointments/{booked.json()['id']}"
    later = {"start": (NEXT_MONDAY + timedelta(hours=2)).isoformat(), "duration_minutes": 30}
    assert (await anonymous.put(path, json=later, headers=clinic.desk)).status_code == 428
    stale = await anonymous.put(path, json=later, headers={**clinic.desk, "If-Match": '"7"'})
    assert stale.status_code == 412
    moved = await anonymous.put(path, json=later, headers={**clinic.desk, "If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    token = {"Sonrisa-Consistent-With": moved.headers["Sonrisa-Consistency-Token"]}
    shown = await anonymous.get(path, headers={**clinic.desk, **token})
    assert datetime.fromisoformat(shown.json()["start"]) == NEXT_MONDAY + timedelta(hours=2)


async def test_appointments_are_stored_in_utc_and_shown_in_the_clinics_zone(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None, platform: Platform
) -> None:
    clinic = await set_up(anonymous, sign_in, platform)
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic), headers=clinic.desk
    )
    token = {"Sonrisa-Consistent-With": booked.headers["Sonrisa-Consistency-Token"]}
    shown = (
        await anonymous.get(
            f"/api/appointments/{booked.json()['id']}", headers={**clinic.desk, **token}
        )
    ).json()
    assert shown["start"] == "2030-03-04T09:00:00+00:00"
    assert shown["start_local"] == "2030-03-04T10:00:00+01:00"


async def test_a_patient_the_clinic_does_not_know_is_neither_booked_nor_waitlisted(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, patients=1)
    events_before = await platform.pool.fetchval("SELECT count(*) FROM scheduling_events")
    stranger = str(uuid4())

    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic, patient=stranger), headers=clinic.desk
    )
    waiting = await anonymous.post(
        "/api/waitlist",
        json={"patient_id": stranger, "appointment_type": "check-up"},
        headers=clinic.desk,
    )

    for refused in (booked, waiting):
        assert refused.status_code == 422, refused.text
        assert refused.json()["type"].endswith("/unknown-patient")
        assert refused.json()["field"] == "patient_id"
    assert await platform.pool.fetchval("SELECT count(*) FROM scheduling_events") == events_before
    known = await anonymous.post("/api/appointments", json=appointment(clinic), headers=clinic.desk)
    assert known.status_code == 201, "the slot the stranger asked for is still free"
