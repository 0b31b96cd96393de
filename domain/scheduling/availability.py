"""Which slots a provider can still be booked into; pure, and equal to asking the rules each time.

A slot is offered when it starts on a wall-clock step of the clinic's day (09:00, 09:15, ...),
lies within the search window, breaks none of the `BookingRules` and overlaps no existing
booking. Instead of testing every candidate against the rules, each local day's opening and
working spans are intersected once and the bookings and absences swept out of them.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.scheduling.appointments import LONGEST_APPOINTMENT, Slot
from domain.scheduling.calendar import BookingRules, local_days
from domain.shared import InvalidValue

UTC = ZoneInfo("UTC")
ONE_DAY = timedelta(days=1)


def free_slots(
    rules: BookingRules,
    busy: Sequence[Slot],
    duration: timedelta,
    window_start: datetime,
    window_end: datetime,
    step: timedelta = timedelta(minutes=15),
) -> list[Slot]:
    """Every bookable slot of `duration` in [window_start, window_end), sorted by start.

    `busy` holds the live bookings of the provider and of the operatory.
    """
    _require_valid(duration, step, window_start, window_end)
    blocked = _merged(busy, rules)
    found: dict[datetime, Slot] = {}
    for day in local_days(window_start, window_end, rules.zone):
        for span in _bookable_spans(rules, day, window_start, window_end):
            for gap in _gaps(span, blocked):
                for start in _starts(gap.start, gap.end - duration, rules.zone, step):
                    found[start] = Slot(start, start + duration)
    return [found[start] for start in sorted(found)]


def _require_valid(
    duration: timedelta, step: timedelta, window_start: datetime, window_end: datetime
) -> None:
    if not timedelta(0) < duration <= LONGEST_APPOINTMENT:
        raise InvalidValue("an appointment lasts more than 0 and at most 8 hours", field="duration")
    if step <= timedelta(0):
        raise InvalidValue("the step between slots must be positive", field="step")
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise InvalidValue("the search window must include its time zone", field="start")


def _bookable_spans(
    rules: BookingRules, day: date, window_start: datetime, window_end: datetime
) -> Iterator[Slot]:
    """The day's open-and-working spans, cut to the window; nothing on a closure."""
    if any(closure.covers(day) for closure in rules.closures):
        return
    for opening in rules.opening.spans(day, rules.zone):
        for working in rules.working.spans(day, rules.zone):
            start = max(opening.start, working.start, window_start)
            end = min(opening.end, working.end, window_end)
            if start < end:
                yield Slot(start.astimezone(UTC), end.astimezone(UTC))


class _Blocked:
    """Bookings and absences merged into disjoint spans, sorted, so a day can bisect into them."""

    def __init__(self, spans: list[Slot]) -> None:
        self.spans = spans
        self.ends = [span.end for span in spans]

    def within(self, span: Slot) -> Iterator[Slot]:
        index = bisect_right(self.ends, span.start)
        while index < len(self.spans) and self.spans[index].start < span.end:
            yield self.spans[index]
            index += 1


def _merged(busy: Iterable[Slot], rules: BookingRules) -> _Blocked:
    away = (Slot(absence.start, absence.end) for absence in rules.absences)
    merged: list[Slot] = []
    for slot in sorted([*busy, *away], key=lambda s: s.start):
        if slot.end < slot.start:
            raise InvalidValue("a booking or absence ends before it starts", field="end")
        if merged and slot.start <= merged[-1].end:
            merged[-1] = Slot(merged[-1].start, max(merged[-1].end, slot.end))
        else:
            merged.append(slot)
    return _Blocked(merged)


def _gaps(span: Slot, blocked: _Blocked) -> Iterator[Slot]:
    """The parts of `span` that no booking or absence touches; an empty block still splits it."""
    cursor = span.start
    for block in blocked.within(span):
        if cursor < block.start:
            yield Slot(cursor, block.start)
        cursor = max(cursor, block.end)
    if cursor < span.end:
        yield Slot(cursor, span.end)


def _starts(
    earliest: datetime, latest: datetime, zone: ZoneInfo, step: timedelta
) -> Iterator[datetime]:
    """Instants in [earliest, latest] that are a whole number of steps after local midnight.

    Wall-clock times skipped by the spring change do not exist and are not offered; of
    the hour repeated in autumn only the first occurrence is.
    """
    if latest < earliest:
        return
    local = earliest.astimezone(zone).replace(tzinfo=None)
    midnight = datetime.combine(local.date(), time())
    steps = -((midnight - local) // step)
    wall = midnight + steps * step
    while wall - midnight < ONE_DAY:
        instant = wall.replace(tzinfo=zone).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            if instant > latest:
                return
            if instant >= earliest:
                yield instant
        wall += step
