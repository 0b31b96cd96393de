"""When the clinic, its chairs and its providers can see patients: pure rules over time.

Opening hours and working hours are wall-clock times in the clinic's zone, so a
day when the clocks change keeps its 9:00-14:00; instants are compared in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from domain.scheduling.appointments import Slot
from domain.shared import InvalidValue

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Period:
    """A wall-clock span within one day, e.g. 09:00-14:00."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise InvalidValue(f"{self.opens:%H:%M}-{self.closes:%H:%M} ends before it starts")


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Periods per weekday (0 is Monday); a weekday without periods is closed."""

    days: tuple[tuple[Period, ...], ...] = ((),) * 7

    @classmethod
    def of(cls, by_day: Mapping[str, Sequence[Sequence[str]]]) -> WeeklyHours:
        unknown = set(by_day) - set(WEEKDAYS)
        if unknown:
            raise InvalidValue(f"unknown weekday(s): {', '.join(sorted(unknown))}")
        days = []
        for name in WEEKDAYS:
            periods = sorted(
                (
                    Period(time.fromisoformat(a), time.fromisoformat(b))
                    for a, b in by_day.get(name, ())
                ),
                key=lambda p: p.opens,
            )
            for before, after in pairwise(periods):
                if after.opens < before.closes:
                    raise InvalidValue(f"{name}: periods overlap")
            days.append(tuple(periods))
        return cls(tuple(days))

    def as_dict(self) -> dict[str, list[list[str]]]:
        return {
            WEEKDAYS[i]: [[p.opens.strftime("%H:%M"), p.closes.strftime("%H:%M")] for p in day]
            for i, day in enumerate(self.days)
            if day
        }

    def spans(self, day: date, zone: ZoneInfo) -> list[Slot]:
        """That day's periods as UTC instants (wall-clock times resolved in `zone`)."""
        return [
            Slot(
                datetime.combine(day, p.opens, zone).astimezone(ZoneInfo("UTC")),
                datetime.combine(day, p.closes, zone).astimezone(ZoneInfo("UTC")),
            )
            for p in self.days[day.weekday()]
        ]


@dataclass(frozen=True, slots=True)
class Closure:
    """Whole local days the clinic is shut (holidays, training days)."""

    first_day: date
    last_day: date
    reason: str

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True, slots=True)
class Absence:
    """A provider away for a span of instants (UTC)."""

    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class BookingRules:
    """Everything that decides whether a slot may be booked, except other bookings."""

    zone: ZoneInfo
    opening: WeeklyHours
    working: WeeklyHours
    closures: tuple[Closure, ...] = ()
    absences: tuple[Absence, ...] = field(default=())

    def violations(self, slot: Slot) -> list[str]:
        """Why the slot may not be booked; empty when it may."""
        day = slot.start.astimezone(self.zone).date()
        reasons = []
        for closure in self.closures:
            if closure.covers(day):
                reasons.append(f"the clinic is closed on {day.isoformat()}: {closure.reason}")
        if not _within(slot, self.opening.spans(day, self.zone)):
            reasons.append("outside the clinic's opening hours")
        if not _within(slot, self.working.spans(day, self.zone)):
            reasons.append("outside the provider's working hours")
        for absence in self.absences:
            if slot.overlaps(Slot(absence.start, absence.end)):
                reasons.append(f"the provider is away: {absence.reason}")
        return reasons


def _within(slot: Slot, spans: Iterable[Slot]) -> bool:
    return any(s.start <= slot.start and slot.end <= s.end for s in spans)


def local_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
