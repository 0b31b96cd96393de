"""Appointments move through their lifecycle, and no diary ever holds two overlapping bookings."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from commands.scheduling import (
    AddClosure,
    AddOperatory,
    AddProvider,
    BookAppointment,
    Cancel,
    DefineAppointmentType,
    Reschedule,
    Scheduling,
    SetHours,
)
from domain.scheduling import Appointment, OutsideHours, SlotTaken, Status, diary_id
from domain.scheduling.calendar import WEEKDAYS
from domain.shared import DEFAULT_ZONE, InvalidValue, Meta, TransitionRefused

CLINIC_ZONE = ZoneInfo(DEFAULT_ZONE)

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
META = Meta("staff-1", "receptionist", "corr", "req")
MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=CLINIC_ZONE)


EVERY_DAY = {day: [["07:00", "22:00"]] for day in WEEKDAYS}


@pytest.fixture
def scheduling() -> Scheduling:
    app = Scheduling(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: NOW)
    app.set_opening_hours(SetHours(hours=EVERY_DAY), META)
    app.define_appointment_type(
        DefineAppointmentType(code="check-up", name="Check-up", minutes=30), META
    )
    return app


def new_provider(scheduling: Scheduling, hours: dict[str, list[list[str]]] | None = None) -> UUID:
    added = scheduling.add_provider(
        AddProvider(staff_id=uuid4(), name="Dra. Ruiz", kind="dentist"), META
    )
    scheduling.set_working_hours(added.id, SetHours(hours=hours or EVERY_DAY), META)
    return added.id


def new_chair(scheduling: Scheduling) -> UUID:
    created = scheduling.add_operatory(AddOperatory(name=f"Chair {uuid4().hex[:6]}"), META).created
    assert created is not None
    return created


def booking(
    scheduling: Scheduling,
    start: datetime = MONDAY_10,
    minutes: int = 30,
    *,
    patient: UUID | None = None,
    provider: UUID | None = None,
    chair: UUID | None = None,
) -> BookAppointment:
    return BookAppointment(
        patient_id=patient or uuid4(),
        provider_id=provider or new_provider(scheduling),
        operatory_id=chair or new_chair(scheduling),
        start=start,
        duration_minutes=minutes,
        appointment_type="check-up",
    )


def test_a_provider_cannot_be_booked_twice_at_overlapping_times(scheduling: Scheduling) -> None:
    dentist = new_provider(scheduling)
    scheduling.book(booking(scheduling, provider=dentist), META)
    with pytest.raises(SlotTaken, match="the provider is already booked"):
        scheduling.book(
            booking(scheduling, MONDAY_10 + timedelta(minutes=15), provider=dentist), META
        )


def test_a_chair_and_a_patient_are_protected_the_same_way(scheduling: Scheduling) -> None:
    chair, patient = new_chair(scheduling), uuid4()
    scheduling.book(booking(scheduling, chair=chair, patient=patient), META)
    with pytest.raises(SlotTaken, match="the operatory"):
        scheduling.book(booking(scheduling, chair=chair), META)
    with pytest.raises(SlotTaken, match="the patient"):
        scheduling.book(booking(scheduling, patient=patient), META)


def test_back_to_back_appointments_are_fine(scheduling: Scheduling) -> None:
    dentist = new_provider(scheduling)
    scheduling.book(booking(scheduling, provider=dentist), META)
    follow_up = scheduling.book(
        booking(scheduling, MONDAY_10 + timedelta(minutes=30), provider=dentist), META
    )
    assert follow_up.version == 1


def test_a_cancelled_appointment_frees_its_slot(scheduling: Scheduling) -> None:
    dentist = new_provider(scheduling)
    first = scheduling.book(booking(scheduling, provider=dentist), META)
    scheduling.cancel(first.id, Cancel(reason="flu", by_patient=True), META, None)
    assert scheduling.book(booking(scheduling, provider=dentist), META).version == 1


def test_a_no_show_frees_its_slot_once_the_time_has_come(scheduling: Scheduling) -> None:
    dentist = new_provider(scheduling)
    first = scheduling.book(booking(scheduling, provider=dentist), META)
    with pytest.raises(TransitionRefused, match="has not started"):
        scheduling.mark_no_show(first.id, META, None)
    scheduling.now = lambda: MONDAY_10 + timedelta(minutes=20)
    scheduling.mark_no_show(first.id, META, None)
    scheduling.now = lambda: NOW
    assert scheduling.book(booking(scheduling, provider=dentist), META).version == 1


def test_rescheduling_moves_the_reservation(scheduling: Scheduling) -> None:
    dentist = new_provider(scheduling)
    first = scheduling.book(booking(scheduling, provider=dentist), META)
    later = MONDAY_10 + timedelta(hours=2)
    scheduling.reschedule(first.id, Reschedule(start=later, duration_minutes=30), META, 1)
    assert scheduling.book(booking(scheduling, provider=dentist), META).version == 1
    with pytest.raises(SlotTaken):
        scheduling.book(booking(scheduling, later, provider=dentist), META)


def test_rescheduling_into_its_own_slot_overlap_is_allowed(scheduling: Scheduling) -> None:
    dentist = new_provider(scheduling)
    first = scheduling.book(booking(scheduling, provider=dentist, minutes=60), META)
    moved = MONDAY_10 + timedelta(minutes=30)
    written = scheduling.reschedule(
        first.id, Reschedule(start=moved, duration_minutes=60), META, None
    )
    appointment: Appointment = scheduling.repository.get(written.id)
    assert isinstance(appointment, Appointment)
    assert appointment.slot.start == moved.astimezone(UTC)


def test_the_lifecycle_runs_from_booking_to_completion(scheduling: Scheduling) -> None:
    written = scheduling.book(booking(scheduling), META)
    scheduling.confirm(written.id, META, 1)
    scheduling.now = lambda: MONDAY_10 - timedelta(hours=1)  # the patient arrives early
    scheduling.check_in(written.id, META, 2)
    done = scheduling.complete(written.id, META, 3)
    appointment: Appointment = scheduling.repository.get(done.id)
    assert isinstance(appointment, Appointment)
    assert appointment.status is Status.COMPLETED


def test_a_patient_checks_in_only_on_the_day_of_their_appointment(
    scheduling: Scheduling,
) -> None:
    written = scheduling.book(booking(scheduling), META)
    for days in (-7, -1, 1):
        moment = MONDAY_10 + timedelta(days=days)
        scheduling.now = lambda moment=moment: moment  # type: ignore[misc]
        with pytest.raises(TransitionRefused, match="on the day of their appointment"):
            scheduling.check_in(written.id, META, 1)
    scheduling.now = lambda: MONDAY_10.replace(hour=23, minute=59)
    scheduling.check_in(written.id, META, 1)


@pytest.mark.parametrize(
    ("steps", "refused", "reason"),
    [
        (["cancel"], "complete", "cannot complete an appointment that is cancelled"),
        (["cancel"], "confirm", "cannot confirm an appointment that is cancelled"),
        ([], "complete", "cannot complete an appointment that is booked"),
        (
            ["confirm", "check_in", "complete"],
            "cancel",
            "cannot cancel an appointment that is completed",
        ),
        (["confirm"], "confirm", "cannot confirm an appointment that is confirmed"),
    ],
)
def test_a_transition_that_makes_no_sense_is_refused_with_the_reason(
    scheduling: Scheduling, steps: list[str], refused: str, reason: str
) -> None:
    written = scheduling.book(booking(scheduling), META)
    scheduling.now = lambda: MONDAY_10  # on the day, so that the patient may arrive

    def do(step: str) -> None:
        if step == "cancel":
            scheduling.cancel(written.id, Cancel(reason="x"), META, None)
        else:
            getattr(scheduling, step)(written.id, META, None)

    for step in steps:
        do(step)
    with pytest.raises(TransitionRefused, match=reason):
        do(refused)


def test_a_cancellation_less_than_a_day_ahead_is_late(scheduling: Scheduling) -> None:
    written = scheduling.book(booking(scheduling), META)
    scheduling.now = lambda: MONDAY_10 - timedelta(hours=3)
    scheduling.cancel(written.id, Cancel(reason="car broke down", by_patient=True), META, None)
    events = scheduling.events.get(written.id)
    cancelled = [e for e in events if type(e).__name__ == "AppointmentCancelled"]
    assert [(e.late, e.by_patient) for e in cancelled] == [(True, True)]  # type: ignore[attr-defined]


def test_bookings_in_the_past_or_across_midnight_are_refused(scheduling: Scheduling) -> None:
    with pytest.raises(InvalidValue, match="in the past"):
        scheduling.book(booking(scheduling, NOW - timedelta(hours=1)), META)
    late_evening = datetime(2026, 11, 30, 23, 30, tzinfo=CLINIC_ZONE)
    emergency = booking(scheduling, late_evening, 60).model_copy(
        update={"override_reason": "emergency extraction"}
    )
    with pytest.raises(InvalidValue, match="same day"):
        scheduling.book(emergency, META, may_override=True)


def test_a_booking_outside_hours_is_refused_with_the_reason(scheduling: Scheduling) -> None:
    mornings = {"monday": [["09:00", "14:00"]]}
    dentist = new_provider(scheduling, hours=mornings)
    with pytest.raises(OutsideHours, match="outside the provider's working hours"):
        scheduling.book(booking(scheduling, MONDAY_10 + timedelta(hours=5), provider=dentist), META)
    scheduling.add_closure(
        AddClosure(first_day=MONDAY_10.date(), last_day=MONDAY_10.date(), reason="Training day"),
        META,
    )
    with pytest.raises(OutsideHours, match="closed on 2026-11-30: Training day"):
        scheduling.book(booking(scheduling, provider=dentist), META)


def test_only_an_override_with_a_reason_books_outside_hours_and_it_is_recorded(
    scheduling: Scheduling,
) -> None:
    dentist = new_provider(scheduling, hours={"monday": [["09:00", "14:00"]]})
    evening = MONDAY_10 + timedelta(hours=8)
    with pytest.raises(OutsideHours):
        scheduling.book(booking(scheduling, evening, provider=dentist), META, may_override=True)
    reasoned = booking(scheduling, evening, provider=dentist).model_copy(
        update={"override_reason": "patient in pain, dentist stays late"}
    )
    with pytest.raises(OutsideHours):
        scheduling.book(reasoned, META)  # a reason is not enough without the right to override
    written = scheduling.book(reasoned, META, may_override=True)
    (booked,) = scheduling.events.get(written.id)
    assert booked.override_reason == "patient in pain, dentist stays late"  # type: ignore[attr-defined]
    assert booked.overridden == ["outside the provider's working hours"]  # type: ignore[attr-defined]


def test_moving_to_another_provider_frees_the_first_and_takes_the_second(
    scheduling: Scheduling,
) -> None:
    first, second, chair = new_provider(scheduling), new_provider(scheduling), new_chair(scheduling)
    written = scheduling.book(booking(scheduling, provider=first, chair=chair), META)
    scheduling.reschedule(
        written.id, Reschedule(start=MONDAY_10, duration_minutes=30, provider_id=second), META, 1
    )
    assert scheduling.book(booking(scheduling, provider=first), META).version == 1
    with pytest.raises(SlotTaken, match="the provider"):
        scheduling.book(booking(scheduling, provider=second), META)
    with pytest.raises(SlotTaken, match="the operatory"):
        scheduling.book(booking(scheduling, chair=chair), META)


# Who caused a diary's changes (invariant 6)


def test_every_diary_event_records_who_booked_and_who_cancelled(scheduling: Scheduling) -> None:
    booker, canceller = (
        Meta("desk-1", "receptionist", "c1", "r1"),
        Meta("dr", "dentist", "c2", "r2"),
    )
    booked = scheduling.book(booking(scheduling), booker)
    scheduling.cancel(booked.id, Cancel(reason="flu"), canceller, None)

    appointment: Appointment = scheduling.repository.get(booked.id)
    recorded = [
        (type(event).__name__, getattr(event, "meta", None))
        for resource, resource_id, day in appointment.diaries(CLINIC_ZONE)
        for event in scheduling.repository.event_store.get(diary_id(resource, resource_id, day))
    ]
    assert (
        recorded
        == [
            ("DiaryOpened", booker),
            ("SlotReserved", booker),
            ("SlotReleased", canceller),
        ]
        * 3
    )


def test_a_diary_stored_before_its_events_carried_meta_still_loads(scheduling: Scheduling) -> None:
    booked = scheduling.book(booking(scheduling), META)
    appointment: Appointment = scheduling.repository.get(booked.id)
    resource, resource_id, day = appointment.diaries(CLINIC_ZONE)[0]
    stored = scheduling.recorder.select_events(diary_id(resource, resource_id, day))
    old_shape = []
    for event in stored:
        state = json.loads(event.state)
        state.pop("meta"), state.pop("class_version")
        old_shape.append(replace(event, state=json.dumps(state).encode()))
    mapped = [scheduling.mapper.to_domain_event(e) for e in old_shape]

    assert [getattr(e, "meta", None) for e in mapped] == [Meta.unrecorded(), Meta.unrecorded()]
    assert getattr(mapped[1], "appointment_id", None) == booked.id
