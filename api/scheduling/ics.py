"""A provider's appointments as an iCalendar feed (RFC 5545), for calendar apps to subscribe to.

Each appointment is one VEVENT whose UID never changes, so a moved appointment moves in the
calendar instead of doubling; its SEQUENCE is the appointment's version, which every change
raises. A cancelled one stays in the feed for a while as `STATUS:CANCELLED`, so calendars
that showed it remove it. Times are on the clinic's clock, with its VTIMEZONE. What a lost
phone would show of a patient is the type of visit, the chair and their initials: never a
name, never a note.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from domain.scheduling import Status

PRODUCT = "-//Sonrisa//Calendar feed//EN"
# How often we ask calendar apps to poll: well within the hourly limit per token.
REFRESH = timedelta(minutes=15)


def uid_of(appointment_id: str) -> str:
    return f"{appointment_id}@sonrisa"


def summary_of(appointment: dict[str, Any], types: dict[str, str], chairs: dict[str, str]) -> str:
    """The visit's type, the chair and the patient's initials: "Check-up · Chair 1 · M.G."."""
    kind = types.get(appointment["appointment_type"], appointment["appointment_type"])
    chair = chairs.get(appointment["operatory_id"], "")
    return " · ".join(part for part in (kind, chair, appointment["patient_initials"]) if part)


def calendar_of(
    name: str,
    appointments: list[dict[str, Any]],
    setup: dict[str, Any],
    zone: ZoneInfo,
    around: date,
) -> bytes:
    """The feed: `name` is the calendar's (the provider's); `setup` names the appointment
    types and chairs; the VTIMEZONE covers the years around `around`."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", str(zone))
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")  # Outlook's older spelling of the same
    calendar.add_component(
        Timezone.from_tzinfo(
            zone,
            tzid=str(zone),
            first_date=around - timedelta(days=366),
            last_date=around + timedelta(days=2 * 366),
        )
    )
    types = {t["code"]: t["name"] for t in setup.get("appointment_types", [])}
    chairs = {o["operatory_id"]: o["name"] for o in setup.get("operatories", [])}
    for appointment in appointments:
        calendar.add_component(_event(appointment, types, chairs, zone))
    text: bytes = calendar.to_ical()
    return text


def _event(
    appointment: dict[str, Any], types: dict[str, str], chairs: dict[str, str], zone: ZoneInfo
) -> Event:
    cancelled = appointment["status"] == Status.CANCELLED.value
    changed = datetime.fromisoformat(appointment["updated_at"]).astimezone(UTC)
    event = Event()
    event.add("uid", uid_of(appointment["appointment_id"]))
    event.add("sequence", appointment["version"])
    event.add("dtstamp", changed)
    event.add("last-modified", changed)
    event.add("dtstart", datetime.fromisoformat(appointment["start"]).astimezone(zone))
    event.add("dtend", datetime.fromisoformat(appointment["end"]).astimezone(zone))
    event.add("summary", summary_of(appointment, types, chairs))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    event.add("class", "PRIVATE")
    return event
