"""Read models of the `treatments` context and the named queries beside them.

Mongo `treatment_chart`: one contribution per treatment, examination and plan (the
foundation's fold per aggregate, with its version, so duplicates, gaps and parking work
as everywhere else), each carrying its patient's id; a patient's odontogram is composed
from that patient's contributions by a pure function after every batch and kept keyed by
patient; history and plans are read from the contributions (ADR 11). PostgreSQL
`treatment_list`: one row per treatment for the cross-patient list and the daily
production report (no clinical notes in it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg
from pymongo import ReplaceOne
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.asynchronous.database import AsyncDatabase

from domain.shared import DEFAULT_ZONE
from domain.treatments import Mark, PlanStatus, TreatmentStatus, plan_totals
from infra.db import storable
from infra.eventstore import Envelope
from projections.audit import PatientHistory
from projections.base import Document, Versioned, fold_until
from projections.mongo import (
    SHADOW,
    WRITE_SLICE,
    MongoProjection,
    MongoStore,
    in_slices,
    swap_in,
)
from projections.postgres import PostgresProjection, PostgresStore

CONTEXT = "treatments"
PER_SURFACE = frozenset({Mark.CARIES.value, Mark.RESTORATION.value, Mark.SEALANT.value})
_WHERE = ("tooth", "surfaces", "area")
NOT_CHARTED = ("history", "clinical_notes", "materials", "procedure_name", "fee")
_AMENDABLE = (*_WHERE, "fee", "clinical_notes", "materials")


def _by(envelope: Envelope) -> dict[str, Any]:
    return {
        "at": envelope.timestamp.isoformat(),
        "by": envelope.meta.get("actor_id"),
        "role": envelope.meta.get("actor_role"),
    }


def _treatment(doc: Document, envelope: Envelope) -> Document:
    payload = envelope.payload
    match envelope.event_type:
        case "TreatmentRecorded":
            doc = {
                "kind": "treatment",
                "treatment_id": str(envelope.aggregate_id),
                **payload,
                "status": TreatmentStatus.RECORDED.value,
                "recorded_at": envelope.timestamp.isoformat(),
                "history": [
                    {"event": "recorded", **_by(envelope), **{k: payload[k] for k in _AMENDABLE}}
                ],
            }
        case "TreatmentAmended":
            changes = {k: payload[k] for k in _AMENDABLE}
            doc.update(changes, status=TreatmentStatus.AMENDED.value)
            entry = {"event": "amended", **_by(envelope), "reason": payload["reason"], **changes}
            doc["history"] = [*doc["history"], entry]
        case "TreatmentVoided":
            doc["status"] = TreatmentStatus.VOIDED.value
            entry = {"event": "voided", **_by(envelope), "reason": payload["reason"]}
            doc["history"] = [*doc["history"], entry]
    if doc.get("marks") == Mark.IMPLANT.value:  # the chart shows the device in the tooth
        doc["devices"] = [m["lot"] for m in doc.get("materials", []) if m.get("lot")]
    return doc


def _plan_item(item: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    return {**item, **changes}


def _plan(doc: Document, envelope: Envelope) -> Document:
    payload = envelope.payload
    items: list[dict[str, Any]] = list(doc.get("items", []))

    def changed(item_id: str, **changes: Any) -> list[dict[str, Any]]:
        return [_plan_item(i, changes) if i["item_id"] == item_id else i for i in items]

    match envelope.event_type:
        case "PlanDrafted":
            doc = {
                "kind": "plan",
                "plan_id": str(envelope.aggregate_id),
                "patient_id": payload["patient_id"],
                "title": payload["title"],
                "status": PlanStatus.DRAFT.value,
                "drafted_at": envelope.timestamp.isoformat(),
                "drafted_by": envelope.meta.get("actor_id"),
                "consent": None,
                "declined": None,
            }
        case "PlanItemAdded":
            added = {"added_at": envelope.timestamp.isoformat(), "appointment_id": None}
            items.append({**payload, **added, "completed_by": None, "withdrawn": None})
        case "PlanItemWithdrawn":
            items = changed(payload["item_id"], withdrawn=payload["reason"])
        case "PlanItemLinkedToAppointment":
            items = changed(payload["item_id"], appointment_id=payload["appointment_id"])
        case "PlanItemCompleted":
            items = changed(payload["item_id"], completed_by=payload["treatment_id"])
        case "PlanPresented":
            doc["status"] = PlanStatus.PRESENTED.value
            doc["presented_at"] = envelope.timestamp.isoformat()
        case "PlanAccepted":
            doc["status"] = PlanStatus.ACCEPTED.value
            doc["consent"] = {k: payload[k] for k in ("signed_by", "document_version",
                                                      "consented_at", "taken_by")}  # fmt: skip
        case "PlanDeclined":
            doc["status"] = PlanStatus.DECLINED.value
            doc["declined"] = {"reason": payload.get("reason"), **_by(envelope)}
    doc["items"] = items
    doc["totals"] = plan_totals(items)
    return doc


class TreatmentChart(MongoProjection):
    """Each treatment, examination and plan as its contribution to its patient's chart, and
    each patient's odontogram composed from them (`odontograms`, keyed by patient)."""

    name = "treatment_chart"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"Treatment", "Examination", "TreatmentPlan"})
    collection = "treatment_chart"
    odontograms = "treatment_odontograms"
    sources = "treatment_odontogram_sources"
    indexes = ("patient_id",)

    async def derive(self, database: AsyncDatabase[dict[str, Any]], ids: Sequence[UUID]) -> None:
        """Compose again the odontogram of every patient these contributions belong to.

        Each patient's charted parts of their contributions are kept beside the chart
        (`sources`), so a batch reads only its own contributions and the touched patients'
        sources, never every contribution a patient has (ADR 11). A patient without sources
        yet (the first contribution, or a read model made before sources existed) is composed
        from all of their contributions once. Every list of ids goes in slices (`in_slices`)."""
        contributions = database[self.collection]
        fields = dict.fromkeys(NOT_CHARTED, 0)
        batch: dict[str, dict[str, Document]] = {}
        for part in in_slices([str(i) for i in ids]):
            found = await _charted_parts(contributions.find({"_id": {"$in": part}}, fields))
            for patient, parts in found.items():
                batch.setdefault(patient, {}).update(parts)
        if not batch:
            return
        by_patient: dict[str, dict[str, Document]] = {}
        for part in in_slices(sorted(batch)):
            async for kept in database[self.sources].find({"_id": {"$in": part}}):
                by_patient[kept["_id"]] = kept["parts"]
        for part in in_slices(sorted(p for p in batch if p not in by_patient)):
            theirs = contributions.find({"patient_id": {"$in": part}}, fields)
            by_patient.update(await _charted_parts(theirs))
        for patient, parts in batch.items():
            by_patient.setdefault(patient, {}).update(parts)
        await self._compose(database, by_patient, self.sources, self.odontograms)

    async def derive_all(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        """Every patient's sources and odontogram afresh, into shadows swapped in at the end:
        a patient with no contributions left has none, without a "delete all but" query."""
        fields = dict.fromkeys(NOT_CHARTED, 0)
        by_patient = await _charted_parts(database[self.collection].find({}, fields))
        shadows = {name: SHADOW.format(name) for name in (self.sources, self.odontograms)}
        for shadow in shadows.values():
            await database[shadow].drop()
        await self._compose(database, by_patient, shadows[self.sources], shadows[self.odontograms])
        for live, shadow in shadows.items():
            await swap_in(database, shadow, live)

    async def _compose(
        self,
        database: AsyncDatabase[dict[str, Any]],
        by_patient: dict[str, dict[str, Document]],
        sources: str,
        odontograms: str,
    ) -> None:
        charts = [
            (p, storable(parts), storable(odontogram(UUID(p), list(parts.values()))))
            for p, parts in by_patient.items()
        ]
        for start in range(0, len(charts), WRITE_SLICE):
            part = charts[start : start + WRITE_SLICE]
            kept = [ReplaceOne({"_id": p}, {"parts": s}, upsert=True) for p, s, _ in part]
            await database[sources].bulk_write(kept, ordered=False)
            composed = [ReplaceOne({"_id": p}, chart, upsert=True) for p, _, chart in part]
            await database[odontograms].bulk_write(composed, ordered=False)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        match envelope.aggregate_type:
            case "Treatment":
                doc = _treatment(doc, envelope)
            case "TreatmentPlan":
                doc = _plan(doc, envelope)
            case "Examination":
                doc = {
                    "kind": "examination",
                    "examination_id": str(envelope.aggregate_id),
                    **envelope.payload,
                    "recorded_at": envelope.timestamp.isoformat(),
                }
        doc["updated_at"] = envelope.timestamp.isoformat()
        return doc


async def _charted_parts(
    cursor: AsyncCursor[dict[str, Any]],
) -> dict[str, dict[str, Document]]:
    """Contributions as their patients' charts take them in: by patient, then by id."""
    by_patient: dict[str, dict[str, Document]] = {}
    async for found in cursor:
        contribution = {**found, "id": found.pop("_id")}
        by_patient.setdefault(contribution["patient_id"], {})[contribution["id"]] = contribution
    return by_patient


def _when(contribution: Document) -> tuple[str, str, str]:
    """When a contribution happened in the mouth, then when it was recorded: the order the
    chart applies them in, the same live and rebuilt."""
    moment = contribution.get("performed_at") or contribution.get("examined_at")
    at = datetime.fromisoformat(moment).astimezone(UTC).isoformat() if moment else ""
    return at, str(contribution.get("recorded_at", "")), str(contribution.get("id", ""))


def _mark_tooth(tooth: dict[str, Any], mark: str, surfaces: str, extra: dict[str, Any]) -> None:
    if mark in PER_SURFACE:
        for surface in surfaces:
            tooth["surfaces"][surface] = {"state": mark, **extra}
        return
    conditions: set[str] = set(tooth["conditions"])
    if mark == Mark.MISSING.value:
        conditions = {Mark.MISSING.value}
        tooth["surfaces"] = {}
    elif mark == Mark.IMPLANT.value:
        conditions -= {Mark.MISSING.value, Mark.TO_EXTRACT.value}
        conditions.add(mark)
        if extra.get("devices"):  # its UDI (or lot), as recorded (MDR art. 27)
            tooth["devices"] = extra["devices"]
    elif mark == Mark.MOBILITY.value:
        tooth["mobility"] = extra.get("grade")
    elif mark == Mark.NOTE.value:
        tooth["notes"] = [*tooth["notes"], extra.get("note")]
    else:
        conditions.add(mark)
    tooth["conditions"] = sorted(conditions)


def odontogram(patient_id: UUID, contributions: list[Document]) -> Document:
    """The state of every tooth and surface: what examinations found and treatments did, in
    the order they happened; open items of presented or accepted plans as planned work.
    Red and blue are the client's to draw: `state` says what is wrong, done or planned."""
    teeth: dict[str, dict[str, Any]] = {}

    def tooth_of(number: int) -> dict[str, Any]:
        return teeth.setdefault(
            str(number),
            {"conditions": [], "surfaces": {}, "mobility": None, "notes": [], "planned": []},
        )

    for c in sorted(contributions, key=_when):
        if c["kind"] == "examination":
            for f in c["findings"]:
                extra = {k: f[k] for k in ("material", "grade", "note") if f.get(k) is not None}
                _mark_tooth(tooth_of(f["tooth"]), f["condition"], f["surfaces"], extra)
        elif c["kind"] == "treatment" and c["status"] != TreatmentStatus.VOIDED and c.get("tooth"):
            extra = {"treatment_id": c["treatment_id"], "code": c["code"]}
            if c.get("material"):
                extra["material"] = c["material"]
            if c.get("devices"):
                extra["devices"] = c["devices"]
            if c.get("marks"):
                _mark_tooth(tooth_of(c["tooth"]), c["marks"], c["surfaces"], extra)
    for plan in sorted((c for c in contributions if c["kind"] == "plan"), key=_plan_order):
        if plan["status"] not in (PlanStatus.PRESENTED.value, PlanStatus.ACCEPTED.value):
            continue
        for item in plan["items"]:
            if item.get("tooth") and not item.get("completed_by") and not item.get("withdrawn"):
                planned = {k: item[k] for k in ("item_id", "code", "surfaces")}
                tooth_of(item["tooth"])["planned"].append({**planned, "plan_id": plan["plan_id"]})
    versions = {str(c["id"]): c["version"] for c in contributions if "id" in c}
    return {"patient_id": str(patient_id), "teeth": teeth, "contributions": versions}


def _plan_order(plan: Document) -> tuple[str, str]:
    return str(plan.get("drafted_at", "")), str(plan.get("plan_id", ""))


def treatment_history(contributions: list[Document]) -> list[Document]:
    """The patient's treatments, voided and amended ones too, each with its own history."""
    found = [c for c in contributions if c["kind"] == "treatment"]
    return sorted(found, key=_when)


class TreatmentList(PostgresProjection):
    """Every treatment across patients, for the list and the daily production report (whose
    days are counted in the clinic's zone when asked: `ClinicZoneSeen`)."""

    name = "treatment_list"
    contexts = (CONTEXT,)
    aggregate_types = frozenset({"Treatment"})
    table = "treatment_list"
    columns_ddl = (
        "patient_id uuid NOT NULL, provider_id uuid NOT NULL, code text NOT NULL, "
        "performed_at timestamptz NOT NULL, fee numeric(12, 2) NOT NULL, status text NOT NULL"
    )
    indexes_ddl = (
        "CREATE INDEX IF NOT EXISTS treatment_list_performed ON treatment_list "
        "(performed_at, aggregate_id)",
        "CREATE INDEX IF NOT EXISTS treatment_list_provider ON treatment_list "
        "(provider_id, performed_at)",
        "CREATE INDEX IF NOT EXISTS treatment_list_code ON treatment_list (code, performed_at)",
    )
    column_names = ("patient_id", "provider_id", "code", "performed_at", "fee", "status")

    def ddl(self) -> list[str]:
        # The day used to be stored, counted in a fixed zone; it is counted when asked now.
        return [*super().ddl(), f"ALTER TABLE {self.table} DROP COLUMN IF EXISTS performed_on"]

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = _treatment(dict(document or {}), envelope)
        # Clinical notes stay in the clinical read model; this list is for the desk too.
        doc.pop("clinical_notes", None)
        doc["history"] = [
            {k: v for k, v in entry.items() if k != "clinical_notes"} for entry in doc["history"]
        ]
        doc["updated_at"] = envelope.timestamp.isoformat()
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (
            UUID(document["patient_id"]),
            UUID(document["provider_id"]),
            document["code"],
            datetime.fromisoformat(document["performed_at"]),
            Decimal(document["fee"]),
            document["status"],
        )


class ClinicZoneSeen(PostgresProjection):
    """The clinic's zone as the treatments context learns it from scheduling's clinic set-up
    (its events' payloads): the production report counts days on the clinic's clock."""

    name = "treatments_clinic_zone"
    contexts = ("scheduling",)
    aggregate_types = frozenset({"ClinicSetup"})
    table = "treatments_clinic_zone"
    columns_ddl = "zone text NOT NULL"
    column_names = ("zone",)

    def evolve(self, document: Document | None, envelope: Envelope) -> Document:
        doc = dict(document or {})
        if envelope.event_type == "ClinicSetUp":
            doc["zone"] = envelope.payload["zone_name"]
        return doc

    def columns(self, document: Document) -> tuple[Any, ...]:
        return (document["zone"],)


async def clinic_zone(pool: asyncpg.Pool) -> ZoneInfo:
    """The clinic's zone, or the default until the clinic is set up."""
    found = await pool.fetchval("SELECT zone FROM treatments_clinic_zone LIMIT 1")
    return ZoneInfo(found or DEFAULT_ZONE)


async def production(pool: asyncpg.Pool, since: date, until: date) -> list[Document]:
    """Per clinic day and provider: how many treatments and their fees (voided ones left
    out), from `since` to `until` inclusive, the days counted on the clinic's clock."""
    zone = await clinic_zone(pool)
    rows = await pool.fetch(
        "SELECT (performed_at AT TIME ZONE $3)::date AS day, provider_id, "
        "count(*) AS treatments, sum(fee) AS fees FROM treatment_list "
        "WHERE status <> $4 AND performed_at >= $1 AND performed_at < $2 "
        "GROUP BY day, provider_id ORDER BY day, provider_id",
        datetime.combine(since, time(0), zone),
        datetime.combine(until + timedelta(days=1), time(0), zone),
        str(zone),
        TreatmentStatus.VOIDED.value,
    )
    return [
        {
            "day": row["day"].isoformat(),
            "provider_id": str(row["provider_id"]),
            "treatments": row["treatments"],
            "fees": str(row["fees"]),
        }
        for row in rows
    ]


class TreatmentQueries(PatientHistory):
    """Every read of the treatments' read models: a patient's chart (now or as it stood at
    an earlier instant), history and plans; the cross-patient list; production."""

    @cached_property
    def chart_store(self) -> MongoStore:
        return MongoStore(self.mongo, TreatmentChart())

    @cached_property
    def list_store(self) -> PostgresStore:
        return PostgresStore(self.pool, TreatmentList())

    async def contributions(
        self, patient_id: UUID, leave_out: tuple[str, ...] = ()
    ) -> list[Document]:
        self.states.require(TreatmentChart.name)
        fields = {name: 0 for name in leave_out} or None
        cursor = self.chart_store.documents.find({"patient_id": str(patient_id)}, fields)
        return [{**d, "id": d.pop("_id")} async for d in cursor]

    async def chart(self, patient_id: UUID) -> Document:
        """The live chart, as composed when its contributions were last written."""
        self.states.require(TreatmentChart.name)
        charts = self.chart_store.database[TreatmentChart.odontograms]
        found = await charts.find_one({"_id": str(patient_id)}, {"_id": 0})
        return found if found is not None else odontogram(patient_id, [])

    def charted(self, patient_id: UUID) -> Callable[[UUID], Awaitable[int]]:
        """The version of an aggregate the patient's composed chart has taken in (for
        read-your-writes: the contribution is written a moment before the chart)."""
        charts = self.chart_store.database[TreatmentChart.odontograms]

        async def version_of(aggregate_id: UUID) -> int:
            found = await charts.find_one({"_id": str(patient_id)}, {"contributions": 1})
            return int(((found or {}).get("contributions") or {}).get(str(aggregate_id), 0))

        return version_of

    async def chart_as_of(self, patient_id: UUID, moment: datetime) -> Document:
        """The chart as it showed at `moment`: each contribution folded from the event store
        up to then, composed the same way as the live chart."""
        projection = TreatmentChart()
        known = await self.contributions(patient_id)
        then: list[Document] = []
        for contribution in known:
            events = await self.reader.aggregate_events(CONTEXT, UUID(contribution["id"]))
            folded: Versioned | None = fold_until(projection, events, moment)
            if folded is not None:
                then.append(
                    {**folded.document, "id": contribution["id"], "version": folded.version}
                )
        return odontogram(patient_id, then)

    async def history(self, patient_id: UUID) -> list[Document]:
        return treatment_history(await self.contributions(patient_id))

    async def plans(self, patient_id: UUID) -> list[Document]:
        found = [c for c in await self.contributions(patient_id) if c["kind"] == "plan"]
        return sorted(found, key=_plan_order)

    async def contribution(self, aggregate_id: UUID) -> Document | None:
        self.states.require(TreatmentChart.name)
        found = await self.chart_store.find(aggregate_id)
        return {**found, "id": found.pop("_id")} if found else None

    async def patient_events(self, patient_id: UUID) -> list[Envelope]:
        """Every event of the patient's treatments, examinations and plans, for auditors."""
        found: list[Envelope] = []
        for contribution in await self.contributions(patient_id):
            found += await self.reader.aggregate_events(CONTEXT, UUID(contribution["id"]))
        return sorted(found, key=lambda e: (e.timestamp, e.notification_id))

    async def across_patients(
        self,
        *,
        provider: UUID | None,
        code: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
    ) -> list[Document]:
        """Treatments across patients, newest first, filtered by provider, code and time."""
        rows = await self.pool.fetch(
            "SELECT document FROM treatment_list WHERE ($1::uuid IS NULL OR provider_id = $1) "
            "AND ($2::text IS NULL OR code = $2) "
            "AND ($3::timestamptz IS NULL OR performed_at >= $3) "
            "AND ($4::timestamptz IS NULL OR performed_at < $4) "
            "ORDER BY performed_at DESC, aggregate_id LIMIT $5",
            provider,
            code.upper() if code else None,
            since,
            until,
            limit,
        )
        return [row["document"] for row in rows]

    async def production(self, since: date, until: date) -> list[Document]:
        return await production(self.pool, since, until)
