"""Read models of the `scheduling` context: the appointment book and its reference data.

`appointments` serves the calendars (by provider, chair and day), a patient's
appointments and the day sheet; `clinic_setup` and `providers` serve the
reference-data screens and availability.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from domain.scheduling import LIVE, Slot, Status
from domain.scheduling.calendar import BookingRules
from domain.scheduling.reference import CLINIC_SETUP_ID
from domain.scheduling.waitlist import Wish
from domain.shared import DEFAULT_ZONE
from infra.eventstore import Envelope
from projections.base import Document
from projections.postgres import PostgresProjection, PostgresStore

_LIVE = sorted(s.value for s in LIVE)
_ENDED = sorted({Status.CANCELLED.value, Status.NO_SHOW.value})
_STATUS_AFTER = {
    "AppointmentConfirmed": Status.CONFIRMED,
    "PatientCheckedIn": Status.CHECKED_IN,
    "AppointmentCompleted": Status.COMPLETED,
    "AppointmentCancelled": Status.CANCELLED,
    "PatientDidNotAttend": Status.NO_SHOW,
}


class AppointmentBook(PostgresProjection):
    name = "appointments"
    contexts = ("scheduling",)
    aggregate_types = frozenset({"Appointment"})
    table = "appointments"
    columns_ddl = (
        "patient_id uuid NOT NULL, provider_id uuid NOT NULL, operatory_id uuid NOT NULL, "
        "starts_at timestamptz NOT NULL, ends_at timestamptz NOT NULL, status text NOT NULL"
    )
    indexes_ddl = (
        "CREATE INDEX IF NOT EXISTS appointments_provider ON appointments (provider_id, starts_at)",
        "CREATE INDEX IF NOT EXISTS appointments_operatory ON appointments "
        "(operatory_id, starts_at)",
        "CREATE INDEX IF NOT EXISTS appointments_patient ON appointments (patient_id, starts_at)",
        "CREATE INDEX IF NOT EXISTS appointments_start ON appointments (starts_at, aggregate_id)",
    )
    column_names = ("patient_id", "provider_id", "operatory_id", "starts_at", "ends_at", "status")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        payload, kind = envelope.payload, envelope.event_type
        if kind == "AppointmentBooked":
            doc = {
                "appointment_id": str(envelope.aggregate_id),
                **{
                    k: payload[k]
                    for k in (
                        "patient_id",
                        "provider_id",
                        "operatory_id",
                        "start",
                        "end",
                        "appointment_type",
                        "notes",
                    )
                },
                "status": Status.BOOKED.value,
                "override_reason": payload.get("override_reason"),
                "booked_at": envelope.timestamp.isoformat(),
                "booked_by": envelope.meta.get("actor_id"),
            }
        elif kind == "AppointmentRescheduled":
            freed = {key: doc[key] for key in ("start", "end", "provider_id", "operatory_id")}
            doc.update(
                start=payload["start"],
                end=payload["end"],
                provider_id=payload["provider_id"],
                operatory_id=payload["operatory_id"],
                status=Status.BOOKED.value,
                freed=[*doc.get("freed", []), freed],
            )
        elif kind in _STATUS_AFTER:
            doc["status"] = _STATUS_AFTER[kind].value
            if kind == "AppointmentCancelled":
                doc["cancellation"] = {k: payload[k] for k in ("reason", "by_patient", "late")}
        doc["version"] = envelope.version
        doc["updated_at"] = envelope.timestamp.isoformat()
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (
            document["patient_id"],
            document["provider_id"],
            document["operatory_id"],
            datetime.fromisoformat(document["start"]),
            datetime.fromisoformat(document["end"]),
            document["status"],
        )


class ClinicSetupView(PostgresProjection):
    name = "clinic_setup"
    contexts = ("scheduling",)
    aggregate_types = frozenset({"ClinicSetup"})
    table = "clinic_setup"
    columns_ddl = "zone text NOT NULL"
    column_names = ("zone",)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(
            document
            or {"opening_hours": {}, "closures": [], "operatories": [], "appointment_types": []}
        )
        payload, kind = envelope.payload, envelope.event_type
        if kind == "ClinicSetUp":
            doc["zone"] = payload["zone_name"]
        elif kind == "OpeningHoursSet":
            doc["opening_hours"] = payload["hours"]
        elif kind == "ClosureAdded":
            doc["closures"] = [
                *doc["closures"],
                {
                    "closure_id": payload["closure_id"],
                    "first_day": payload["first_day"],
                    "last_day": payload["last_day"],
                    "reason": payload["reason"],
                },
            ]
        elif kind == "OperatoryAdded":
            doc["operatories"] = [
                *doc["operatories"],
                {"operatory_id": payload["operatory_id"], "name": payload["name"]},
            ]
        elif kind == "AppointmentTypeDefined":
            others = [t for t in doc["appointment_types"] if t["code"] != payload["code"]]
            doc["appointment_types"] = sorted(
                [*others, {k: payload[k] for k in ("code", "name", "minutes")}],
                key=lambda t: t["code"],
            )
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (document.get("zone", ""),)


class ProviderDirectory(PostgresProjection):
    name = "providers"
    contexts = ("scheduling",)
    aggregate_types = frozenset({"Provider"})
    table = "providers"
    columns_ddl = "staff_id uuid NOT NULL, sort_key text NOT NULL"
    column_names = ("staff_id", "sort_key")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        payload, kind = envelope.payload, envelope.event_type
        if kind == "ProviderAdded":
            doc = {
                "provider_id": str(envelope.aggregate_id),
                "staff_id": payload["staff_id"],
                "name": payload["name"],
                "kind": payload["kind"],
                "working_hours": {},
                "absences": [],
            }
        elif kind == "WorkingHoursSet":
            doc["working_hours"] = payload["hours"]
        elif kind == "AbsenceRecorded":
            doc["absences"] = [
                *doc["absences"],
                {k: payload[k] for k in ("absence_id", "start", "end", "reason")},
            ]
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (document["staff_id"], document["name"].casefold())


class PatientRoster(PostgresProjection):
    """Which patients exist, as the appointment book needs them: a name to show and the
    alerts to warn about. Scheduling's own view, fed by the patients context's events, so it
    refers to patients by id and event, never by reading another context's tables."""

    name = "scheduling_patients"
    contexts = ("patients",)
    aggregate_types = frozenset({"Patient"})
    table = "scheduling_patients"
    columns_ddl = "display_name text NOT NULL"
    column_names = ("display_name",)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {"alerts": {}})
        payload = envelope.payload
        match envelope.event_type:
            case "PatientRegistered" | "DemographicsCorrected":
                doc["given_name"] = payload["given_name"]
                doc["family_name"] = payload["family_name"]
            case "AlertRaised":
                doc["alerts"] = {**doc["alerts"], payload["alert_id"]: payload["code"]}
            case "AlertCleared":
                doc["alerts"] = {k: v for k, v in doc["alerts"].items() if k != payload["alert_id"]}
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (f"{document['given_name']} {document['family_name']}",)


class Waitlist(PostgresProjection):
    """Patients waiting for an earlier slot, first come first served."""

    name = "waitlist"
    contexts = ("scheduling",)
    aggregate_types = frozenset({"WaitlistEntry"})
    table = "waitlist"
    columns_ddl = "patient_id uuid NOT NULL, active boolean NOT NULL, since timestamptz NOT NULL"
    indexes_ddl = ("CREATE INDEX IF NOT EXISTS waitlist_active ON waitlist (active, since)",)
    column_names = ("patient_id", "active", "since")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        if envelope.event_type == "PatientWaitlisted":
            doc = {
                "entry_id": str(envelope.aggregate_id),
                **envelope.payload,
                "active": True,
                "since": envelope.timestamp.isoformat(),
            }
        elif envelope.event_type == "PatientLeftWaitlist":
            doc.update(active=False, left_because=envelope.payload["reason"])
        doc["version"] = envelope.version
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (
            document["patient_id"],
            document["active"],
            datetime.fromisoformat(document["since"]),
        )


# Queries: the appointment book's reads, named, beside the read models they read. ----------------


def _held(live: str, provider: str, operatory: str, start: str, end: str) -> str:
    """SQL: this `appointments` row is live and holds the provider or the chair at some time
    within [start, end). The one spelling of "taken", for availability and freed slots."""
    return (
        f"status = ANY({live}) AND (provider_id = {provider} OR operatory_id = {operatory}) "
        f"AND starts_at < {end} AND ends_at > {start}"
    )


# When live appointments ($1: the live statuses) hold the provider ($2) or the chair ($3)
# within [$4, $5).
BUSY = "SELECT starts_at, ends_at FROM appointments WHERE " + _held(  # noqa: S608
    "$1::text[]", "$2", "$3", "$4", "$5"
)
_SPAN = {  # the freed span's fields, typed
    "provider": "(span->>'provider_id')::uuid",
    "operatory": "(span->>'operatory_id')::uuid",
    "start": "(span->>'start')::timestamptz",
    "end": "(span->>'end')::timestamptz",
}


@dataclass(frozen=True, slots=True)
class AppointmentFilter:
    start: datetime | None = None
    end: datetime | None = None
    provider: UUID | None = None
    operatory: UUID | None = None
    patient: UUID | None = None
    status: Status | None = None


@dataclass(frozen=True, slots=True)
class AppointmentPage:
    items: list[Document]
    next: str | None

    @property
    def patient_ids(self) -> list[str]:
        return sorted({a["patient_id"] for a in self.items})


def decode_book_cursor(after: str) -> tuple[datetime, UUID]:
    """The place after which the next page starts; ValueError when it is not one we gave."""
    moment, _, ident = after.partition("|")
    start = datetime.fromisoformat(moment)
    if start.tzinfo is None:
        raise ValueError("the cursor has no time zone")
    return start, UUID(ident)


def local_times(appointment: Document, zone: ZoneInfo) -> Document:
    """Stored in UTC, shown in the clinic's zone as well: `start_local`, `end_local`."""
    return {
        **appointment,
        "start_local": datetime.fromisoformat(appointment["start"]).astimezone(zone).isoformat(),
        "end_local": datetime.fromisoformat(appointment["end"]).astimezone(zone).isoformat(),
    }


class SchedulingQueries:
    """Every read of the appointment book and its reference data."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.appointments = PostgresStore(pool, AppointmentBook())
        self.setup = PostgresStore(pool, ClinicSetupView())
        self.providers = PostgresStore(pool, ProviderDirectory())
        self.waitlist = PostgresStore(pool, Waitlist())
        self.patients = PostgresStore(pool, PatientRoster())

    async def patient_exists(self, patient_id: UUID, *, wait: float = 0.0) -> bool:
        """Whether the clinic has this patient. A patient registered a moment ago may not be
        in scheduling's view yet: `wait` bounds how long to give the view to catch up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        delay = 0.01
        while not await self.patients.version_of(patient_id):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)
        return True

    async def clinic_setup(self) -> Document | None:
        found = await self.setup.get(CLINIC_SETUP_ID)
        return found.document if found else None

    async def zone(self) -> ZoneInfo:
        """The clinic's zone, or the default until the clinic is set up."""
        setup = await self.clinic_setup()
        return ZoneInfo(setup["zone"] if setup else DEFAULT_ZONE)

    async def provider_list(self) -> list[Document]:
        rows = await self.pool.fetch(
            "SELECT document FROM providers ORDER BY sort_key, aggregate_id"
        )
        return [r["document"] for r in rows]

    async def provider(self, provider_id: UUID) -> Document | None:
        found = await self.providers.get(provider_id)
        return found.document if found else None

    @staticmethod
    def booking_rules(setup: Document, provider: Document) -> BookingRules:
        return BookingRules.as_recorded(
            ZoneInfo(setup["zone"]),
            setup["opening_hours"],
            provider["working_hours"],
            setup["closures"],
            provider["absences"],
        )

    async def busy(
        self, provider: UUID, operatory: UUID, start: datetime, end: datetime
    ) -> list[Slot]:
        """When the provider or the chair is held by a live appointment within [start, end)."""
        rows = await self.pool.fetch(
            BUSY,
            _LIVE,
            provider,
            operatory,
            start,
            end,
        )
        return [Slot(r["starts_at"], r["ends_at"]) for r in rows]

    async def appointment(self, appointment_id: UUID) -> Document | None:
        found = await self.appointments.get(appointment_id)
        return found.document if found else None

    async def appointment_page(
        self, where: AppointmentFilter, after: str | None, limit: int
    ) -> AppointmentPage:
        """The book, oldest first, in keyset pages; ValueError for a cursor we did not give."""
        cursor_start, cursor_id = decode_book_cursor(after) if after else (None, None)
        rows = await self.pool.fetch(
            "SELECT aggregate_id, starts_at, document FROM appointments WHERE "
            "($1::timestamptz IS NULL OR ends_at > $1) "
            "AND ($2::timestamptz IS NULL OR starts_at < $2) "
            "AND ($3::uuid IS NULL OR provider_id = $3) "
            "AND ($4::uuid IS NULL OR operatory_id = $4) "
            "AND ($5::uuid IS NULL OR patient_id = $5) AND ($6::text IS NULL OR status = $6) "
            "AND ($7::timestamptz IS NULL OR (starts_at, aggregate_id) > ($7, $8)) "
            "ORDER BY starts_at, aggregate_id LIMIT $9",
            where.start,
            where.end,
            where.provider,
            where.operatory,
            where.patient,
            where.status.value if where.status else None,
            cursor_start,
            cursor_id,
            limit + 1,
        )
        page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return AppointmentPage(
            [r["document"] for r in page],
            f"{last['starts_at'].isoformat()}|{last['aggregate_id']}" if last else None,
        )

    async def day_sheet(self, day: date, zone: ZoneInfo, provider: UUID | None) -> list[Document]:
        """The day's live appointments in time order, each with its patient's name and alerts."""
        start = datetime.combine(day, time(0), zone)
        rows = await self.pool.fetch(
            "SELECT a.document AS appointment, p.document AS patient FROM appointments a "
            "LEFT JOIN scheduling_patients p ON p.aggregate_id = a.patient_id "
            "WHERE a.starts_at >= $1 AND a.starts_at < $2 AND a.status = ANY($3::text[]) "
            "AND ($4::uuid IS NULL OR a.provider_id = $4) ORDER BY a.starts_at, a.aggregate_id",
            start,
            datetime.combine(day + timedelta(days=1), time(0), zone),
            _LIVE,
            provider,
        )
        return [_day_sheet_line(r["appointment"], r["patient"] or {}, zone) for r in rows]

    async def provider_calendar(
        self, provider: UUID, start: datetime, end: datetime
    ) -> list[Document]:
        """The provider's appointments overlapping [start, end), cancelled ones too, for a
        calendar feed: each with the patient's initials, never a name nor notes. One moved to
        another provider since shows here at its last time with this one, as cancelled, so a
        calendar that showed it drops it."""
        mine = str(provider)
        rows = await self.pool.fetch(
            "SELECT a.document AS appointment, p.document AS patient FROM appointments a "
            "LEFT JOIN scheduling_patients p ON p.aggregate_id = a.patient_id "
            "WHERE a.provider_id = $1 AND a.ends_at > $2 AND a.starts_at < $3 "
            "UNION ALL "
            "SELECT a.document, p.document FROM appointments a "
            "LEFT JOIN scheduling_patients p ON p.aggregate_id = a.patient_id "
            "WHERE a.provider_id <> $1 AND a.document->'freed' @> $4 AND a.ends_at > $2",
            provider,
            start,
            end,
            [{"provider_id": mine}],
        )
        lines = [_calendar_line(r["appointment"], r["patient"] or {}, mine) for r in rows]
        return sorted(lines, key=lambda line: (line["start"], line["appointment_id"]))

    async def waiting(self) -> list[Document]:
        """Patients on the waiting list, longest-waiting first."""
        rows = await self.pool.fetch(
            "SELECT document FROM waitlist WHERE active ORDER BY since, aggregate_id"
        )
        return [r["document"] for r in rows]

    async def freed_slots(self, now: datetime) -> list[Document]:
        """Future slots that an appointment gave up (cancelled, no-show or moved away) and
        that no live appointment has taken since, for its provider or its chair."""
        rows = await self.pool.fetch(
            "WITH freed AS ("  # noqa: S608 - fragments from code, values as parameters
            "  SELECT a.document->>'patient_id' AS patient_id, a.aggregate_id AS freed_by, "
            "         span.value AS span "
            "  FROM appointments a "
            "  CROSS JOIN LATERAL jsonb_array_elements("
            "    coalesce(a.document->'freed', '[]'::jsonb) "
            "    || CASE WHEN a.status = ANY($2::text[]) THEN jsonb_build_array(a.document) "
            "       ELSE '[]'::jsonb END) AS span "
            "  WHERE a.ends_at > $1 AND (a.status = ANY($2::text[]) OR a.document ? 'freed')"
            ") "
            "SELECT patient_id, freed_by, span->>'start' AS start, span->>'end' AS end, "
            "       span->>'provider_id' AS provider_id, span->>'operatory_id' AS operatory_id "
            f"FROM freed WHERE {_SPAN['start']} > $1 AND NOT EXISTS ("
            f"  SELECT 1 FROM appointments WHERE {_held('$3::text[]', **_SPAN)}) "
            f"ORDER BY {_SPAN['start']}, freed_by",
            now,
            _ENDED,
            _LIVE,
        )
        return [
            {
                "start": r["start"],
                "end": r["end"],
                "provider_id": r["provider_id"],
                "operatory_id": r["operatory_id"],
                "patient_id": r["patient_id"],
                "freed_by": str(r["freed_by"]),
            }
            for r in rows
        ]

    async def waitlist_matches(self, setup: Document, now: datetime) -> list[Document]:
        """Each freed slot with the waiting patients it suits, longest-waiting first."""
        zone = ZoneInfo(setup["zone"])
        minutes = {t["code"]: t["minutes"] for t in setup["appointment_types"]}
        waiting = [(entry, Wish.as_recorded(entry)) for entry in await self.waiting()]
        matches = []
        for slot in await self.freed_slots(now):
            start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
            provider = UUID(slot["provider_id"])
            candidates = [
                entry
                for entry, wish in waiting
                if entry["patient_id"] != slot["patient_id"]
                and wish.fits(provider, start, end, minutes.get(wish.appointment_type, 0), zone)
            ]
            if candidates:
                matches.append({"slot": slot, "candidates": candidates})
        return matches


def _day_sheet_line(appointment: Document, patient: Document, zone: ZoneInfo) -> Document:
    name = " ".join(filter(None, (patient.get("given_name"), patient.get("family_name"))))
    return {
        **local_times(appointment, zone),
        "patient_name": name or None,
        "alerts": sorted(patient.get("alerts", {}).values()),
    }


def initials(patient: Document) -> str:
    """The first letter of each word of the names ("M.J.G.L." for María José García López);
    empty when the names are gone (an erased patient)."""
    words = f"{patient.get('given_name') or ''} {patient.get('family_name') or ''}".split()
    return "".join(f"{w[0].upper()}." for w in words if w[0].isalpha())


def _calendar_line(appointment: Document, patient: Document, provider: str) -> Document:
    shown = appointment
    if appointment["provider_id"] != provider:  # moved to another provider since
        last = [s for s in appointment.get("freed", []) if s["provider_id"] == provider][-1]
        shown = {**appointment, **last, "status": Status.CANCELLED.value}
    return {
        **{
            key: shown.get(key)
            for key in (
                "appointment_id",
                "patient_id",
                "provider_id",
                "operatory_id",
                "appointment_type",
                "start",
                "end",
                "status",
                "version",
                "updated_at",
            )
        },
        "patient_initials": initials(patient),
    }
