"""When the clinic, its chairs and its providers can see patients: pure rules over time.

Opening hours and working hours are wall-clock times in the clinic's zone, so a
day when the clocks change keeps its 9:00-14:00; instants are compared in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from domain.scheduling.appointments import Slot
from domain.shared import InvalidValue


class Weekday(StrEnum):
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


WEEKDAYS: tuple[Weekday, ...] = tuple(Weekday)  # in `date.weekday()` order: 0 is Monday
WORKING_WEEK: tuple[Weekday, ...] = WEEKDAYS[:5]


@dataclass(frozen=True, slots=True)
class Period:
    """A wall-clock span within one day, e.g. 09:00-14:00."""

    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.closes <= self.opens:
            raise InvalidValue(f"{self.opens:%H:%M}-{self.closes:%H:%M} ends before it starts")


def _hour(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a time of day like 08:30") from None


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
                (Period(_hour(a), _hour(b)) for a, b in by_day.get(name, ())),
                key=lambda p: p.opens,
            )
            for before, after in pairwise(periods):
                if after.opens < before.closes:
                    raise InvalidValue(f"{name}: periods overlap")
            days.append(tuple(periods))
        return cls(tuple(days))

    def as_dict(self) -> dict[str, list[list[str]]]:
        return {
            WEEKDAYS[i].value: [
                [p.opens.strftime("%H:%M"), p.closes.strftime("%H:%M")] for p in day
            ]
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

    @classmethod
    def as_recorded(cls, recorded: Mapping[str, Any]) -> Closure:
        """The closure as `ClosureAdded` recorded it."""
        return cls(
            _date(recorded["first_day"]), _date(recorded["last_day"]), str(recorded["reason"])
        )

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


@dataclass(frozen=True, slots=True)
class Absence:
    """A provider away for a span of instants (UTC)."""

    start: datetime
    end: datetime
    reason: str

    @classmethod
    def as_recorded(cls, recorded: Mapping[str, Any]) -> Absence:
        """The absence as `AbsenceRecorded` recorded it."""
        return cls(_instant(recorded["start"]), _instant(recorded["end"]), str(recorded["reason"]))


@dataclass(frozen=True, slots=True)
class BookingRules:
    """Everything that decides whether a slot may be booked, except other bookings."""

    zone: ZoneInfo
    opening: WeeklyHours
    working: WeeklyHours
    closures: tuple[Closure, ...] = ()
    absences: tuple[Absence, ...] = field(default=())

    @classmethod
    def as_recorded(
        cls,
        zone: ZoneInfo,
        opening: Mapping[str, Sequence[Sequence[str]]],
        working: Mapping[str, Sequence[Sequence[str]]],
        closures: Iterable[Mapping[str, Any]],
        absences: Iterable[Mapping[str, Any]],
    ) -> BookingRules:
        """The rules from the clinic's and a provider's recorded hours, closures and absences."""
        return cls(
            zone=zone,
            opening=WeeklyHours.of(opening),
            working=WeeklyHours.of(working),
            closures=tuple(Closure.as_recorded(c) for c in closures),
            absences=tuple(Absence.as_recorded(a) for a in absences),
        )

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


def _date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _instant(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def local_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
