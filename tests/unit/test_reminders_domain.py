"""When reminders go out: 48 h and 2 h before on the clinic's clock, never at night, never in
the past, at a real local time across daylight saving; and what becomes of each reminder."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.reminders import (
    Backoff,
    Channel,
    Contact,
    Policy,
    QuietHours,
    RecallBook,
    Reminder,
    Skip,
    Status,
    choose_channel,
    real_local,
    recall_id,
    reminder_id,
    sms_segments,
)
from domain.reminders.reminder import ReminderPolicy
from domain.shared import InvalidValue, Meta, TransitionRefused

MADRID = ZoneInfo("Europe/Madrid")
CANARY = ZoneInfo("Atlantic/Canary")
META = Meta("worker", "system", "corr", "cause")
POLICY = Policy()
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def local(*parts: int, zone: ZoneInfo = MADRID) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc,arg-type]


def test_a_visit_gets_reminders_48_and_2_hours_before_on_the_clinics_clock() -> None:
    due = POLICY.schedule(local(2026, 12, 3, 11, 0), LONG_AGO, MADRID)
    assert due == {
        "before-2880m": local(2026, 12, 1, 11, 0),
        "before-120m": local(2026, 12, 3, 9, 0),
    }


def test_a_reminder_that_would_fall_at_night_goes_the_evening_before() -> None:
    due = POLICY.schedule(local(2026, 12, 3, 9, 30), LONG_AGO, MADRID)
    # 2 h before is 07:30, inside the quiet hours: the last minute before they began.
    assert due["before-120m"] == local(2026, 12, 2, 20, 59)
    # 48 h before a 22:30 visit is 22:30: moved to 20:59 that same evening.
    late = POLICY.schedule(local(2026, 12, 3, 22, 30), LONG_AGO, MADRID)
    assert late["before-2880m"] == local(2026, 12, 1, 20, 59)


def test_no_reminder_is_scheduled_in_the_past() -> None:
    start = local(2026, 12, 3, 11, 0)
    due = POLICY.schedule(start, local(2026, 12, 2, 12, 0), MADRID)
    assert list(due) == ["before-120m"]
    assert POLICY.schedule(start, local(2026, 12, 3, 10, 0), MADRID) == {}


def test_48_hours_before_is_the_same_wall_clock_time_across_the_autumn_change() -> None:
    # Clocks go back on Sunday 25 October 2026: 48 h on the wall clock are 49 real hours.
    start = local(2026, 10, 26, 10, 0)
    due = POLICY.schedule(start, LONG_AGO, MADRID)["before-2880m"]
    assert due == local(2026, 10, 24, 10, 0)
    assert start.astimezone(UTC) - due.astimezone(UTC) == timedelta(hours=49)


def test_a_reminder_due_in_the_hour_skipped_in_spring_goes_at_a_real_local_time() -> None:
    # Clocks jump from 02:00 to 03:00 on 29 March 2026; no quiet hours in this clinic.
    policy = Policy(offsets=(timedelta(hours=2),), quiet=QuietHours(time(0), time(0)))
    due = policy.schedule(local(2026, 3, 29, 4, 30), LONG_AGO, MADRID)["before-120m"]
    assert due.utcoffset() == timedelta(hours=2)
    assert (due.hour, due.minute) == (3, 30)
    assert due.astimezone(UTC).astimezone(MADRID) == due


def test_the_canary_islands_clinic_counts_on_its_own_clock() -> None:
    due = POLICY.schedule(local(2026, 12, 3, 9, 30, zone=CANARY), LONG_AGO, CANARY)
    assert due["before-120m"] == local(2026, 12, 2, 20, 59, zone=CANARY)


zones = st.sampled_from(["Europe/Madrid", "Atlantic/Canary", "America/New_York"])
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
offsets = st.lists(st.integers(1, 60 * 24 * 30), min_size=1, max_size=4, unique=True)
clock_times = st.times().map(lambda t: t.replace(second=0, microsecond=0))


@given(
    start=instants,
    now=instants,
    minutes=offsets,
    zone=zones,
    quiet=st.tuples(clock_times, clock_times),
)
def test_no_reminder_falls_in_quiet_hours_in_the_past_or_after_its_visit(
    start: datetime, now: datetime, minutes: list[int], zone: str, quiet: tuple[time, time]
) -> None:
    policy = Policy(offsets=tuple(timedelta(minutes=m) for m in minutes), quiet=QuietHours(*quiet))
    for when in policy.schedule(start, now, ZoneInfo(zone)).values():
        assert now < when < start
        assert not policy.quiet.holds(when.astimezone(ZoneInfo(zone)))
        assert when <= start - timedelta(minutes=min(minutes)) + timedelta(hours=1)


@given(
    naive=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31)),
    zone=zones,
)
def test_every_wall_clock_time_becomes_a_real_instant_no_earlier(
    naive: datetime, zone: str
) -> None:
    real = real_local(naive, ZoneInfo(zone))
    assert real.astimezone(UTC).astimezone(ZoneInfo(zone)) == real
    assert timedelta(0) <= real.replace(tzinfo=None) - naive <= timedelta(hours=1)


@given(attempt=st.integers(1, 50))
def test_retries_back_off_exponentially_up_to_a_limit(attempt: int) -> None:
    backoff = Backoff(first=timedelta(seconds=30), longest=timedelta(minutes=20), attempts=6)
    wait = backoff.after(attempt)
    if attempt >= 6:
        assert wait is None
    else:
        assert wait == min(timedelta(seconds=30) * 2 ** (attempt - 1), timedelta(minutes=20))
        if attempt > 1:
            previous = backoff.after(attempt - 1)
            assert previous is not None
            assert wait >= previous


def test_the_first_consented_reachable_channel_in_the_clinics_order_is_chosen() -> None:
    order = (Channel.EMAIL, Channel.SMS)
    both = Contact("ana@example.test", "+34600111222", "es", {"email": True, "sms": True})
    assert choose_channel(order, both) is Channel.EMAIL
    sms_only = Contact("ana@example.test", "+34600111222", "es", {"email": False, "sms": True})
    assert choose_channel(order, sms_only) is Channel.SMS
    assert choose_channel(order, Contact(consents={"email": False})) is Skip.NO_CONSENT
    assert choose_channel(order, Contact(consents={"email": True})) is Skip.NO_CONTACT
    assert choose_channel(order, None) is Skip.NO_CONTACT
    whatsapp = Contact(None, "+34600111222", "es", {"whatsapp": True})
    assert choose_channel(order, whatsapp) is Skip.NO_CONSENT


def test_a_policy_refuses_nonsense() -> None:
    with pytest.raises(InvalidValue):
        Policy(offsets=())
    with pytest.raises(InvalidValue):
        Policy(offsets=(timedelta(hours=-2),))
    with pytest.raises(InvalidValue):
        Policy(channels=(Channel.SMS, Channel.SMS))


def test_a_recall_comes_six_months_later_at_a_waking_hour() -> None:
    assert POLICY.recall_at(local(2026, 8, 31, 10, 0), MADRID) == local(2027, 2, 28, 10, 0)
    assert POLICY.recall_at(local(2026, 5, 4, 20, 45), MADRID) == local(2026, 11, 4, 20, 45)
    assert POLICY.recall_at(local(2026, 5, 4, 21, 15), MADRID) == local(2026, 11, 4, 20, 59)


def test_an_examination_or_a_cleaning_brings_a_recall_and_a_filling_does_not() -> None:
    assert POLICY.recalls("EXAM")
    assert POLICY.recalls(" clean ")
    assert not POLICY.recalls("FILL-1")
    assert not POLICY.recalls("check-up")  # an appointment type, not a procedure
    assert Policy(recall_procedures=frozenset({"RX-PAN"})).recalls("rx-pan")


def test_a_later_treatment_takes_over_the_patients_recall_and_an_earlier_one_does_not() -> None:
    book = RecallBook(patient_id=uuid4(), meta=META)
    first, later = uuid4(), uuid4()
    book.follow(first, local(2026, 3, 2, 10, 0), META)
    assert not book.supersedes(local(2026, 3, 2, 10, 0))  # the same visit's other procedure
    assert not book.supersedes(local(2026, 1, 5, 10, 0))
    with pytest.raises(TransitionRefused):
        book.follow(uuid4(), local(2026, 1, 5, 10, 0), META)
    book.follow(later, local(2026, 4, 6, 10, 0), META)
    book.drop(first, META)  # no longer the one followed: nothing changes
    assert book.treatment_id == later
    book.drop(later, META)
    assert book.treatment_id is None
    assert book.supersedes(local(2026, 1, 5, 10, 0))


def test_a_recall_is_found_by_the_treatment_that_brought_it() -> None:
    treatment = uuid4()
    assert recall_id(treatment) == recall_id(treatment)
    assert recall_id(treatment) != recall_id(uuid4())
    assert recall_id(treatment) != reminder_id(treatment, "recall")


def test_the_policy_survives_its_event() -> None:
    policy = Policy(
        offsets=(timedelta(hours=24),),
        quiet=QuietHours(time(20, 30), time(8, 0)),
        channels=(Channel.SMS,),
        clinic_name="Clínica Dental Sol",
        clinic_address="Calle Mayor 1, Madrid",
    )
    assert Policy.of(policy.as_dict()) == policy
    aggregate = ReminderPolicy(meta=META)
    aggregate.set(policy, META)
    assert aggregate.policy == policy


def _reminder() -> Reminder:
    appointment = uuid4()
    return Reminder(
        reminder_id=reminder_id(appointment, "before-120m"),
        patient_id=uuid4(),
        appointment_id=appointment,
        kind="appointment",
        label="before-120m",
        due_at=local(2026, 12, 3, 9, 0),
        appointment_start=local(2026, 12, 3, 11, 0),
        appointment_type="check-up",
        text=None,
        meta=META,
    )


def test_a_failed_send_is_retried_later_and_after_the_last_attempt_fails_for_good() -> None:
    reminder = _reminder()
    backoff = Backoff(first=timedelta(minutes=1), attempts=3)
    now = local(2026, 12, 3, 9, 0)
    reminder.record_failure("email", "smtp down", now, backoff, META)
    assert (reminder.status, reminder.due_at) == (Status.SCHEDULED, now + timedelta(minutes=1))
    reminder.record_failure("email", "smtp down", now, backoff, META)
    assert reminder.due_at == now + timedelta(minutes=2)
    reminder.record_failure("email", "smtp down", now, backoff, META)
    assert reminder.status is Status.FAILED
    with pytest.raises(TransitionRefused):
        reminder.record_sent("email", "id", now, {"email": True}, META)


def test_a_sent_reminder_is_sent_once_and_keeps_its_key_across_attempts() -> None:
    reminder = _reminder()
    key = reminder.idempotency_key
    reminder.record_failure("email", "timeout", local(2026, 12, 3, 9, 0), Backoff(), META)
    assert reminder.idempotency_key == key
    reminder.record_sent("email", "<m1@x>", local(2026, 12, 3, 9, 1), {"email": True}, META)
    assert reminder.status is Status.SENT
    with pytest.raises(TransitionRefused):
        reminder.record_sent("email", "<m2@x>", local(2026, 12, 3, 9, 2), {"email": True}, META)


def test_a_moved_appointment_re_arms_its_reminder_under_a_new_key() -> None:
    reminder = _reminder()
    reminder.record_sent("email", "<m1@x>", local(2026, 12, 3, 9, 0), {"email": True}, META)
    key = reminder.idempotency_key
    reminder.move(local(2026, 12, 10, 9, 0), local(2026, 12, 10, 11, 0), META)
    assert reminder.status is Status.SCHEDULED
    assert reminder.idempotency_key != key


def test_a_cancelled_reminder_stays_cancelled() -> None:
    reminder = _reminder()
    reminder.cancel("appointment cancelled", META)
    reminder.move(local(2026, 12, 10, 9, 0), local(2026, 12, 10, 11, 0), META)
    assert reminder.status is Status.CANCELLED
    assert not reminder.is_due(local(2027, 1, 1, 0, 0))


def test_an_sms_is_counted_in_segments_and_one_accent_makes_it_ucs2() -> None:
    assert sms_segments("Mañana ¿viene? ¡Gracias! é ü Ñ") == 1
    assert sms_segments("x" * 160) == 1
    assert sms_segments("x" * 161) == 2
    assert sms_segments("x" * 306) == 2
    assert sms_segments("€" * 80) == 1, "an extension character takes two septets"
    assert sms_segments("€" * 81) == 2
    assert sms_segments("a" * 69 + "á") == 1, "one á: UCS-2, 70 to a segment"
    assert sms_segments("a" * 70 + "á") == 2
