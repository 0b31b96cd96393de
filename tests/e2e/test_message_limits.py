"""Free-text messages are limited per desk account and per patient (issue 15): a burst from one
account, or a patient written to from several desks, meets 429 with Retry-After, and no more
messages are written than the limit, however many requests race. The limits are settings."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from uuid import UUID

import httpx
import pytest

from api.app import create_app
from clinic.platform import Platform
from commands.reminders import Reminders
from infra.settings import Settings
from projections.reminders import ReminderQueries
from security.message_limits import MessageLimits
from tests.conftest import SignIn, eventually
from tests.e2e.test_reminders_api import booked, status_of
from tests.integration.helpers import META
from tests.integration.reminder_helpers import register_remindable

HOUR = 3600
DAY = 24 * HOUR


async def remindable_patients(platform: Platform, count: int, first: int = 100) -> list[UUID]:
    """Patients who consent to email, known to the reminders' view of contacts."""
    patients = [await register_remindable(platform, first + n) for n in range(count)]
    queries = platform.get(ReminderQueries)

    async def known() -> bool:
        return all([await queries.contact(p) is not None for p in patients])

    await eventually(known, what="the reminders' view of the patients")
    return patients


async def send(http: httpx.AsyncClient, desk: dict[str, str], patient: UUID) -> httpx.Response:
    text = "Le esperamos el lunes; traiga su informe: https://clinica.example/informe " * 4
    return await http.post(
        "/api/reminders", json={"patient_id": str(patient), "text": text[:320]}, headers=desk
    )


async def messages_written(platform: Platform) -> list[UUID]:
    """Free-text messages in the event store (created, whatever became of them)."""
    events = await platform.reader.notifications("reminders", 0, 10_000)
    return [e.aggregate_id for e in events if e.version == 1 and e.payload["kind"] == "message"]


def assert_refused(answer: httpx.Response, whose: str, window: int) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"].endswith("/too-many-messages")
    assert whose in answer.json()["detail"]
    assert 1 <= int(answer.headers["Retry-After"]) <= window


async def test_a_burst_of_thirty_free_text_messages_from_one_desk_account_meets_429(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    allowed = platform.settings.free_text_messages_per_sender_per_hour
    per_patient = platform.settings.free_text_messages_per_patient_per_day
    patients = await remindable_patients(platform, 30 // per_patient)
    desk = await sign_in("receptionist")

    answers = await asyncio.gather(
        *(send(anonymous, desk, p) for p in patients for _ in range(per_patient))
    )

    assert Counter(a.status_code for a in answers) == {202: allowed, 429: 30 - allowed}
    for refused in (a for a in answers if a.status_code == 429):
        assert_refused(refused, "This account", HOUR)
    accepted = {UUID(a.json()["id"]) for a in answers if a.status_code == 202}
    written = await messages_written(platform)
    assert len(written) == allowed
    assert set(written) == accepted


async def test_a_patient_written_to_from_two_desks_meets_429_and_another_is_still_reachable(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    allowed = platform.settings.free_text_messages_per_patient_per_day
    patient, other = await remindable_patients(platform, 2)
    morning = await sign_in("receptionist", name="Morning Desk")
    evening = await sign_in("receptionist", name="Evening Desk")

    for n in range(allowed):
        sent = await send(anonymous, morning if n % 2 == 0 else evening, patient)
        assert sent.status_code == 202, sent.text
    one_more = await send(anonymous, evening, patient)
    assert_refused(one_more, "This patient", DAY)
    assert (await send(anonymous, evening, other)).status_code == 202
    assert len(await messages_written(platform)) == allowed + 1


async def test_a_message_refused_with_an_idempotency_key_is_sent_when_retried_later(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    (patient,) = await remindable_patients(platform, 1)
    desk = await sign_in("receptionist")
    for _ in range(platform.settings.free_text_messages_per_patient_per_day):
        assert (await send(anonymous, desk, patient)).status_code == 202
    keyed = {**desk, "Idempotency-Key": "a-message-to-resend-later"}
    assert_refused(await send(anonymous, keyed, patient), "This patient", DAY)

    await platform.pool.execute("DELETE FROM free_text_messages_sent")  # the day has passed
    retried = await send(anonymous, keyed, patient)

    assert retried.status_code == 202, "a refusal is not kept as the key's answer"


async def test_racing_desks_never_send_a_patient_more_than_the_limit(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    allowed = platform.settings.free_text_messages_per_patient_per_day
    (patient,) = await remindable_patients(platform, 1)
    desks = [await sign_in("receptionist", name=f"Desk {n}") for n in range(10)]

    answers = await asyncio.gather(*(send(anonymous, desk, patient) for desk in desks))

    assert Counter(a.status_code for a in answers) == {202: allowed, 429: 10 - allowed}
    assert len(await messages_written(platform)) == allowed


async def test_the_limits_are_the_clinics_settings(
    platform: Platform,
    settings: Settings,
    sign_in: SignIn,
    pipeline: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLINIC_FREE_TEXT_MESSAGES_PER_SENDER_PER_HOUR", "4")
    monkeypatch.setenv("CLINIC_FREE_TEXT_MESSAGES_PER_PATIENT_PER_DAY", "1")
    configured = Settings()
    assert (
        configured.free_text_messages_per_sender_per_hour,
        configured.free_text_messages_per_patient_per_day,
    ) == (4, 1)
    running = platform.services()
    limits = MessageLimits.of(platform.pool, configured)
    services = replace(
        running,
        provided=tuple(limits if isinstance(p, MessageLimits) else p for p in running.provided),
    )
    app = create_app(settings, platform.routers(), services)
    first, *rest = await remindable_patients(platform, 6)
    desk = await sign_in("receptionist")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sonrisa.test"
    ) as http:
        twice = await asyncio.gather(send(http, desk, first), send(http, desk, first))
        assert sorted(a.status_code for a in twice) == [202, 429]
        assert_refused(next(a for a in twice if a.status_code == 429), "This patient", DAY)
        others = await asyncio.gather(*(send(http, desk, p) for p in rest))

    assert Counter(a.status_code for a in others) == {202: 3, 429: 2}
    for refused in (a for a in others if a.status_code == 429):
        assert_refused(refused, "This account", HOUR)
    assert len(await messages_written(platform)) == 4


async def test_reminders_of_appointments_are_not_limited(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    appointment_id, desk = await booked(anonymous, sign_in, platform)
    visit = await status_of(platform, appointment_id)
    patient = visit.patient_id
    await asyncio.to_thread(  # as the reminder worker does when it hears of the booking
        platform.application(Reminders).on_booked,
        appointment_id,
        patient,
        visit.slot.start,
        visit.appointment_type,
        visit.version,
        META,
    )
    for _ in range(platform.settings.free_text_messages_per_patient_per_day):
        assert (await send(anonymous, desk, patient)).status_code == 202
    assert_refused(await send(anonymous, desk, patient), "This patient", DAY)

    reminded = await anonymous.post(
        "/api/reminders", json={"appointment_id": str(appointment_id)}, headers=desk
    )

    assert reminded.status_code == 202, reminded.text


async def test_the_document_says_sending_a_message_can_meet_429_with_retry_after(
    anonymous: httpx.AsyncClient,
) -> None:
    document = (await anonymous.get("/openapi.json")).json()
    answers = document["paths"]["/api/reminders"]["post"]["responses"]
    assert "Retry-After" in answers["429"]["headers"]
    assert "application/problem+json" in answers["429"]["content"]


async def test_each_message_tells_the_desk_how_many_it_has_left(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    """RateLimit-Policy and RateLimit (the IETF draft's headers) on every answer the limit
    gives: the quota and window, then one fewer left with each message, and none at the 429."""
    desk = await sign_in("receptionist")
    patients = await remindable_patients(platform, 3, first=400)
    allowed = platform.settings.free_text_messages_per_sender_per_hour
    policy = f'"messages-per-sender";q={allowed};w={HOUR}'
    left = []
    for n in range(3):
        sent = await send(anonymous, desk, patients[n])
        assert sent.status_code == 202, sent.text
        assert sent.headers["RateLimit-Policy"] == policy
        left.append(int(sent.headers["RateLimit"].split(";r=")[1].split(";")[0]))
    assert left == [allowed - 1, allowed - 2, allowed - 3]
    for _ in range(3):  # the patient's own limit (3 a day) is met first
        refused = await send(anonymous, desk, patients[0])
    assert refused.status_code == 429
    assert refused.headers["RateLimit"].startswith('"messages-per-patient";r=0;t=')
    document = (await anonymous.get("/openapi.json")).json()
    answers = document["paths"]["/api/reminders"]["post"]["responses"]
    assert {"RateLimit", "RateLimit-Policy"} <= set(answers["202"]["headers"])
    assert {"RateLimit", "RateLimit-Policy"} <= set(answers["429"]["headers"])
