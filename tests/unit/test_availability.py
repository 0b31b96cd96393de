"""The clinic offers every quarter hour a provider could still be booked into, and no other."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.scheduling import Slot
from domain.scheduling.availability import free_slots
from domain.scheduling.calendar import WEEKDAYS, Absence, BookingRules, Closure, Period, WeeklyHours
from domain.shared import InvalidValue

MADRID = ZoneInfo("Europe/Madrid")
UTC = ZoneInfo("UTC")
MONDAY = date(2026, 11, 30)
SPRING_FORWARD = date(2026, 3, 29)
AUTUMN_BACK = date(2026, 10, 25)
MORNINGS = {day.value: [("09:00", "14:00")] for day in WEEKDAYS[:5]}
SPLIT_SHIFT = {day.value: [("09:00", "14:00"), ("16:00", "20:00")] for day in WEEKDAYS[:5]}


def at(day: date, wall: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(wall), MADRID)


def booked(day: date, wall: str, minutes: int) -> Slot:
    return Slot.of(at(day, wall), minutes)


def clinic(
    opening: dict[str, list[tuple[str, str]]] = MORNINGS,
    working: dict[str, list[tuple[str, str]]] = MORNINGS,
    closures: tuple[Closure, ...] = (),
    absences: tuple[Absence, ...] = (),
) -> BookingRules:
    return BookingRules(
        zone=MADRID,
        opening=WeeklyHours.of(opening),
        working=WeeklyHours.of(working),
        closures=closures,
        absences=absences,
    )


def offered(
    rules: BookingRules, day: date, minutes: int = 30, busy: Sequence[Slot] = ()
) -> list[str]:
    """The wall-clock starts offered on one local day."""
    slots = free_slots(
        rules, busy, timedelta(minutes=minutes), at(day, "00:00"), at(day + timedelta(1), "00:00")
    )
    return [f"{slot.start.astimezone(MADRID):%H:%M}" for slot in slots]


def quarters(first: str, last: str) -> list[str]:
    start, end = (datetime.combine(MONDAY, time.fromisoformat(t)) for t in (first, last))
    count = (end - start) // timedelta(minutes=15) + 1
    return [f"{start + n * timedelta(minutes=15):%H:%M}" for n in range(count)]


def test_a_free_morning_is_offered_every_quarter_hour() -> None:
    assert offered(clinic(), MONDAY) == quarters("09:00", "13:30")


def test_every_offered_slot_lasts_the_requested_duration() -> None:
    slots = free_slots(
        clinic(), [], timedelta(minutes=45), at(MONDAY, "00:00"), at(MONDAY, "23:00")
    )
    assert {slot.end - slot.start for slot in slots} == {timedelta(minutes=45)}


def test_a_booked_hour_is_not_offered() -> None:
    starts = offered(clinic(), MONDAY, busy=[booked(MONDAY, "10:00", 60)])
    assert not {"09:45", "10:00", "10:15", "10:30", "10:45"} & set(starts)


def test_back_to_back_slots_are_offered_around_a_booking() -> None:
    starts = offered(clinic(), MONDAY, busy=[booked(MONDAY, "10:00", 60)])
    assert {"09:30", "11:00"} <= set(starts)


def test_a_chair_booking_blocks_as_much_as_a_provider_booking() -> None:
    provider, chair = booked(MONDAY, "09:00", 60), booked(MONDAY, "11:00", 180)
    assert offered(clinic(), MONDAY, busy=[provider, chair]) == quarters("10:00", "10:30")


def test_nothing_is_offered_on_a_closure() -> None:
    holiday = Closure(MONDAY, MONDAY, "San Andrés")
    assert offered(clinic(closures=(holiday,)), MONDAY) == []


def test_nothing_is_offered_outside_working_hours() -> None:
    rules = clinic(working={"monday": [("10:00", "12:00")]})
    assert offered(rules, MONDAY) == quarters("10:00", "11:30")


def test_nothing_is_offered_outside_opening_hours() -> None:
    rules = clinic(opening={"monday": [("11:00", "13:00")]}, working=SPLIT_SHIFT)
    assert offered(rules, MONDAY) == quarters("11:00", "12:30")


def test_an_absence_blocks_its_slots() -> None:
    dentist_course = Absence(at(MONDAY, "09:00"), at(MONDAY, "12:10"), "course")
    assert offered(clinic(absences=(dentist_course,)), MONDAY) == quarters("12:15", "13:30")


def test_a_slot_must_fit_the_whole_duration_before_closing() -> None:
    assert offered(clinic(), MONDAY, minutes=90)[-1] == "12:30"


def test_a_slot_never_runs_through_the_lunch_break() -> None:
    rules = clinic(opening=SPLIT_SHIFT, working=SPLIT_SHIFT)
    assert offered(rules, MONDAY, minutes=60) == quarters("09:00", "13:00") + quarters(
        "16:00", "19:00"
    )


def test_only_slots_inside_the_search_window_are_offered() -> None:
    slots = free_slots(
        clinic(), [], timedelta(minutes=30), at(MONDAY, "10:07"), at(MONDAY, "11:30")
    )
    assert [f"{s.start.astimezone(MADRID):%H:%M}" for s in slots] == quarters("10:15", "11:00")


def test_the_search_spans_several_days_in_order() -> None:
    slots = free_slots(
        clinic(),
        [],
        timedelta(minutes=300),
        at(MONDAY, "00:00"),
        at(MONDAY, "00:00") + timedelta(7),
    )
    assert [slot.start.astimezone(MADRID).date().day for slot in slots] == [30, 1, 2, 3, 4]


def test_spring_forward_day_keeps_its_wall_clock_hours() -> None:
    night = {"sunday": [("01:00", "04:00")]}
    rules = clinic(opening=night, working=night)
    assert offered(rules, SPRING_FORWARD) == quarters("01:00", "01:45") + quarters("03:00", "03:30")


def test_autumn_back_day_offers_the_repeated_hour_only_once() -> None:
    night = {"sunday": [("01:00", "04:00")]}
    slots = free_slots(
        clinic(opening=night, working=night),
        [],
        timedelta(minutes=30),
        at(AUTUMN_BACK, "00:00"),
        at(AUTUMN_BACK, "23:00"),
    )
    assert all(slot.start.astimezone(MADRID).fold == 0 for slot in slots)
    assert [f"{s.start.astimezone(MADRID):%H:%M}" for s in slots] == quarters("01:00", "03:30")


# A brute-force oracle: every minute of the window, asked of the rules one by one.

ANCHORS = [
    date(2026, 3, 26),
    date(2026, 3, 28),
    date(2026, 3, 29),
    date(2026, 10, 22),
    date(2026, 10, 24),
    date(2026, 10, 25),
    date(2026, 1, 12),
    date(2026, 6, 17),
    MONDAY,
]
QUARTER = timedelta(minutes=15)


def oracle(
    rules: BookingRules,
    busy: Sequence[Slot],
    minutes: int,
    start: datetime,
    end: datetime,
    step: int,
) -> list[Slot]:
    found, instant = [], start.astimezone(UTC)
    while instant + timedelta(minutes=minutes) <= end:
        local = instant.astimezone(MADRID)
        if local.fold == 0 and (local.hour * 60 + local.minute) % step == 0:
            slot = Slot.of(instant, minutes)
            if not rules.violations(slot) and not any(slot.overlaps(b) for b in busy):
                found.append(slot)
        instant += timedelta(minutes=1)
    return found


TYPICAL_DAYS = [
    (Period(time(9), time(14)), Period(time(16), time(20))),
    (Period(time(1), time(4)),),
    (Period(time(0), time(23, 45)),),
    (Period(time(1, 30), time(2, 30)), Period(time(2, 30), time(3, 15))),
]


@st.composite
def random_day(draw: st.DrawFn) -> tuple[Period, ...]:
    """Wall-clock periods on quarter hours, often starting or ending in the night."""
    quarter = st.one_of(st.integers(0, 95), st.sampled_from([0, 4, 6, 8, 9, 10, 12, 14, 16]))
    marks = sorted(draw(st.sets(quarter, max_size=6)))
    open_between = draw(st.lists(st.booleans(), min_size=len(marks), max_size=len(marks)))
    return tuple(
        Period(*(time(q // 4, q % 4 * 15) for q in (a, b)))
        for a, b, is_open in zip(marks, marks[1:], open_between, strict=False)
        if is_open
    )


def weekly_hours() -> st.SearchStrategy[WeeklyHours]:
    day = st.one_of(st.sampled_from(TYPICAL_DAYS), random_day())
    return st.tuples(*[day] * 7).map(WeeklyHours)


@st.composite
def spans(draw: st.DrawFn, start: datetime, days: int, longest: int) -> Slot:
    offset = draw(st.integers(0, days * 24 * 12)) * timedelta(minutes=5)
    return Slot.of(start + offset, draw(st.integers(1, longest // 5)) * 5)


@st.composite
def searches(
    draw: st.DrawFn,
) -> tuple[BookingRules, list[Slot], int, datetime, datetime, int]:
    first = draw(
        st.one_of(st.sampled_from(ANCHORS), st.dates(date(2026, 1, 1), date(2026, 12, 31)))
    )
    days = draw(st.integers(1, 10))
    start = at(first, "00:00").astimezone(UTC) + draw(st.integers(0, 96)) * QUARTER
    end = start + timedelta(days=days) - draw(st.integers(0, 48)) * QUARTER
    closures = draw(st.lists(st.integers(-1, days), max_size=2))
    absences = draw(st.lists(spans(start, days, longest=300), max_size=3))
    opening = draw(weekly_hours())
    rules = BookingRules(
        zone=MADRID,
        opening=opening,
        working=draw(st.one_of(st.just(opening), weekly_hours())),
        closures=tuple(
            Closure(first + timedelta(n), first + timedelta(n + 1), "") for n in closures
        ),
        absences=tuple(Absence(a.start, a.end, "away") for a in absences),
    )
    busy = draw(st.lists(spans(start, days, longest=120), max_size=30))
    minutes = draw(st.sampled_from([15, 30, 45, 60, 90]))
    step = draw(st.sampled_from([15, 15, 15, 20, 30, 45]))
    return rules, busy, minutes, start, end, step


@settings(max_examples=150, deadline=None)
@given(searches())
def test_availability_equals_a_brute_force_oracle(
    search: tuple[BookingRules, list[Slot], int, datetime, datetime, int],
) -> None:
    rules, busy, minutes, start, end, step = search
    found = free_slots(
        rules, busy, timedelta(minutes=minutes), start, end, step=timedelta(minutes=step)
    )
    assert found == oracle(rules, busy, minutes, start, end, step)


@pytest.mark.parametrize("hour", ["", "25:00", "9h"])
def test_an_opening_hour_that_is_not_a_time_of_day_is_invalid_data(hour: str) -> None:
    with pytest.raises(InvalidValue, match="not a time of day"):
        WeeklyHours.of({"monday": [[hour, "14:00"]]})
