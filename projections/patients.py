"""Read models of the `patients` context: the patient directory (PostgreSQL) and chart (Mongo)."""

from __future__ import annotations

import base64
import json
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any
from uuid import UUID

import asyncpg

from domain.shared import unsafe_character
from infra.eventstore import Envelope
from projections.audit import PatientHistory
from projections.base import Document, fold_until
from projections.mongo import MongoProjection, MongoStore
from projections.postgres import PostgresProjection, PostgresStore


def searchable(text: str) -> str:
    """Lower case, accents stripped: 'Núñez' and 'nunez' are the same to a search."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def digits(text: str | None) -> str:
    return "".join(c for c in text or "" if c.isdigit())


_DEMOGRAPHICS = ("given_name", "family_name", "birth_date", "sex", "national_id")
_CONTACT = ("phone", "email", "address", "language", "consents")


def _pick(payload: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: payload.get(name) for name in names}


class PatientDirectory(PostgresProjection):
    """Who the clinic's patients are, searchable by name, phone or national id."""

    name = "patient_directory"
    contexts = ("patients",)
    aggregate_types = frozenset({"Patient"})
    table = "patient_directory"
    columns_ddl = (
        "sort_key text NOT NULL, search_text text NOT NULL, phone_digits text NOT NULL, "
        "national_id text, birth_date date NOT NULL"
    )
    indexes_ddl = (
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE INDEX IF NOT EXISTS patient_directory_sort ON patient_directory "
        "(sort_key, aggregate_id)",
        "CREATE INDEX IF NOT EXISTS patient_directory_search ON patient_directory "
        "USING gin (search_text gin_trgm_ops)",
        "CREATE INDEX IF NOT EXISTS patient_directory_phone ON patient_directory "
        "USING gin (phone_digits gin_trgm_ops)",
        "CREATE INDEX IF NOT EXISTS patient_directory_national_id ON patient_directory "
        "(national_id)",
    )
    column_names = ("sort_key", "search_text", "phone_digits", "national_id", "birth_date")

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        payload = envelope.payload
        match envelope.event_type:
            case "PatientRegistered":
                doc = {
                    "patient_id": str(envelope.aggregate_id),
                    **_pick(payload, _DEMOGRAPHICS),
                    "phone": payload.get("phone"),
                    "email": payload.get("email"),
                    "language": payload.get("language"),
                    "active_alerts": 0,
                    "alerts": {},
                    "registered_at": envelope.timestamp.isoformat(),
                }
            case "DemographicsCorrected":
                doc.update(_pick(payload, _DEMOGRAPHICS))
            case "ContactDetailsChanged":
                doc.update(
                    phone=payload.get("phone"),
                    email=payload.get("email"),
                    language=payload.get("language"),
                )
            case "AlertRaised":
                doc["alerts"] = {**doc.get("alerts", {}), payload["alert_id"]: payload["code"]}
                doc["active_alerts"] = len(doc["alerts"])
            case "AlertCleared":
                alerts = dict(doc.get("alerts", {}))
                alerts.pop(payload["alert_id"], None)
                doc["alerts"] = alerts
                doc["active_alerts"] = len(alerts)
        doc["version"] = envelope.version
        doc["updated_at"] = envelope.timestamp.isoformat()
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        family, given = document["family_name"], document["given_name"]
        words = [given, family, document.get("national_id") or "", document.get("email") or ""]
        return (
            searchable(f"{family} {given}"),
            searchable(" ".join(words)),
            digits(document.get("phone")),
            document.get("national_id"),
            date.fromisoformat(document["birth_date"]),
        )


class PatientChart(MongoProjection):
    """Everything a clinician opens a patient for: demographics, history, active alerts."""

    name = "patient_chart"
    contexts = ("patients",)
    aggregate_types = frozenset({"Patient"})
    collection = "patient_charts"
    indexes = ("alerts.code",)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        payload = envelope.payload
        match envelope.event_type:
            case "PatientRegistered":
                doc = {
                    "patient_id": str(envelope.aggregate_id),
                    "demographics": _pick(payload, _DEMOGRAPHICS),
                    "contact": _pick(payload, _CONTACT),
                    "medical_history": [],
                    "alerts": [],
                    "registered_at": envelope.timestamp.isoformat(),
                }
            case "DemographicsCorrected":
                doc["demographics"] = _pick(payload, _DEMOGRAPHICS)
            case "ContactDetailsChanged":
                doc["contact"] = _pick(payload, _CONTACT)
            case "MedicalHistoryEntryRecorded":
                entry = {
                    **payload,
                    "recorded_at": envelope.timestamp.isoformat(),
                    "recorded_by": envelope.meta.get("actor_id"),
                    "ended_on": None,
                    "end_reason": None,
                    "active": True,
                }
                doc["medical_history"] = [*doc.get("medical_history", []), entry]
            case "MedicalHistoryEntryEnded":
                doc["medical_history"] = [
                    {
                        **e,
                        "ended_on": payload["ended_on"],
                        "end_reason": payload.get("reason"),
                        "active": False,
                    }
                    if e["entry_id"] == payload["entry_id"]
                    else e
                    for e in doc.get("medical_history", [])
                ]
            case "AlertRaised":
                alert = {**payload, "raised_at": envelope.timestamp.isoformat()}
                doc["alerts"] = [*doc.get("alerts", []), alert]
            case "AlertCleared":
                doc["alerts"] = [
                    a for a in doc.get("alerts", []) if a["alert_id"] != payload["alert_id"]
                ]
        doc["updated_at"] = envelope.timestamp.isoformat()
        return doc


@dataclass(frozen=True, slots=True)
class DirectoryPage:
    items: list[Document]
    next_cursor: str | None


def _encode_cursor(sort_key: str, aggregate_id: UUID) -> str:
    raw = json.dumps([sort_key, str(aggregate_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, UUID]:
    """The position after which the next page starts; ValueError when it is not ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_key, aggregate_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(sort_key, str) or not isinstance(aggregate_id, str):
            raise TypeError("a cursor holds a name and an id")
        if unsafe_character(sort_key):
            raise ValueError("a cursor holds no control characters")
        return sort_key, UUID(aggregate_id)
    except (ValueError, TypeError) as error:
        raise ValueError("cursor is not one this API gave out") from error


async def search_directory(
    pool: asyncpg.Pool, query: str, limit: int, cursor: str | None
) -> DirectoryPage:
    """Patients whose name, national id, email or phone contain every word of `query`."""
    conditions: list[str] = []
    args: list[Any] = []
    for token in searchable(query).split():
        args.append(f"%{_escape_like(token)}%")
        text_match = f"search_text LIKE ${len(args)}"
        number = digits(token)
        if len(number) >= 3 and len(number) >= len(token) - 1:
            args.append(f"%{number}%")
            text_match = f"({text_match} OR phone_digits LIKE ${len(args)})"
        conditions.append(text_match)
    if cursor:
        sort_key, after_id = decode_cursor(cursor)
        args += [sort_key, after_id]
        conditions.append(f"(sort_key, aggregate_id) > (${len(args) - 1}, ${len(args)})")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    args.append(limit + 1)
    rows = await pool.fetch(
        f"SELECT aggregate_id, sort_key, document FROM patient_directory {where} "  # noqa: S608
        f"ORDER BY sort_key, aggregate_id LIMIT ${len(args)}",
        *args,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (
        _encode_cursor(rows[-1]["sort_key"], rows[-1]["aggregate_id"]) if more and rows else None
    )
    return DirectoryPage([row["document"] for row in rows], next_cursor)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class PatientQueries(PatientHistory):
    """Every read of the patients' read models: the directory search and the chart, now or as
    it stood at an earlier instant (rebuilt from the event store with the chart's own fold)."""

    @cached_property
    def directory(self) -> PostgresStore:
        return PostgresStore(self.pool, PatientDirectory())

    @cached_property
    def charts(self) -> MongoStore:
        return MongoStore(self.mongo, PatientChart())

    async def search(self, query: str, limit: int, cursor: str | None) -> DirectoryPage:
        return await search_directory(self.pool, query, limit, cursor)

    async def with_national_id(self, national_id: str) -> list[UUID]:
        """The patients whose DNI or NIE is exactly `national_id` (normally one)."""
        rows = await self.pool.fetch(
            "SELECT aggregate_id FROM patient_directory WHERE national_id = $1 "
            "ORDER BY aggregate_id LIMIT 20",
            national_id,
        )
        return [row["aggregate_id"] for row in rows]

    async def chart(self, patient_id: UUID) -> Document | None:
        self.states.require(PatientChart.name)
        found = await self.charts.find(patient_id)
        return {k: v for k, v in found.items() if k != "_id"} if found else None

    async def chart_as_of(self, patient_id: UUID, moment: datetime) -> Document | None:
        events = await self.reader.aggregate_events("patients", patient_id)
        folded = fold_until(PatientChart(), events, moment)
        return {"version": folded.version, **folded.document} if folded else None

    async def patient_events(self, patient_id: UUID) -> list[Envelope]:
        """Every event of the patient's record, for auditors."""
        return await self.reader.aggregate_events("patients", patient_id)
