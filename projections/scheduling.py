"""Read models of the `scheduling` context: the appointment book and its reference data.

`appointments` serves the calendars (by provider, chair and day), a patient's
appointments and the day sheet; `clinic_setup` and `providers` serve the
reference-data screens and availability.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bus.envelope import Envelope
from projections.base import Document
from projections.postgres import PostgresProjection

LIVE = ("booked", "confirmed", "checked_in", "completed")
_STATUS_AFTER = {
    "AppointmentConfirmed": "confirmed",
    "PatientCheckedIn": "checked_in",
    "AppointmentCompleted": "completed",
    "AppointmentCancelled": "cancelled",
    "PatientDidNotAttend": "no_show",
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
                "status": "booked",
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
                status="booked",
                freed=[*doc.get("freed", []), freed],
            )
        elif kind in _STATUS_AFTER:
            doc["status"] = _STATUS_AFTER[kind]
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
