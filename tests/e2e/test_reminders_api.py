"""Reminders over HTTP: staff list them and send one now (consent checked), an admin sets the
policy, and a patient's confirm or cancel link works once, without signing in."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx

from clinic.platform import Platform
from commands.scheduling import Scheduling
from domain.scheduling import Appointment, Status
from infra.links import LinkAction, LinkSigner
from projections.reminders import ReminderQueries
from projections.scheduling import SchedulingQueries
from tests.conftest import SignIn, eventually
from tests.e2e.test_appointment_book import NEXT_MONDAY, appointment, set_up
from tests.integration.reminder_helpers import register_remindable

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


async def booked(
    http: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> tuple[UUID, dict[str, str]]:
    patient = await register_remindable(platform, 7)
    clinic = await set_up(http, sign_in, platform, patients=0)
    assert await platform.get(SchedulingQueries).patient_exists(patient, wait=20)
    made = await http.post(
        "/api/appointments", json=appointment(clinic, patient=str(patient)), headers=clinic.desk
    )
    assert made.status_code == 201, made.text
    appointment_id = UUID(made.json()["id"])

    async def listed() -> bool:
        return await platform.get(SchedulingQueries).appointment(appointment_id) is not None

    await eventually(listed, what="the appointment in the book")
    return appointment_id, clinic.desk


def link(platform: Platform, appointment_id: UUID, action: LinkAction, now: datetime) -> str:
    token = platform.get(LinkSigner).make(
        appointment_id, uuid4(), action, now, timedelta(days=14), NEXT_MONDAY
    )
    return f"/api/reminder-links/{token}"


def altered(path: str) -> str:
    middle = len(path) - 40
    swapped = "B" if path[middle] != "B" else "C"
    return path[:middle] + swapped + path[middle + 1 :]


async def status_of(platform: Platform, appointment_id: UUID) -> Appointment:
    return await asyncio.to_thread(
        platform.application(Scheduling).load, appointment_id, Appointment
    )


async def test_a_confirm_link_confirms_once_and_is_refused_after(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    appointment_id, _ = await booked(anonymous, sign_in, platform)
    path = link(platform, appointment_id, LinkAction.CONFIRM, datetime.now(UTC))

    shown = await anonymous.get(path, headers=BROWSER)
    assert shown.status_code == 200
    assert "lunes, 4 de marzo de 2030 a las 10:00" in shown.text
    assert "Paciente" not in shown.text, "the page reveals only time and place"
    used = await anonymous.post(path, headers=BROWSER)
    assert used.status_code == 200, used.text
    assert (await status_of(platform, appointment_id)).status is Status.CONFIRMED
    events = await platform.reader.aggregate_events("scheduling", appointment_id)
    assert (events[-1].event_type, events[-1].meta["actor_role"]) == (
        "AppointmentConfirmed",
        "patient",
    )

    again = await anonymous.post(path, headers=BROWSER)
    assert again.status_code == 409
    assert "text/html" in again.headers["content-type"]
    assert "ya se usó" in again.text


async def test_an_expired_or_altered_link_gets_a_clear_page_and_changes_nothing(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    appointment_id, _ = await booked(anonymous, sign_in, platform)
    expired = link(
        platform, appointment_id, LinkAction.CONFIRM, datetime.now(UTC) - timedelta(days=15)
    )
    for method in ("GET", "POST"):
        refused = await anonymous.request(method, expired, headers=BROWSER)
        assert refused.status_code == 410
        assert "caducado" in refused.text
    fresh = link(platform, appointment_id, LinkAction.CONFIRM, datetime.now(UTC))
    tampered = await anonymous.post(altered(fresh), headers=BROWSER)
    assert tampered.status_code == 400
    assert "text/html" in tampered.headers["content-type"]
    assert "no es válido" in tampered.text
    as_problem = await anonymous.post(altered(fresh))
    assert as_problem.status_code == 400
    assert as_problem.json()["type"].endswith("/link-invalid")
    assert (await status_of(platform, appointment_id)).status is Status.BOOKED


async def test_a_cancel_link_cancels_as_the_patient(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    appointment_id, _ = await booked(anonymous, sign_in, platform)
    path = link(platform, appointment_id, LinkAction.CANCEL, datetime.now(UTC))
    assert (await anonymous.post(path, headers=BROWSER)).status_code == 200
    events = await platform.reader.aggregate_events("scheduling", appointment_id)
    cancelled = events[-1]
    assert cancelled.event_type == "AppointmentCancelled"
    assert cancelled.payload["by_patient"] is True
    assert cancelled.meta["actor_role"] == "patient"


async def test_a_link_to_a_cancelled_appointment_offers_no_confirm_and_changes_nothing(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    appointment_id, desk = await booked(anonymous, sign_in, platform)
    confirm = link(platform, appointment_id, LinkAction.CONFIRM, datetime.now(UTC))
    cancelled = await anonymous.delete(
        f"/api/appointments/{appointment_id}", params={"reason": "patient phoned"}, headers=desk
    )
    assert cancelled.status_code == 200, cancelled.text

    async def cancelled_in_the_book() -> bool:
        visit = await platform.get(SchedulingQueries).appointment(appointment_id)
        return visit is not None and visit["status"] == "cancelled"

    await eventually(cancelled_in_the_book, what="the cancellation in the book")
    shown = await anonymous.get(confirm, headers=BROWSER)
    used = await anonymous.post(confirm, headers=BROWSER)
    as_problem = await anonymous.get(confirm)

    assert shown.status_code == 409
    assert "está cancelada" in shown.text
    assert "<button" not in shown.text, "a cancelled visit offers no Confirm"
    assert used.status_code == 409
    assert as_problem.json()["type"].endswith("/appointment-closed")
    assert (await status_of(platform, appointment_id)).status is Status.CANCELLED


async def test_staff_send_a_message_now_only_to_a_patient_who_consents_and_list_it(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    desk = await sign_in("receptionist")
    willing = await register_remindable(platform, 8)
    unwilling = await register_remindable(platform, 9, email_consent=False)

    async def contacts_known() -> bool:
        queries = platform.get(ReminderQueries)
        return None not in (await queries.contact(willing), await queries.contact(unwilling))

    await eventually(contacts_known, what="the reminders' view of both patients")
    refused = await anonymous.post(
        "/api/reminders", json={"patient_id": str(unwilling), "text": "Hola"}, headers=desk
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/no-consent")
    for n in range(3):
        sent = await anonymous.post(
            "/api/reminders",
            json={"patient_id": str(willing), "text": f"Recuerde traer su informe {n}"},
            headers=desk,
        )
        assert sent.status_code == 202, sent.text

    async def listed() -> bool:
        page = await anonymous.get(f"/api/reminders?patient_id={willing}", headers=desk)
        return len(page.json()["items"]) == 3

    await eventually(listed, what="the three reminders listed")
    first = await anonymous.get(
        f"/api/reminders?patient_id={willing}&status=scheduled&limit=2", headers=desk
    )
    assert len(first.json()["items"]) == 2
    cursor = first.json()["next_cursor"]
    rest = await anonymous.get(
        "/api/reminders",
        params={"patient_id": str(willing), "limit": 2, "cursor": cursor},
        headers=desk,
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["next_cursor"] is None
    assert (await anonymous.get("/api/reminders?status=sent", headers=desk)).json()["items"] == []
    logged = await platform.access_log.search(
        patient_id=willing, actor=None, since=None, until=None, after_seq=0, limit=100
    )
    assert {e["action"] for e in logged} >= {"reminders:send", "reminders:read"}


async def test_only_an_admin_sets_the_reminder_policy(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    policy = {
        "offsets_minutes": [1440],
        "channels": ["sms", "email"],
        "clinic_name": "Sol",
        "recall_procedures": ["clean", "RX-PAN"],
    }
    desk = await sign_in("receptionist")
    assert (
        await anonymous.put("/api/reminders/policy", json=policy, headers=desk)
    ).status_code == 403
    admin = await sign_in("admin")
    set_ = await anonymous.put("/api/reminders/policy", json=policy, headers=admin)
    assert set_.status_code == 200, set_.text
    shown = await anonymous.get("/api/reminders/policy", headers=desk)
    assert shown.json()["offsets_minutes"] == [1440]
    assert shown.json()["channels"] == ["sms", "email"]
    assert shown.json()["recall_procedures"] == ["CLEAN", "RX-PAN"]
    appointment_types = {
        **policy,
        "recall_types": ["check-up"],
    }  # before recalls followed treatments
    assert (
        await anonymous.put("/api/reminders/policy", json=appointment_types, headers=admin)
    ).status_code == 422
    bad = await anonymous.put(
        "/api/reminders/policy", json={**policy, "zone": "Nowhere/Atlantis"}, headers=admin
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
