"""The reminder worker over real PostgreSQL, RabbitMQ and a real SMTP server: a booking puts
its reminders in the due list, they arrive in the patient's language and the clinic's time,
follow the appointment when it moves or goes, respect a withdrawn consent, survive an SMTP
outage, and two workers never send one twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest
from prometheus_client import REGISTRY

from bus.reminders.choreography import AppointmentReactions
from clinic.platform import Platform
from commands.patients import Consents, Patients, UpdatePatient
from commands.reminders import Reminders, SendReminder
from commands.scheduling import Scheduling
from domain.reminders import Reminder, reminder_id
from domain.scheduling.reference import ClinicSetup
from projections.reminders import ReminderFilter, ReminderQueries
from projections.scheduling import SchedulingQueries
from tests.conftest import SignIn, eventually, running
from tests.e2e.test_appointment_book import (
    MADRID,
    NEXT_MONDAY,
    Clinic,
    appointment,
    on_the_day,
    set_up,
)
from tests.integration.helpers import META, publish, registered_patient
from tests.integration.reminder_helpers import (
    SmtpServer,
    dispatcher,
    free_port,
    html_of,
    register_remindable,
    remindable,
    text_of,
)
from tests.unit.test_reminders_commands import scheduling_event

SATURDAY_10 = datetime(2030, 3, 2, 10, 0, tzinfo=MADRID)  # 48 h before Monday 10:00
SUNDAY_EVENING = datetime(2030, 3, 3, 20, 59, tzinfo=MADRID)  # 2 h before is 08:00: too early


class Clock:
    """The worker's notion of now, moved by the test (no waiting for real days to pass)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
async def worker(platform: Platform, pipeline: None) -> AsyncIterator[None]:
    """The worker's consumer of scheduling's events, beside the relay and projectors."""
    async with running(platform.consumer(AppointmentReactions.name).run):
        yield


async def due_list(platform: Platform, appointment_id: str) -> list[dict[str, Any]]:
    page = await platform.get(ReminderQueries).page(
        ReminderFilter(appointment=UUID(appointment_id)), None, 50
    )
    return sorted(page.items, key=lambda r: r["due_at"])


async def book(
    http: httpx.AsyncClient, clinic: Clinic, patient: UUID, **extra: Any
) -> httpx.Response:
    booked = await http.post(
        "/api/appointments",
        json=appointment(clinic, patient=str(patient), **extra),
        headers=clinic.desk,
    )
    assert booked.status_code == 201, booked.text
    return booked


async def clinic_with(
    http: httpx.AsyncClient, sign_in: SignIn, platform: Platform, *patients: UUID
) -> Clinic:
    clinic = await set_up(http, sign_in, platform, patients=0)
    book_ = platform.get(SchedulingQueries)
    for patient in patients:
        assert await book_.patient_exists(patient, wait=20)
    return clinic


async def consents_known(platform: Platform, patient: UUID, email: bool) -> None:
    async def seen() -> bool:
        contact = await platform.get(ReminderQueries).contact(patient)
        return contact is not None and contact.consents.get("email") is email

    await eventually(seen, what="the reminders' view of the patient's consent")


async def test_booked_reminders_are_due_and_arrive_in_the_patients_language(
    anonymous: httpx.AsyncClient,
    sign_in: SignIn,
    platform: Platform,
    worker: None,
    smtp: SmtpServer,
) -> None:
    spanish = await register_remindable(platform, 1, language="es")
    english = await register_remindable(platform, 2, language="en")
    clinic = await clinic_with(anonymous, sign_in, platform, spanish, english)
    first = (await book(anonymous, clinic, spanish)).json()["id"]
    second = (await book(anonymous, clinic, english, minutes=60)).json()["id"]

    async def both_scheduled() -> bool:
        return [len(await due_list(platform, a)) for a in (first, second)] == [2, 2]

    await eventually(both_scheduled, what="both reminders of both bookings in the due list")
    listed = await due_list(platform, first)
    assert [datetime.fromisoformat(r["due_at"]) for r in listed] == [SATURDAY_10, SUNDAY_EVENING]
    assert {r["status"] for r in listed} == {"scheduled"}
    await consents_known(platform, english, True)

    clock = Clock(SATURDAY_10 - timedelta(minutes=1))
    sending = dispatcher(platform, smtp, clock)
    assert await sending.dispatch_once() == 0, "nothing is sent before it is due"
    clock.now = SATURDAY_10 + timedelta(hours=1, seconds=1)
    assert await sending.dispatch_once() == 2
    (es,) = smtp.mailbox.to("patient1@example.org")
    (en,) = smtp.mailbox.to("patient2@example.org")
    assert "lunes, 4 de marzo de 2030 a las 10:00" in text_of(es)
    assert es["Subject"] == "Recordatorio de su cita en Sonrisa"
    assert "Monday, 4 March 2030 at 11:00" in text_of(en)
    assert en["Subject"] == "Reminder of your appointment at Sonrisa"
    assert "https://clinic.example.test/api/reminder-links/" in html_of(en)

    async def recorded() -> bool:
        return [r["status"] for r in await due_list(platform, first)] == ["sent", "scheduled"]

    await eventually(recorded, what="the send recorded in the due list")
    sent = (await due_list(platform, first))[0]
    assert sent["channel"] == "email"
    assert sent["provider_message_id"] == es["Message-ID"]
    assert sent["consent"]["email"] is True


async def test_a_reschedule_moves_the_reminders_and_a_cancellation_removes_them(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, worker: None
) -> None:
    patient = await register_remindable(platform, 3)
    clinic = await clinic_with(anonymous, sign_in, platform, patient)
    booked = (await book(anonymous, clinic, patient)).json()["id"]
    path = f"/api/appointments/{booked}"

    async def due_times() -> list[datetime]:
        return [
            datetime.fromisoformat(r["due_at"])
            for r in await due_list(platform, booked)
            if r["status"] == "scheduled"
        ]

    await eventually(lambda: _equals(due_times(), [SATURDAY_10, SUNDAY_EVENING]), what="booked")
    later = {"start": (NEXT_MONDAY + timedelta(hours=3)).isoformat(), "duration_minutes": 30}
    moved = await anonymous.put(path, json=later, headers={**clinic.desk, "If-Match": '"1"'})
    assert moved.status_code == 200, moved.text
    expected = [SATURDAY_10 + timedelta(hours=3), NEXT_MONDAY + timedelta(hours=1)]
    await eventually(lambda: _equals(due_times(), expected), what="the reminders moved")

    cancelled = await anonymous.request(
        "DELETE",
        path,
        json={"reason": "patient called"},
        headers={**clinic.desk, "If-Match": '"2"'},
    )
    assert cancelled.status_code == 200, cancelled.text

    async def all_cancelled() -> bool:
        return {r["status"] for r in await due_list(platform, booked)} == {"cancelled"}

    await eventually(all_cancelled, what="the reminders cancelled with the appointment")


async def _equals(found: Any, expected: list[datetime]) -> bool:
    return bool(await found == expected)


async def test_a_patient_who_withdrew_consent_after_booking_gets_nothing_skipped(
    anonymous: httpx.AsyncClient,
    sign_in: SignIn,
    platform: Platform,
    worker: None,
    smtp: SmtpServer,
) -> None:
    patient = await register_remindable(platform, 4)
    clinic = await clinic_with(anonymous, sign_in, platform, patient)
    booked = (await book(anonymous, clinic, patient)).json()["id"]
    await eventually(
        lambda: _count(due_list(platform, booked), 2), what="the reminders in the due list"
    )
    withdrawn = UpdatePatient(
        **{**remindable(4).model_dump(), "consents": Consents(email=False, sms=False)}
    )
    await asyncio.to_thread(platform.application(Patients).update, patient, withdrawn, 1, META)
    await consents_known(platform, patient, False)

    sending = dispatcher(platform, smtp, Clock(SATURDAY_10 + timedelta(seconds=1)))
    assert await sending.dispatch_once() == 1
    assert smtp.mailbox.messages == []

    async def skipped() -> bool:
        first = (await due_list(platform, booked))[0]
        return bool(first["status"] == "skipped" and first["reason"] == "no_consent")

    await eventually(skipped, what="a skipped reminder, for want of consent")
    events = await platform.reader.aggregate_events(
        "reminders", UUID((await due_list(platform, booked))[0]["id"])
    )
    assert [e.event_type for e in events] == ["ReminderScheduled", "ReminderSkipped"]
    assert events[-1].payload["consent"]["email"] is False


async def _count(found: Any, n: int) -> bool:
    return len(await found) == n


async def test_while_smtp_is_down_sends_back_off_and_are_delivered_once_it_is_back(
    platform: Platform, pipeline: None
) -> None:
    patient = await register_remindable(platform, 5)
    await consents_known(platform, patient, True)
    written = await asyncio.to_thread(
        platform.application(Reminders).send_now,
        SendReminder(patient_id=patient, text="Hola"),
        META,
    )
    failed_before = _sample("sonrisa_reminders_failed_total", channel="email", final="false")
    sent_before = _sample("sonrisa_reminders_sent_total", channel="email")
    down = SmtpServer(port=free_port())  # nothing listens there yet
    clock = Clock(datetime.now(MADRID) + timedelta(seconds=1))
    sending = dispatcher(platform, down, clock)

    async def attempts(n: int) -> bool:
        found = await platform.get(ReminderQueries).reminder(written.id)
        return found is not None and found.get("attempts") == n

    await eventually(lambda: _claimed(sending), what="the reminder in the due list")
    await eventually(lambda: attempts(1), what="the first failure recorded")
    assert await sending.dispatch_once() == 0, "the next attempt waits for its backoff"
    clock.now += timedelta(minutes=1, seconds=1)
    assert await sending.dispatch_once() == 1
    await eventually(lambda: attempts(2), what="the second failure recorded")
    found = await platform.get(ReminderQueries).reminder(written.id)
    assert found is not None
    assert found["status"] == "scheduled"
    assert "SMTP" in found["last_error"]

    down.start()
    try:
        clock.now += timedelta(minutes=2, seconds=1)
        assert await sending.dispatch_once() == 1
        assert len(down.mailbox.messages) == 1
        await eventually(lambda: _status(platform, written.id, "sent"), what="sent")
    finally:
        down.stop()
    assert _sample("sonrisa_reminders_failed_total", channel="email", final="false") == (
        failed_before + 2
    )
    assert _sample("sonrisa_reminders_sent_total", channel="email") == sent_before + 1
    clock.now += timedelta(hours=1)
    await sending.dispatch_once()
    assert _sample("sonrisa_reminders_due") == 0
    assert _sample("sonrisa_reminders_oldest_due_seconds") == 0


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def _claimed(sending: Any) -> bool:
    return bool(await sending.dispatch_once())


async def _status(platform: Platform, reminder: UUID, status: str) -> bool:
    found = await platform.get(ReminderQueries).reminder(reminder)
    return found is not None and found["status"] == status


async def test_two_workers_with_500_due_reminders_send_each_exactly_once(
    platform: Platform, pipeline: None, smtp: SmtpServer
) -> None:
    patients = [await register_remindable(platform, 100 + n) for n in range(5)]
    for patient in patients:
        await consents_known(platform, patient, True)

    def schedule() -> list[UUID]:
        return [
            platform.application(Reminders)
            .send_now(SendReminder(patient_id=patients[n % 5], text=f"Mensaje {n}"), META)
            .id
            for n in range(500)
        ]

    ids = await asyncio.to_thread(schedule)

    async def all_listed() -> bool:
        count, _ = await platform.get(ReminderQueries).backlog(datetime.now(MADRID) + timedelta(1))
        return count == 500

    await eventually(all_listed, within=60, what="500 reminders in the due list")
    clock = Clock(datetime.now(MADRID) + timedelta(seconds=5))
    one, two = (dispatcher(platform, smtp, clock, worker=f"w{n}") for n in (1, 2))

    async def drain(worker: Any) -> int:
        total = 0
        idle = 0
        while idle < 40:
            handled = await worker.dispatch_once()
            total += handled
            idle = 0 if handled else idle + 1
            await asyncio.sleep(0 if handled else 0.05)
        return total

    handled = await asyncio.gather(drain(one), drain(two))
    assert len(smtp.mailbox.messages) == 500
    assert len(set(smtp.mailbox.message_ids())) == 500
    assert all(h > 0 for h in handled), f"both workers took a share: {handled}"

    async def recorded() -> bool:
        return all([await _status(platform, r, "sent") for r in ids])

    await eventually(recorded, within=60, what="every send recorded")


def a_month_ago_at(day: int, hour: int, minute: int) -> datetime:
    """A day of last month on the clinic's clock: in the past, with its recall ahead."""
    this_month = datetime.now(MADRID).replace(day=1)
    last = this_month - timedelta(days=1)
    return datetime(last.year, last.month, day, hour, minute, tzinfo=MADRID)


def six_months_after(done: datetime) -> datetime:
    month = done.month - 1 + 6
    return done.replace(year=done.year + month // 12, month=month % 12 + 1)


async def treated(
    client: httpx.AsyncClient, patient: UUID, code: str, performed_at: datetime
) -> str:
    """A treatment recorded over HTTP, as a dentist does; its id."""
    recorded = await client.post(
        "/api/treatments",
        json={"patient_id": str(patient), "code": code, "performed_at": performed_at.isoformat()},
    )
    assert recorded.status_code == 201, recorded.text
    return str(recorded.json()["id"])


async def recalls_of(client: httpx.AsyncClient, patient: UUID) -> list[dict[str, Any]]:
    """The patient's recalls in the due list, over HTTP, oldest due first."""
    listed = await client.get("/api/reminders", params={"patient_id": str(patient)})
    assert listed.status_code == 200, listed.text
    found = [r for r in listed.json()["items"] if r["kind"] == "recall"]
    return sorted(found, key=lambda r: r["due_at"])


def due(recall: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(recall["due_at"]).astimezone(MADRID)


async def test_an_examination_recorded_over_http_puts_one_recall_six_months_later_in_the_due_list(
    client: httpx.AsyncClient, platform: Platform, worker: None
) -> None:
    patient = await asyncio.to_thread(registered_patient, platform)
    examined = a_month_ago_at(3, 10, 15)
    exam = await treated(client, patient, "EXAM", examined)

    async def recalled() -> bool:
        return len(await recalls_of(client, patient)) == 1

    await eventually(recalled, what="the recall in the due list")
    (recall,) = await recalls_of(client, patient)
    assert recall["status"] == "scheduled"
    assert due(recall) == six_months_after(examined)

    # The bus delivers the same event again: the recall is not scheduled twice.
    (recorded,) = await platform.reader.aggregate_events("treatments", UUID(exam))
    assert recorded.event_type == "TreatmentRecorded"
    await publish(platform, [recorded, recorded])
    await treated(client, patient, "CLEAN", examined + timedelta(days=1))

    async def superseded() -> bool:
        return [r["status"] for r in await recalls_of(client, patient)] == [
            "cancelled",
            "scheduled",
        ]

    await eventually(superseded, what="the cleaning's recall after the redeliveries")
    assert await _reminder_events(platform, recall["id"]) == [
        "ReminderScheduled",
        "ReminderCancelled",
    ]


async def test_a_later_cleaning_supersedes_the_recall_and_voiding_it_cancels_its_recall(
    client: httpx.AsyncClient, platform: Platform, worker: None
) -> None:
    patient = await asyncio.to_thread(registered_patient, platform)
    first_visit, second_visit = a_month_ago_at(2, 9, 30), a_month_ago_at(20, 12, 0)
    await treated(client, patient, "CLEAN", first_visit)
    await eventually(
        lambda: _recall_statuses(client, patient, ["scheduled"]), what="the first recall"
    )
    second = await treated(client, patient, "CLEAN", second_visit)
    await eventually(
        lambda: _recall_statuses(client, patient, ["cancelled", "scheduled"]),
        what="the second cleaning's recall in place of the first's",
    )
    first_recall, second_recall = await recalls_of(client, patient)
    assert due(first_recall) == six_months_after(first_visit)
    assert due(second_recall) == six_months_after(second_visit)

    voided = await client.post(f"/api/treatments/{second}/void", json={"reason": "wrong patient"})
    assert voided.status_code == 200, voided.text
    await eventually(
        lambda: _recall_statuses(client, patient, ["cancelled", "cancelled"]),
        what="the voided cleaning's recall cancelled",
    )


async def test_a_filling_or_a_completed_check_up_without_treatments_brings_no_recall(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, worker: None
) -> None:
    anonymous.headers.update(await sign_in("dentist"))
    filled, examined = [await asyncio.to_thread(registered_patient, platform, n) for n in (1, 2)]
    recorded = await anonymous.post(
        "/api/treatments",
        json={"patient_id": str(filled), "code": "FILL-1", "tooth": 36, "surfaces": "O"},
    )
    assert recorded.status_code == 201, recorded.text
    await treated(anonymous, examined, "EXAM", a_month_ago_at(5, 11, 0))
    # The worker handles its queue in order: once the examination's recall is there, the
    # filling recorded before it has been handled too.
    await eventually(
        lambda: _recall_statuses(anonymous, examined, ["scheduled"]), what="a later recall"
    )
    assert await recalls_of(anonymous, filled) == []

    patient = await register_remindable(platform, 6)
    clinic = await clinic_with(anonymous, sign_in, platform, patient)
    booked = (await book(anonymous, clinic, patient)).json()["id"]
    await eventually(lambda: _count(due_list(platform, booked), 2), what="the due list")
    with on_the_day(platform):
        for step in ("check-in", "complete"):
            done = await anonymous.post(f"/api/appointments/{booked}/{step}", headers=clinic.desk)
            assert done.status_code == 200, done.text

    async def ended() -> bool:
        return {r["status"] for r in await due_list(platform, booked)} == {"cancelled"}

    # The completion cancelled the appointment's reminders in the same save that once also
    # scheduled its recall: when they are cancelled, no recall is coming.
    await eventually(ended, what="the completed appointment's reminders cancelled")
    assert [r["kind"] for r in await due_list(platform, booked)] == ["appointment"] * 2
    assert await recalls_of(anonymous, patient) == []


async def _recall_statuses(client: httpx.AsyncClient, patient: UUID, expected: list[str]) -> bool:
    return [r["status"] for r in await recalls_of(client, patient)] == expected


async def _reminder_events(platform: Platform, reminder: str) -> list[str]:
    return [
        e.event_type for e in await platform.reader.aggregate_events("reminders", UUID(reminder))
    ]


async def test_the_confirm_link_in_the_email_confirms_the_appointment(
    anonymous: httpx.AsyncClient,
    sign_in: SignIn,
    platform: Platform,
    worker: None,
    smtp: SmtpServer,
) -> None:
    patient = await register_remindable(platform, 10)
    clinic = await clinic_with(anonymous, sign_in, platform, patient)
    booked = (await book(anonymous, clinic, patient)).json()["id"]
    await eventually(lambda: _count(due_list(platform, booked), 2), what="the due list")
    await consents_known(platform, patient, True)
    await dispatcher(platform, smtp, Clock(SATURDAY_10 + timedelta(seconds=1))).dispatch_once()
    (sent,) = smtp.mailbox.messages
    confirm = next(
        line.split(": ", 1)[1]
        for line in text_of(sent).splitlines()
        if line.startswith("Confirmar: ")
    )
    path = confirm.removeprefix("https://clinic.example.test")
    used = await anonymous.post(path, headers={"Accept": "text/html"})
    assert used.status_code == 200, used.text
    await eventually(
        lambda: _appointment_status(anonymous, booked, clinic.desk, "confirmed"),
        what="the appointment confirmed",
    )


async def _appointment_status(
    http: httpx.AsyncClient, appointment_id: str, headers: dict[str, str], status: str
) -> bool:
    found = await http.get(f"/api/appointments/{appointment_id}", headers=headers)
    return bool(found.json().get("status") == status)


async def test_a_worker_that_never_heard_of_the_clinics_set_up_reads_its_zone_from_the_store(
    platform: Platform,
) -> None:
    """Its queue was made after the clinic was set up in the Canaries: before its first
    appointment it learns the zone from the event store, and reckons the reminders in it."""
    canary = ZoneInfo("Atlantic/Canary")
    clinic = ClinicSetup.start(META, zone_name=canary.key)
    await asyncio.to_thread(platform.application(Scheduling).save, clinic)
    reminders = platform.application(Reminders)
    assert reminders.zone() == MADRID
    start = datetime(2030, 3, 4, 9, 30, tzinfo=canary)
    booked = scheduling_event(
        "AppointmentBooked", "Appointment", patient_id=str(uuid4()), start=start.isoformat()
    )
    await AppointmentReactions(reminders, platform.reader).handle_batch([booked])
    assert reminders.zone() == canary
    plan = reminders.plan_of(booked.aggregate_id)
    assert plan is not None
    due = reminders.load(reminder_id(booked.aggregate_id, "before-120m"), Reminder).due_at
    assert due == datetime(2030, 3, 3, 20, 59, tzinfo=canary)  # 07:30 is quiet on its clock
