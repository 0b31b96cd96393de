"""A commit whose answer was lost is settled by reading the store: a write that is in the
store is never reported as failed, and one that is not is never reported as done."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from commands.base import (
    REQUEST_KEY,
    AlreadyExists,
    ClinicApplication,
    CommitUnknown,
    StaleVersion,
    StoreUnavailable,
)
from commands.identity import Identity, RegisterStaff
from commands.patients import Patients, RaiseAlert, RegisterPatient
from commands.reminders import Reminders
from domain.identity import StaffMember
from domain.patients import Patient
from domain.reminders import Ending, Reminder, Status, reminder_id
from domain.shared import Meta

META = Meta("desk-1", "receptionist", "corr", "req")
ANA = RegisterPatient(
    given_name="Ana", family_name="García", birth_date=date(1980, 2, 3), sex="female"
)


@pytest.fixture
def patients() -> Patients:
    return Patients(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def _lose_the_answer(
    app: ClinicApplication, after_commit: Callable[[], Exception], times: int = 1
) -> list[int]:
    """The next `times` commits reach the store, then the client sees `after_commit()`, as
    when the connection drops between the server's commit and its reply."""
    real = app.recorder.insert_events
    calls = [0]

    def insert_events(events: Sequence[Any], **kwargs: Any) -> Any:
        calls[0] += 1
        result = real(events, **kwargs)
        if calls[0] <= times:
            raise after_commit()
        return result

    app.recorder.insert_events = insert_events  # type: ignore[method-assign,assignment]
    return calls


def test_a_registration_whose_answer_was_lost_is_reported_as_done(patients: Patients) -> None:
    _lose_the_answer(patients, lambda: OperationalError("server closed the connection"))

    written = patients.register(ANA, META)

    stored: Patient = patients.repository.get(written.id)
    assert (written.version, stored.demographics.given_name) == (1, "Ana")


def test_the_drivers_retry_meeting_our_own_commit_is_not_a_conflict(patients: Patients) -> None:
    patient_id = patients.register(ANA, META).id
    # eventsourcing retries a commit on a connection error; its second try then meets the
    # first, which had committed: an IntegrityError against our very own events.
    _lose_the_answer(patients, lambda: IntegrityError("duplicate key (retried commit)"))

    written = patients.raise_alert(
        patient_id, RaiseAlert(code="latex", description="Latex"), META, 1
    )

    assert written.version == 2
    assert len(patients.repository.get(patient_id).alerts) == 1


def test_a_real_conflict_with_another_writer_is_still_a_conflict(patients: Patients) -> None:
    patient_id = patients.register(ANA, META).id

    def someone_else_first(patient: Patient) -> None:
        other: Patient = patients.repository.get(patient_id)
        other.raise_alert(code="latex", description="Latex", severity="high", meta=META)
        patients.save(other)
        patient.raise_alert(code="iodine", description="Iodine", severity="high", meta=META)

    with pytest.raises(StaleVersion):
        patients.change(patient_id, Patient, someone_else_first)


def test_a_commit_that_never_reached_the_store_is_reported_as_unavailable(
    patients: Patients,
) -> None:
    def never(events: Sequence[Any], **kwargs: Any) -> Any:
        raise OperationalError("could not connect to server")

    patients.recorder.insert_events = never  # type: ignore[method-assign,assignment]

    with pytest.raises(StoreUnavailable, match="nothing was saved"):
        patients.register(ANA, META)


def test_a_commit_that_cannot_be_confirmed_says_its_outcome_is_unknown(
    patients: Patients,
) -> None:
    """The answer to the commit was lost and the store then could not be read: the commit
    may have landed. That is not "nothing was saved", which a client may safely retry."""
    _lose_the_answer(patients, lambda: OperationalError("server closed the connection"))

    def unreadable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("could not connect to server")

    patients.recorder.select_events = unreadable  # type: ignore[method-assign]

    with pytest.raises(CommitUnknown, match="may or may not be saved") as raised:
        patients.register(ANA, META)
    assert "nothing was saved" not in str(raised.value)


def test_a_request_run_again_after_a_crash_answers_as_the_first_and_writes_nothing(
    patients: Patients,
) -> None:
    """The process that ran a keyed request died after committing, before answering; the
    client's retry runs the request again and must find what the first run wrote."""
    carrying = REQUEST_KEY.set(("desk-1", "key-from-the-web-app"))
    try:
        first = patients.register(ANA, META)
        again = patients.register(ANA, META)
    finally:
        REQUEST_KEY.reset(carrying)

    assert again == first
    registered = [
        e
        for e in patients.recorder.select_notifications(start=1, limit=100)
        if e.topic.endswith("PatientRegistered")
    ]
    assert len(registered) == 1


def test_without_a_key_two_registrations_are_two_patients(patients: Patients) -> None:
    assert patients.register(ANA, META).id != patients.register(ANA, META).id


# Reminders and staff accounts save through the same unit of work: settled the same way.

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
WORKER = Meta("reminders-worker", "system", "corr", "event")


@pytest.fixture
def reminders() -> Reminders:
    return Reminders(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: NOW)


@pytest.fixture
def identity() -> Identity:
    return Identity(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def _ana(email: str = "ana@clinica.es") -> RegisterStaff:
    return RegisterStaff(
        name="Ana", email=email, roles=["dentist"], password="dientes-sanos-cada-dia"
    )


def test_reminders_scheduled_by_a_booking_whose_answer_was_lost_are_scheduled_once(
    reminders: Reminders,
) -> None:
    appointment = uuid4()
    _lose_the_answer(reminders, lambda: OperationalError("server closed the connection"))

    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, WORKER)
    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, WORKER)  # redelivered

    plan = reminders.plan_of(appointment)
    assert plan is not None
    assert reminders.recorder.max_notification_id() == 1 + len(plan.labels)


def test_a_cancellation_whose_retried_commit_meets_itself_is_not_lost(
    reminders: Reminders,
) -> None:
    appointment = uuid4()
    reminders.on_booked(appointment, uuid4(), START, "check-up", 1, WORKER)
    _lose_the_answer(reminders, lambda: IntegrityError("duplicate key (retried commit)"))

    reminders.on_ended(appointment, Ending.CANCELLED, NOW, 2, WORKER)

    plan = reminders.plan_of(appointment)
    assert plan is not None
    assert plan.ended
    cancelled = {
        reminders.load(reminder_id(appointment, label), Reminder).status for label in plan.labels
    }
    assert cancelled == {Status.CANCELLED}


def test_a_reaction_that_never_reached_the_store_is_reported_as_unavailable(
    reminders: Reminders,
) -> None:
    def never(events: Sequence[Any], **kwargs: Any) -> Any:
        raise OperationalError("could not connect to server")

    reminders.recorder.insert_events = never  # type: ignore[method-assign,assignment]

    with pytest.raises(StoreUnavailable, match="nothing was saved"):
        reminders.on_booked(uuid4(), uuid4(), START, "check-up", 1, WORKER)


def test_a_staff_registration_whose_answer_was_lost_is_reported_as_done(
    identity: Identity,
) -> None:
    _lose_the_answer(identity, lambda: OperationalError("server closed the connection"))

    written = identity.register(_ana(), META)

    stored: StaffMember = identity.repository.get(written.id)
    assert (stored.email, identity.authenticate("ana@clinica.es", "dientes-sanos-cada-dia")) == (
        "ana@clinica.es",
        stored,
    )


def test_the_drivers_retry_meeting_our_own_registration_is_not_a_taken_email(
    identity: Identity,
) -> None:
    _lose_the_answer(identity, lambda: IntegrityError("duplicate key (retried commit)"))

    written = identity.register(_ana(), META)

    assert identity.staff(written.id).email == "ana@clinica.es"


def test_an_email_another_registration_took_first_is_still_taken(identity: Identity) -> None:
    identity.register(_ana(), META)

    with pytest.raises(AlreadyExists):
        identity.register(_ana("  ANA@clinica.es"), META)
