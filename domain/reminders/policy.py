"""When reminders go out, on which channel, and how often a failed send is tried again.

Pure time arithmetic in the clinic's zone. A reminder "48 hours before" a 10:00 visit goes
at 10:00 two days earlier on the clinic's wall clock, whatever daylight saving did in
between; a wall-clock time that does not exist (the hour skipped in spring) becomes the
real local time it would have been, and nothing is sent in quiet hours: a reminder that
would fall in them goes earlier, to the last minute before they begin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from domain.shared import InvalidValue

MINUTE = timedelta(minutes=1)
LONGEST_OFFSET = timedelta(days=30)
# The treatments catalogue's codes for an examination and for scaling and cleaning.
RECALL_PROCEDURES = frozenset({"EXAM", "CLEAN"})


class Channel(StrEnum):
    """How a reminder reaches a patient; the names the patients' consents use."""

    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class Kind(StrEnum):
    """What a reminder is about."""

    APPOINTMENT = "appointment"  # before a booked visit, with confirm and cancel links
    RECALL = "recall"  # months after an examination or cleaning: an invitation to book
    MESSAGE = "message"  # a short free text staff send now


def real_local(naive: datetime, zone: ZoneInfo) -> datetime:
    """The wall-clock time `naive` in `zone` as a real instant. In the hour skipped in spring
    the clock reads the same time one hour later (02:30 becomes 03:30); in the hour repeated
    in autumn, the first of the two."""
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily span [start, end) on the clinic's clock; it may wrap past midnight. Equal
    start and end mean no quiet hours."""

    start: time = time(21, 0)
    end: time = time(9, 0)

    def holds(self, moment: datetime) -> bool:
        clock = moment.time().replace(second=0, microsecond=0, tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end

    def before(self, local: datetime, zone: ZoneInfo) -> datetime:
        """The last minute before the quiet hours that hold `local` begin."""
        clock = local.time().replace(tzinfo=None)
        day: date = local.date()
        if self.start > self.end and clock < self.end:
            day -= timedelta(days=1)  # after midnight: the quiet hours began the evening before
        moment = real_local(datetime.combine(day, self.start), zone) - MINUTE
        # Quiet hours that begin inside a skipped hour begin when the clock jumps.
        for _ in range(180):
            if not self.holds(moment.astimezone(zone)):
                break
            moment -= MINUTE
        return moment.astimezone(zone)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: the n-th failure waits `first * 2**(n-1)`, at most `longest`;
    after `attempts` failures the reminder has failed for good."""

    first: timedelta = timedelta(minutes=1)
    longest: timedelta = timedelta(hours=1)
    attempts: int = 6

    def after(self, attempt: int) -> timedelta | None:
        """How long to wait after failed attempt number `attempt` (1-based); None: give up."""
        if attempt >= self.attempts:
            return None
        wait: timedelta = self.first * 2 ** min(attempt - 1, 30)
        return min(wait, self.longest)


@dataclass(frozen=True, slots=True)
class Policy:
    """The clinic's reminder configuration, set by an admin. Its times are reckoned on the
    clinic's clock, in the zone the methods are given: scheduling's clinic set-up names it."""

    offsets: tuple[timedelta, ...] = (timedelta(hours=48), timedelta(hours=2))
    quiet: QuietHours = field(default_factory=QuietHours)
    channels: tuple[Channel, ...] = (Channel.EMAIL, Channel.SMS)  # in order of preference
    recall_after_months: int = 6
    recall_procedures: frozenset[str] = RECALL_PROCEDURES  # catalogue codes, upper case
    clinic_name: str = "Sonrisa"
    clinic_address: str = ""

    def __post_init__(self) -> None:
        if not self.offsets or len(set(self.offsets)) != len(self.offsets):
            raise InvalidValue("give one or more different offsets", field="offsets")
        if any(o <= timedelta(0) or o > LONGEST_OFFSET for o in self.offsets):
            raise InvalidValue("an offset lies between a minute and 30 days", field="offsets")
        if not self.channels or len(set(self.channels)) != len(self.channels):
            raise InvalidValue("give one or more different channels", field="channels")
        if not 1 <= self.recall_after_months <= 36:
            raise InvalidValue("a recall comes 1 to 36 months later", field="recall_after_months")

    def as_dict(self) -> dict[str, Any]:
        """The policy as it is stored in its event and shown over HTTP."""
        return {
            "offsets_minutes": [int(o.total_seconds() // 60) for o in self.offsets],
            "quiet_start": self.quiet.start.strftime("%H:%M"),
            "quiet_end": self.quiet.end.strftime("%H:%M"),
            "channels": [c.value for c in self.channels],
            "recall_after_months": self.recall_after_months,
            "recall_procedures": sorted(self.recall_procedures),
            "clinic_name": self.clinic_name,
            "clinic_address": self.clinic_address,
        }

    @classmethod
    def of(cls, stored: Mapping[str, Any]) -> Policy:
        """The policy from `as_dict`'s form (times as "HH:MM" or "HH:MM:SS"); other keys, such
        as the zone an older policy kept, are not the policy's."""
        return cls(
            offsets=tuple(timedelta(minutes=m) for m in stored["offsets_minutes"]),
            quiet=QuietHours(
                time.fromisoformat(stored["quiet_start"]), time.fromisoformat(stored["quiet_end"])
            ),
            channels=tuple(Channel(c) for c in stored["channels"]),
            recall_after_months=stored["recall_after_months"],
            recall_procedures=frozenset(c.strip().upper() for c in stored["recall_procedures"]),
            clinic_name=stored["clinic_name"],
            clinic_address=stored["clinic_address"],
        )

    def send_at(self, when: datetime, zone: ZoneInfo) -> datetime:
        """`when`, or earlier when it falls in quiet hours; in the clinic's zone."""
        local = when.astimezone(zone)
        return self.quiet.before(local, zone) if self.quiet.holds(local) else local

    def before(self, start: datetime, offset: timedelta, zone: ZoneInfo) -> datetime:
        """`offset` before `start` on the clinic's wall clock, moved out of quiet hours."""
        wall = start.astimezone(zone).replace(tzinfo=None) - offset
        return self.send_at(real_local(wall, zone), zone)

    def schedule(self, start: datetime, now: datetime, zone: ZoneInfo) -> dict[str, datetime]:
        """The reminders for a visit at `start`, by label: none in the past, none at night,
        on the clock of the clinic's `zone`."""
        due: dict[str, datetime] = {}
        for offset in self.offsets:
            moment = self.before(start, offset, zone)
            if now < moment < start:
                due[offset_label(offset)] = moment
        return due

    def recall_at(self, performed_at: datetime, zone: ZoneInfo) -> datetime:
        """The same wall-clock time `recall_after_months` later (the month's last day when
        that day does not exist), out of quiet hours."""
        local = performed_at.astimezone(zone)
        month = local.month - 1 + self.recall_after_months
        year, month = local.year + month // 12, month % 12 + 1
        day = min(local.day, _days_in(year, month))
        wall = local.replace(tzinfo=None, year=year, month=month, day=day)
        return self.send_at(real_local(wall, zone), zone)

    def recalls(self, procedure_code: str) -> bool:
        """Whether a treatment with this catalogue code brings the patient's recall."""
        return procedure_code.strip().upper() in self.recall_procedures


def offset_label(offset: timedelta) -> str:
    return f"before-{int(offset.total_seconds() // 60)}m"


def _days_in(year: int, month: int) -> int:
    following = date(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


@dataclass(frozen=True, slots=True)
class Contact:
    """What the reminders context knows of a patient, from the patients' own events."""

    email: str | None = None
    phone: str | None = None
    language: str = "es"
    consents: dict[str, bool] = field(default_factory=dict)


class Skip(StrEnum):
    """Why a reminder was not sent."""

    NO_CONSENT = "no_consent"
    NO_CONTACT = "no_contact"
    APPOINTMENT_GONE = "appointment_gone"


def choose_channel(order: tuple[Channel, ...], contact: Contact | None) -> Channel | Skip:
    """The first channel in the clinic's order that the patient consents to and can be
    reached on, as the consents stand now."""
    if contact is None:
        return Skip.NO_CONTACT
    consented = [c for c in order if contact.consents.get(c.value, False)]
    if not consented:
        return Skip.NO_CONSENT
    for channel in consented:
        if address_of(contact, channel) is not None:
            return channel
    return Skip.NO_CONTACT


def address_of(contact: Contact, channel: Channel) -> str | None:
    return contact.email if channel is Channel.EMAIL else contact.phone


# GSM 03.38: the basic alphabet (one septet each) and its extension (two septets each).
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


def sms_segments(text: str) -> int:
    """How many SMS segments `text` costs: 160 characters in one GSM-7 segment (153 each when
    split), but a single character outside GSM-7 (á, í, ó, ú…) makes it UCS-2, 70 (67)."""
    if all(c in _GSM7 or c in _GSM7_EXTENSION for c in text):
        septets = sum(2 if c in _GSM7_EXTENSION else 1 for c in text)
        return 1 if septets <= 160 else -(-septets // 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else -(-units // 67)
