"""The reminders' command side reacts to appointments once, however often an event comes."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from commands.reminders import Reminders, SendReminder, SetReminderPolicy
from domain.reminders import Channel, Reminder, Skip, Status, reminder_id
from domain.shared import InvalidValue, Meta

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
META = Meta("reminders-worker", "system", "corr", "event")
START = datetime(2026, 12, 3, 11, 0, tzinfo=MADRID)


@pytest.fixture
def reminders() -> Reminders:
    return Reminders(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: NOW)


def statuses(app: Reminders, appointment: object) -> dict[str, tuple[Status, datetime]]:
    plan = app.plan_of(appointment)  # type: ignore[arg-type]
    assert plan is not None
    found = {}
    for label in plan.labels:
        reminder = app.load(reminder_id(plan.appointment_id, label), Reminder)
        found[label] = (reminder.status, reminder.due_at)
    return found


def test_a_booking_schedules_both_reminders_once_however_often_it_arrives(
    reminders: Reminders,
) -> None:
    appointment = uuid4()
    for _ in range(3):
        reminders.on_booked(appointment, uuid4(), START, "check-up", 1, META)
    assert statuses(reminders, appointment) == {
        "before-2880m": (Status.SCHEDULED, datetime(2026, 12, 1, 11, 0, tzinfo=MADRID)),
        "before-120m": (Status.SCHEDULED, datetime(2026, 12, 3, 9, 0, tzinfo=MADRID)),
    }
    assert reminders.recorder.max_notification_id() == 3  # one plan and two reminders


def test_a_reschedule_moves_the_reminders_and_a_replay_of_it_changes_nothing(
    reminders: Reminders,
) -> None:
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, META)
    later = datetime(2026, 12, 10, 16, 0, tzinfo=MADRID)
    reminders.on_rescheduled(appointment, later, 2, META)
    before = reminders.recorder.max_notification_id()
    reminders.on_rescheduled(appointment, later, 2, META)
    assert reminders.recorder.max_notification_id() == before
    assert statuses(reminders, appointment) == {
        "before-2880m": (Status.SCHEDULED, datetime(2026, 12, 8, 16, 0, tzinfo=MADRID)),
        "before-120m": (Status.SCHEDULED, datetime(2026, 12, 10, 14, 0, tzinfo=MADRID)),
    }


def test_a_cancellation_cancels_what_is_pending(reminders: Reminders) -> None:
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "filling", 1, META)
    reminders.on_ended(appointment, "cancelled", NOW, 2, META)
    assert {s for s, _ in statuses(reminders, appointment).values()} == {Status.CANCELLED}


def test_a_completed_check_up_brings_a_recall_six_months_later(reminders: Reminders) -> None:
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, META)
    done = datetime(2026, 12, 3, 11, 30, tzinfo=MADRID)
    reminders.on_ended(appointment, "completed", done, 4, META)
    found = statuses(reminders, appointment)
    assert found["recall"] == (Status.SCHEDULED, datetime(2027, 6, 3, 11, 30, tzinfo=MADRID))


def test_a_completed_root_canal_brings_no_recall(reminders: Reminders) -> None:
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "root-canal", 1, META)
    reminders.on_ended(appointment, "completed", NOW, 4, META)
    assert "recall" not in statuses(reminders, appointment)


def test_the_admins_policy_decides_the_next_bookings(reminders: Reminders) -> None:
    reminders.set_policy(SetReminderPolicy(offsets_minutes=[24 * 60], channels=[Channel.SMS]), META)
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, META)
    assert list(statuses(reminders, appointment)) == ["before-1440m"]
    with pytest.raises(InvalidValue):
        reminders.set_policy(SetReminderPolicy(zone="Nowhere/Atlantis"), META)


def test_a_send_is_recorded_once_with_the_consent_it_relied_on(reminders: Reminders) -> None:
    written = reminders.send_now(SendReminder(patient_id=uuid4(), text="Su cita es mañana"), META)
    assert reminders.due(written.id, NOW) is not None
    reminders.record_sent(written.id, Channel.EMAIL, "<m@x>", {"email": True}, NOW, META)
    assert reminders.due(written.id, NOW) is None


def test_a_skip_names_its_reason(reminders: Reminders) -> None:
    written = reminders.send_now(SendReminder(patient_id=uuid4(), text="Hola"), META)
    reminders.skip(written.id, Skip.NO_CONSENT, {"email": False}, META)
    assert reminders.load(written.id, Reminder).status is Status.SKIPPED
