"""The waiting list: patients who would take an earlier slot, and what slot would suit them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.scheduling.calendar import WEEKDAYS
from domain.shared import InvalidValue, Meta, TransitionRefused, optional_text


@dataclass(frozen=True, slots=True)
class Wish:
    """What a waiting patient would accept."""

    appointment_type: str
    provider_id: UUID | None
    weekdays: tuple[str, ...]
    earliest: time
    latest: time
    until: date | None

    @classmethod
    def as_recorded(cls, recorded: Mapping[str, Any]) -> Wish:
        """The wish as `PatientWaitlisted` recorded it (plain values, as events travel)."""
        provider = recorded.get("provider_id")
        until = recorded.get("until")
        return cls(
            appointment_type=str(recorded["appointment_type"]),
            provider_id=UUID(str(provider)) if provider else None,
            weekdays=tuple(recorded["weekdays"]),
            earliest=time.fromisoformat(recorded["earliest"]),
            latest=time.fromisoformat(recorded["latest"]),
            until=date.fromisoformat(until) if isinstance(until, str) else until,
        )

    def fits(
        self, provider_id: UUID, start: datetime, end: datetime, minutes: int, zone: ZoneInfo
    ) -> bool:
        local_start, local_end = start.astimezone(zone), end.astimezone(zone)
        return (
            (self.provider_id is None or self.provider_id == provider_id)
            and WEEKDAYS[local_start.weekday()] in self.weekdays
            and self.earliest <= local_start.time()
            and local_end.time() <= self.latest
            and (end - start).total_seconds() >= minutes * 60
            and (self.until is None or local_start.date() <= self.until)
        )


class WaitlistEntry(Aggregate):
    """One patient waiting for an earlier appointment."""

    @classmethod
    def add(cls, patient_id: UUID, wish: Wish, note: str | None, meta: Meta) -> WaitlistEntry:
        unknown = set(wish.weekdays) - set(WEEKDAYS)
        if unknown or not wish.weekdays:
            raise InvalidValue("weekdays must be names like monday, tuesday", field="weekdays")
        if wish.latest <= wish.earliest:
            raise InvalidValue("the latest time must be after the earliest", field="latest")
        return cls(
            patient_id=patient_id,
            appointment_type=wish.appointment_type,
            provider_id=wish.provider_id,
            weekdays=list(_ordered(wish.weekdays)),
            earliest=wish.earliest.strftime("%H:%M"),
            latest=wish.latest.strftime("%H:%M"),
            until=wish.until,
            note=optional_text(note, "note", max_length=500, multiline=True),
            meta=meta,
        )

    @event("PatientWaitlisted")
    def __init__(
        self,
        patient_id: UUID,
        appointment_type: str,
        provider_id: UUID | None,
        weekdays: list[str],
        earliest: str,
        latest: str,
        until: date | None,
        note: str | None,
        meta: Meta,
    ) -> None:
        self.patient_id = patient_id
        self.active = True

    def remove(self, reason: str, meta: Meta) -> None:
        if not self.active:
            raise TransitionRefused("this patient is no longer on the waiting list")
        self._removed(
            reason=optional_text(reason, "reason", max_length=200) or "removed", meta=meta
        )

    @event("PatientLeftWaitlist")
    def _removed(self, reason: str, meta: Meta) -> None:
        self.active = False


def _ordered(days: Sequence[str]) -> list[str]:
    wanted = set(days)
    return [day.value for day in WEEKDAYS if day in wanted]
