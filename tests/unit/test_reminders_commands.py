"""The reminders' command side reacts to appointments and recorded treatments once, however
often an event comes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bus.reminders.choreography import AppointmentReactions
from commands.reminders import Reminders, SendReminder, SetReminderPolicy
from domain.reminders import (
    POLICY_ID,
    Channel,
    Ending,
    Kind,
    Reminder,
    Skip,
    Status,
    recall_id,
    reminder_id,
)
from domain.shared import Meta
from infra.eventstore import Envelope

MADRID = ZoneInfo("Europe/Madrid")
CANARY = ZoneInfo("Atlantic/Canary")
MEXICO_CITY = ZoneInfo("America/Mexico_City")
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
    reminders.on_ended(appointment, Ending.CANCELLED, NOW, 2, META)
    assert {s for s, _ in statuses(reminders, appointment).values()} == {Status.CANCELLED}


def test_a_completed_check_up_appointment_brings_no_recall_of_its_own(
    reminders: Reminders,
) -> None:
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, META)
    reminders.on_ended(appointment, Ending.COMPLETED, NOW, 4, META)
    found = statuses(reminders, appointment)
    assert "recall" not in found
    assert {s for s, _ in found.values()} == {Status.CANCELLED}


DONE = datetime(2026, 12, 3, 11, 30, tzinfo=MADRID)


def test_an_examination_brings_the_patients_recall_six_months_later_once(
    reminders: Reminders,
) -> None:
    patient, treatment, appointment = uuid4(), uuid4(), uuid4()
    for _ in range(3):  # redelivered
        reminders.on_treatment_recorded(treatment, patient, "EXAM", DONE, appointment, META)
    recall = reminders.recall_of(patient)
    assert recall is not None
    assert recall.id == recall_id(treatment)
    assert (recall.status, recall.kind, recall.due_at) == (
        Status.SCHEDULED,
        Kind.RECALL,
        datetime(2027, 6, 3, 11, 30, tzinfo=MADRID),
    )
    assert recall.patient_id == patient
    assert recall.appointment_id == appointment
    assert reminders.recorder.max_notification_id() == 3  # book opened, followed; one recall


def test_a_filling_brings_no_recall(reminders: Reminders) -> None:
    patient = uuid4()
    reminders.on_treatment_recorded(uuid4(), patient, "FILL-1", DONE, None, META)
    assert reminders.recall_of(patient) is None
    assert not reminders.recorder.max_notification_id()  # nothing written at all


def test_a_later_cleaning_supersedes_the_pending_recall(reminders: Reminders) -> None:
    patient, first, second = uuid4(), uuid4(), uuid4()
    reminders.on_treatment_recorded(first, patient, "EXAM", DONE, None, META)
    later = DONE + timedelta(days=20)
    reminders.on_treatment_recorded(second, patient, "CLEAN", later, None, META)
    reminders.on_treatment_recorded(first, patient, "EXAM", DONE, None, META)  # redelivered
    assert reminders.load(recall_id(first), Reminder).status is Status.CANCELLED
    recall = reminders.recall_of(patient)
    assert recall is not None
    assert recall.id == recall_id(second)
    assert recall.due_at == datetime(2027, 6, 23, 11, 30, tzinfo=MADRID)


def test_an_earlier_or_same_visit_treatment_leaves_the_pending_recall_alone(
    reminders: Reminders,
) -> None:
    patient, exam, clean, old = uuid4(), uuid4(), uuid4(), uuid4()
    reminders.on_treatment_recorded(exam, patient, "EXAM", DONE, None, META)
    reminders.on_treatment_recorded(clean, patient, "CLEAN", DONE, None, META)  # same visit
    reminders.on_treatment_recorded(old, patient, "CLEAN", DONE - timedelta(days=30), None, META)
    recall = reminders.recall_of(patient)
    assert recall is not None
    assert recall.id == recall_id(exam)
    assert recall.status is Status.SCHEDULED
    assert not reminders.exists(recall_id(clean))
    assert not reminders.exists(recall_id(old))


def test_a_treatment_done_too_long_ago_brings_no_recall_in_the_past(reminders: Reminders) -> None:
    patient = uuid4()
    reminders.on_treatment_recorded(uuid4(), patient, "EXAM", NOW - timedelta(days=200), None, META)
    assert reminders.recall_of(patient) is None


def test_a_voided_examination_cancels_its_recall_and_the_next_one_starts_afresh(
    reminders: Reminders,
) -> None:
    patient, wrong, right = uuid4(), uuid4(), uuid4()
    reminders.on_treatment_recorded(wrong, patient, "EXAM", DONE, None, META)
    reminders.on_treatment_voided(wrong, META)
    before = reminders.recorder.max_notification_id()
    reminders.on_treatment_voided(wrong, META)  # redelivered
    assert reminders.recorder.max_notification_id() == before
    assert reminders.load(recall_id(wrong), Reminder).status is Status.CANCELLED
    assert reminders.recall_of(patient) is None
    earlier = DONE - timedelta(days=1)  # recorded after the void, done before the voided one
    reminders.on_treatment_recorded(right, patient, "EXAM", earlier, None, META)
    recall = reminders.recall_of(patient)
    assert recall is not None
    assert recall.id == recall_id(right)


def test_voiding_a_superseded_or_unrelated_treatment_changes_nothing(
    reminders: Reminders,
) -> None:
    patient, first, second = uuid4(), uuid4(), uuid4()
    reminders.on_treatment_recorded(first, patient, "EXAM", DONE, None, META)
    reminders.on_treatment_recorded(second, patient, "CLEAN", DONE + timedelta(days=1), None, META)
    before = reminders.recorder.max_notification_id()
    reminders.on_treatment_voided(first, META)
    reminders.on_treatment_voided(uuid4(), META)
    assert reminders.recorder.max_notification_id() == before
    recall = reminders.recall_of(patient)
    assert recall is not None
    assert recall.status is Status.SCHEDULED


def test_the_admins_recall_procedures_decide_which_treatments_bring_a_recall(
    reminders: Reminders,
) -> None:
    reminders.set_policy(
        SetReminderPolicy(recall_procedures=["clean"], recall_after_months=12), META
    )
    assert reminders.policy().recall_procedures == frozenset({"CLEAN"})
    patient = uuid4()
    reminders.on_treatment_recorded(uuid4(), patient, "EXAM", DONE, None, META)
    assert reminders.recall_of(patient) is None
    reminders.on_treatment_recorded(uuid4(), patient, "CLEAN", DONE, None, META)
    recall = reminders.recall_of(patient)
    assert recall is not None
    assert recall.due_at == datetime(2027, 12, 3, 11, 30, tzinfo=MADRID)
    assert SetReminderPolicy().policy().recall_procedures == frozenset({"EXAM", "CLEAN"})


def test_the_admins_policy_decides_the_next_bookings(reminders: Reminders) -> None:
    reminders.set_policy(SetReminderPolicy(offsets_minutes=[24 * 60], channels=[Channel.SMS]), META)
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, META)
    assert list(statuses(reminders, appointment)) == ["before-1440m"]


def test_the_clinics_zone_is_not_the_reminder_policys_to_set() -> None:
    with pytest.raises(ValidationError, match="zone"):
        SetReminderPolicy(zone="Atlantic/Canary")  # type: ignore[call-arg]


def test_a_send_is_recorded_once_with_the_consent_it_relied_on(reminders: Reminders) -> None:
    written = reminders.send_now(SendReminder(patient_id=uuid4(), text="Su cita es mañana"), META)
    due = reminders.due(written.id, NOW)
    assert due is not None
    reminders.record_together([(due, _sent("<m@x>"))])
    assert reminders.due(written.id, NOW) is None
    assert len(reminders.recorder.select_events(written.id)) == 2


def test_a_skip_names_its_reason(reminders: Reminders) -> None:
    written = reminders.send_now(SendReminder(patient_id=uuid4(), text="Hola"), META)
    due = reminders.due(written.id, NOW)
    assert due is not None
    reminders.record_together([(due, lambda r: r.skip(Skip.NO_CONSENT, {"email": False}, META))])
    assert reminders.load(written.id, Reminder).status is Status.SKIPPED


def test_a_policy_set_when_recalls_followed_appointment_types_reads_with_the_default_codes(
    reminders: Reminders,
) -> None:
    """A `ReminderPolicySet` stored at version 1 named appointment types; it still loads,
    keeping everything the admin set, with the default recall procedures."""
    reminders.set_policy(SetReminderPolicy(recall_after_months=9, clinic_name="Sol"), META)
    stored = reminders.recorder.select_events(POLICY_ID)
    first, set_ = stored
    state = json.loads(set_.state)
    assert state.pop("class_version") == 3
    state.pop("recall_procedures")
    state["recall_types"] = ["check-up", "cleaning"]
    state["zone"] = "Europe/Madrid"  # and the zone of its own it kept until version 3
    older = Reminders(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: NOW)
    older.recorder.insert_events([first, replace(set_, state=json.dumps(state).encode())])
    policy = older.policy()
    assert (policy.recall_after_months, policy.clinic_name) == (9, "Sol")
    assert policy.recall_procedures == frozenset({"EXAM", "CLEAN"})


def test_a_policy_set_when_it_kept_its_own_zone_reads_without_it(reminders: Reminders) -> None:
    """A `ReminderPolicySet` stored at version 2 carried a zone; it still loads, keeping
    everything else the admin set, and the clinic's zone stays scheduling's."""
    reminders.set_policy(SetReminderPolicy(recall_after_months=9, clinic_name="Sol"), META)
    first, set_ = reminders.recorder.select_events(POLICY_ID)
    state = {**json.loads(set_.state), "class_version": 2, "zone": "Atlantic/Canary"}
    older = Reminders(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: NOW)
    older.recorder.insert_events([first, replace(set_, state=json.dumps(state).encode())])
    policy = older.policy()
    assert (policy.recall_after_months, policy.clinic_name) == (9, "Sol")
    assert older.zone() == MADRID


def test_a_clinic_set_up_in_the_canaries_gets_its_reminders_on_its_own_clock(
    reminders: Reminders,
) -> None:
    reminders.on_clinic_set_up("Atlantic/Canary", 1, META)
    appointment = uuid4()
    nine_thirty = datetime(2026, 12, 3, 9, 30, tzinfo=CANARY)
    reminders.on_booked(appointment, uuid4(), nine_thirty, "check-up", 1, META)
    # 2 h before is 07:30 there, in quiet hours: 20:59 the evening before on the Canary
    # clock (on Madrid's it would be an hour earlier).
    assert statuses(reminders, appointment) == {
        "before-2880m": (Status.SCHEDULED, datetime(2026, 12, 1, 9, 30, tzinfo=CANARY)),
        "before-120m": (Status.SCHEDULED, datetime(2026, 12, 2, 20, 59, tzinfo=CANARY)),
    }


def test_a_recall_of_a_clinic_in_mexico_city_comes_on_its_own_clock(
    reminders: Reminders,
) -> None:
    reminders.on_clinic_set_up("America/Mexico_City", 1, META)
    patient = uuid4()
    # Six months later on Madrid's clock it would come an hour early in Mexico City, which
    # no longer changes its clocks in summer.
    done = datetime(2026, 11, 20, 13, 30, tzinfo=MEXICO_CITY)
    reminders.on_treatment_recorded(uuid4(), patient, "EXAM", done, None, META)
    recall = reminders.recall_of(patient)
    assert recall is not None
    assert recall.due_at == datetime(2027, 5, 20, 13, 30, tzinfo=MEXICO_CITY)


def test_the_clinics_zone_is_the_latest_set_up_learned_and_a_replay_changes_nothing(
    reminders: Reminders,
) -> None:
    assert reminders.zone() == MADRID  # not yet set up: the default
    reminders.on_clinic_set_up("Atlantic/Canary", 1, META)
    reminders.on_clinic_set_up("Atlantic/Canary", 1, META)
    before = reminders.recorder.max_notification_id() or 0
    reminders.on_clinic_set_up("America/Mexico_City", 3, META)
    reminders.on_clinic_set_up("Atlantic/Canary", 2, META)  # an earlier version, late
    assert reminders.recorder.max_notification_id() == before + 1
    assert reminders.zone() == MEXICO_CITY


def scheduling_event(event_type: str, aggregate_type: str, **payload: Any) -> Envelope:
    """One of scheduling's events as the bus carries it: the first of a new aggregate."""
    return Envelope(
        event_id=uuid4(),
        context="scheduling",
        event_type=event_type,
        aggregate_type=aggregate_type,
        aggregate_id=uuid4(),
        version=1,
        notification_id=1,
        timestamp=NOW,
        meta={"correlation_id": "corr", "causation_id": "req"},
        payload=payload,
    )


async def test_the_worker_learns_the_clinics_zone_from_schedulings_set_up_event(
    reminders: Reminders,
) -> None:
    set_up = scheduling_event("ClinicSetUp", "ClinicSetup", zone_name="Atlantic/Canary")
    assert "scheduling.ClinicSetUp" in AppointmentReactions.binding_keys
    reactions = AppointmentReactions(reminders, reader=None)  # type: ignore[arg-type]
    await reactions.handle_batch([set_up])
    assert reminders.zone() == CANARY


def _sent(provider_id: str) -> Callable[[Reminder], None]:
    return lambda r: r.record_sent("email", provider_id, NOW, {"email": True}, META)


def test_a_group_of_sends_is_recorded_together_and_one_changed_meanwhile_keeps_what_the_store_says(
    reminders: Reminders,
) -> None:
    first, second = (
        reminders.send_now(SendReminder(patient_id=uuid4(), text=f"Aviso {n}"), META).id
        for n in range(2)
    )
    stale = reminders.due(first, NOW)
    fresh = reminders.due(second, NOW)
    assert stale is not None
    assert fresh is not None
    # Another worker (its lease run out) recorded the first one meanwhile.
    by_other = reminders.due(first, NOW)
    assert by_other is not None
    [other_version] = reminders.record_together([(by_other, _sent("<other@x>"))])

    versions = reminders.record_together([(stale, _sent("<ours@x>")), (fresh, _sent("<b@x>"))])

    assert versions == [other_version, fresh.version]
    assert reminders.load(first, Reminder).status is Status.SENT
    stored = reminders.recorder.select_events(first)
    assert len(stored) == 2, "the stale copy's send was recorded too"
    assert "<other@x>" in stored[-1].state.decode()
    assert reminders.load(second, Reminder).status is Status.SENT
    assert reminders.record_together([]) == []
