"""The reminders context's read models: the due list (and the claims workers take on it),
and the patients' contact details and consents as the reminders context sees them.

The due list is one row per reminder. Its `claimed_by`, `lease_until` and `settled_version`
columns are not folded from events: they are the workers' claims. A worker claims due rows
with `FOR UPDATE SKIP LOCKED` and a lease, so two workers never take the same row and a
killed worker's claim expires. After recording a send it settles the row at the version it
wrote; the row is claimable again only once the projection has reached that version, so a
lagging read model never hands out a reminder that was just sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain.reminders import Contact, Status
from infra.eventstore import Envelope
from projections.base import Document
from projections.postgres import PostgresProjection

# How often a settlement chosen as a deadlock's victim is run again before it is an error.
DEADLOCK_ATTEMPTS = 3

_STATUS_AFTER = {
    "ReminderSent": Status.SENT.value,
    "ReminderSkipped": Status.SKIPPED.value,
    "ReminderCancelled": Status.CANCELLED.value,
}


class DueList(PostgresProjection):
    """Every reminder with its status and due time; the pending ones are the due list."""

    name = "reminders_due"
    contexts = ("reminders",)
    aggregate_types = frozenset({"Reminder"})
    table = "reminders"
    columns_ddl = (
        "patient_id uuid NOT NULL, appointment_id uuid, kind text NOT NULL, "
        "status text NOT NULL, channel text, due_at timestamptz NOT NULL, "
        "changed_at timestamptz NOT NULL, "
        "claimed_by text, lease_until timestamptz, settled_version bigint NOT NULL DEFAULT 0"
    )
    indexes_ddl = (
        "CREATE INDEX IF NOT EXISTS reminders_due ON reminders (due_at) WHERE status = 'scheduled'",
        "CREATE INDEX IF NOT EXISTS reminders_patient ON reminders (patient_id, due_at)",
        "CREATE INDEX IF NOT EXISTS reminders_appointment ON reminders (appointment_id)",
        "CREATE INDEX IF NOT EXISTS reminders_listed ON reminders (due_at, aggregate_id)",
    )
    column_names = (
        "patient_id",
        "appointment_id",
        "kind",
        "status",
        "channel",
        "due_at",
        "changed_at",
    )

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        payload, kind = envelope.payload, envelope.event_type
        doc["changed_at"] = envelope.timestamp.isoformat()
        if kind == "ReminderScheduled":
            doc.update(
                id=str(envelope.aggregate_id),
                patient_id=payload["patient_id"],
                appointment_id=payload["appointment_id"],
                kind=payload["kind"],
                label=payload["label"],
                due_at=payload["due_at"],
                appointment_start=payload["appointment_start"],
                status=Status.SCHEDULED.value,
                channel=None,
                attempts=0,
            )
        elif kind == "ReminderRescheduled":
            doc.update(
                due_at=payload["due_at"],
                appointment_start=payload["appointment_start"],
                status=Status.SCHEDULED.value,
                attempts=0,
            )
        elif kind == "ReminderSent":
            doc.update(
                status=Status.SENT.value,
                channel=payload["channel"],
                provider_message_id=payload["provider_message_id"],
                sent_at=payload["sent_at"],
                attempts=payload["attempt"],
                consent=payload["consent"],
                segments=payload.get("segments"),
            )
        elif kind == "ReminderFailed":
            doc.update(attempts=payload["attempt"], last_error=payload["reason"])
            doc["channel"] = payload["channel"]
            if payload["retry_at"] is None:
                doc["status"] = Status.FAILED.value
            else:
                doc["due_at"] = payload["retry_at"]
        elif kind in _STATUS_AFTER:
            doc["status"] = _STATUS_AFTER[kind]
            doc["reason"] = payload.get("reason")
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        appointment = document.get("appointment_id")
        return (
            UUID(document["patient_id"]),
            UUID(appointment) if appointment else None,
            document["kind"],
            document["status"],
            document.get("channel"),
            datetime.fromisoformat(document["due_at"]),
            datetime.fromisoformat(document["changed_at"]),
        )


class ReminderContacts(PostgresProjection):
    """How to reach each patient and what they consent to, as the patients' events say: the
    reminders context's own view, read at the moment of sending."""

    name = "reminder_contacts"
    contexts = ("patients",)
    aggregate_types = frozenset({"Patient"})
    table = "reminder_contacts"
    columns_ddl = "language text NOT NULL"
    column_names = ("language",)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {"language": "es", "consents": {}})
        if envelope.event_type in ("PatientRegistered", "ContactDetailsChanged"):
            payload = envelope.payload
            doc.update(
                email=payload.get("email"),
                phone=payload.get("phone"),
                language=payload.get("language") or "es",
                consents=dict(payload.get("consents") or {}),
            )
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (document["language"],)


@dataclass(frozen=True, slots=True)
class ReminderFilter:
    patient: UUID | None = None
    appointment: UUID | None = None
    status: str | None = None
    channel: str | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReminderPage:
    items: list[Document]
    next: str | None


def decode_cursor(after: str) -> tuple[datetime, UUID]:
    """The place after which the next page starts; ValueError when it is not one we gave."""
    moment, _, ident = after.partition("|")
    due = datetime.fromisoformat(moment)
    if due.tzinfo is None:
        raise ValueError("the cursor has no time zone")
    return due, UUID(ident)


class ReminderQueries:
    """Named queries on the reminders' read models, and the workers' claims on the due list."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(
        self, worker: str, limit: int, lease_seconds: float, now: datetime
    ) -> list[UUID]:
        """Up to `limit` due reminders no one else holds, oldest due first, leased to `worker`."""
        rows = await self.pool.fetch(
            "WITH due AS (SELECT aggregate_id FROM reminders WHERE status = 'scheduled' "
            "AND due_at <= $4 AND (lease_until IS NULL OR lease_until < $4) "
            "AND version >= settled_version ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED) "
            "UPDATE reminders r SET claimed_by = $1, lease_until = $4 + make_interval(secs => $3) "
            "FROM due WHERE r.aggregate_id = due.aggregate_id RETURNING r.aggregate_id, r.due_at",
            worker,
            limit,
            lease_seconds,
            now,
        )
        return [r["aggregate_id"] for r in sorted(rows, key=lambda r: r["due_at"])]

    async def settle(self, reminder: UUID, version: int) -> None:
        """The worker is done with this reminder, which the event store has at `version`."""
        await self.pool.execute(
            "UPDATE reminders SET claimed_by = NULL, lease_until = NULL, "
            "settled_version = greatest(settled_version, $2) WHERE aggregate_id = $1",
            reminder,
            version,
        )

    async def settle_all(self, settled: dict[UUID, int]) -> None:
        """`settle` for many reminders in one statement."""
        if not settled:
            return
        # Rows in one order (the projector updates the same rows); settling is idempotent, so
        # the statement PostgreSQL picks as a deadlock's victim is simply run again.
        ids = sorted(settled)
        for attempt in range(DEADLOCK_ATTEMPTS):
            try:
                await self.pool.execute(
                    "UPDATE reminders r SET claimed_by = NULL, lease_until = NULL, "
                    "settled_version = greatest(r.settled_version, s.version) "
                    "FROM unnest($1::uuid[], $2::bigint[]) AS s(id, version) "
                    "WHERE r.aggregate_id = s.id",
                    ids,
                    [settled[i] for i in ids],
                )
                return
            except asyncpg.exceptions.DeadlockDetectedError:
                if attempt == DEADLOCK_ATTEMPTS - 1:
                    raise

    async def release(self, worker: str) -> None:
        """Give back what `worker` claimed and did not get to (a clean stop)."""
        await self.pool.execute(
            "UPDATE reminders SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1",
            worker,
        )

    async def contact(self, patient: UUID) -> Contact | None:
        found = await self.pool.fetchval(
            "SELECT document FROM reminder_contacts WHERE aggregate_id = $1", patient
        )
        if found is None:
            return None
        return Contact(
            email=found.get("email"),
            phone=found.get("phone"),
            language=found.get("language") or "es",
            consents={k: bool(v) for k, v in (found.get("consents") or {}).items()},
        )

    async def reminder(self, reminder: UUID) -> Document | None:
        found: Document | None = await self.pool.fetchval(
            "SELECT document FROM reminders WHERE aggregate_id = $1", reminder
        )
        return found

    async def backlog(self, now: datetime) -> tuple[int, float]:
        """How many reminders are due and unsent, and how long the oldest has waited (s)."""
        row = await self.pool.fetchrow(
            "SELECT count(*) AS n, min(due_at) AS oldest FROM reminders "
            "WHERE status = 'scheduled' AND due_at <= $1",
            now,
        )
        oldest = row["oldest"] if row else None
        return (int(row["n"]) if row else 0), (
            max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
        )

    async def page(self, where: ReminderFilter, after: str | None, limit: int) -> ReminderPage:
        """Reminders by due time, in keyset pages; ValueError for a cursor we did not give."""
        cursor_due, cursor_id = decode_cursor(after) if after else (None, None)
        rows = await self.pool.fetch(
            "SELECT aggregate_id, due_at, document FROM reminders WHERE "
            "($1::uuid IS NULL OR patient_id = $1) AND ($2::uuid IS NULL OR appointment_id = $2) "
            "AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR channel = $4) "
            "AND ($5::timestamptz IS NULL OR due_at >= $5) "
            "AND ($6::timestamptz IS NULL OR due_at < $6) "
            "AND ($7::timestamptz IS NULL OR (due_at, aggregate_id) > ($7, $8)) "
            "ORDER BY due_at, aggregate_id LIMIT $9",
            where.patient,
            where.appointment,
            where.status,
            where.channel,
            where.due_from,
            where.due_to,
            cursor_due,
            cursor_id,
            limit + 1,
        )
        page = rows[:limit]
        last = page[-1] if len(rows) > limit else None
        return ReminderPage(
            [r["document"] for r in page],
            f"{last['due_at'].isoformat()}|{last['aggregate_id']}" if last else None,
        )
