"""HTTP for the `treatments` context: treatments, examinations, plans, the tooth chart, the
catalogue and the production report. Requests become commands and queries, nothing else.

Every route that shows or changes a patient's treatments is logged in the access log
(`patient_data=True`); clinical notes and the chart are shown only to those who may read
clinical data.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Running, WrittenOut
from api.permissions import (
    CLINICAL_READ,
    CLINICIANS,
    EVERYONE,
    STAFF,
    Actor,
    Grants,
    allowed,
    clinical_text,
    shown_to,
)
from api.problems import Problem
from api.routes import Read, Write, WriteIfMatch, WriteMustMatch
from commands.base import Day, Instant
from commands.treatments import (
    AcceptPlan,
    AmendTreatment,
    ChangeFee,
    DeclinePlan,
    DraftPlan,
    LinkPlanItem,
    PlanItemIn,
    ProcedureIn,
    RecordExamination,
    RecordTreatment,
    Treatments,
    VoidTreatment,
    WithdrawPlanItem,
)
from domain.shared import Role
from domain.treatments import universal
from projections.treatments import TreatmentQueries

router = APIRouter(prefix="/api", tags=["treatments"])
TREATMENTS_READ = "treatments:read"  # treatments (without clinical notes), plans, their fees
TREATMENTS_WRITE = "treatments:write"  # record, amend and void treatments; chart conditions
PLANS_WRITE = "plans:write"  # draft plans, add and withdraw items, present, take consent
CATALOGUE_READ = "catalogue:read"  # procedures, fees, bills of materials (no patient data)
CATALOGUE_MANAGE = "catalogue:manage"  # add procedures, change fees
REPORTS_READ = "reports:read"  # production per provider and day (no patient data)
GRANTS: Grants = {
    TREATMENTS_READ: (*STAFF, Role.AUDITOR),
    TREATMENTS_WRITE: CLINICIANS,
    PLANS_WRITE: CLINICIANS,
    CATALOGUE_READ: EVERYONE,
    CATALOGUE_MANAGE: (Role.ADMIN,),
    REPORTS_READ: (Role.ADMIN, Role.DENTIST, Role.RECEPTIONIST, Role.AUDITOR),
}
Reader = Annotated[Actor, Depends(allowed(TREATMENTS_READ, patient_data=True))]
Recorder = Annotated[Actor, Depends(allowed(TREATMENTS_WRITE, patient_data=True))]
Planner = Annotated[Actor, Depends(allowed(PLANS_WRITE, patient_data=True))]
ChartReader = Annotated[Actor, Depends(allowed(CLINICAL_READ, patient_data=True))]
CatalogueReader = Annotated[Actor, Depends(allowed(CATALOGUE_READ))]
CatalogueManager = Annotated[Actor, Depends(allowed(CATALOGUE_MANAGE))]
ReportReader = Annotated[Actor, Depends(allowed(REPORTS_READ))]
LONGEST_REPORT = timedelta(days=366)
CLINICAL = ("clinical_notes",)


# What the treatments context answers: its read models (projections/treatments.py), field by
# field. Fields a document holds only at some point of its life default to None and are left
# out of the answer while unset (the routes answer with `response_model_exclude_unset`).


class TreatmentStepOut(BaseModel):
    """One step of a treatment's history: recorded, amended or voided, by whom and when."""

    event: str
    at: str
    by: str | None
    role: str | None
    reason: str | None = clinical_text("why it was amended or voided")
    tooth: int | None = None
    surfaces: str | None = None
    area: int | None = None
    fee: str | None = None
    clinical_notes: str | None = clinical_text("the clinician's notes, as amended")
    materials: list[dict[str, str | None]] | None = None


class TreatmentOut(BaseModel):
    """A treatment; clinical notes only for those who may read clinical data."""

    kind: str
    treatment_id: str
    patient_id: str
    provider_id: str
    appointment_id: str | None
    performed_at: str
    code: str
    procedure_name: str
    category: str
    marks: str | None
    material: str | None
    tooth: int | None
    surfaces: str
    area: int | None
    fee: str
    clinical_notes: str | None = clinical_text("the clinician's notes")
    materials: list[dict[str, str | None]]
    plan_id: str | None
    plan_item_id: str | None
    status: str = Field(description="recorded, amended or voided")
    recorded_at: str
    history: list[TreatmentStepOut]
    updated_at: str
    id: str | None = Field(default=None, description="absent from the cross-patient list")
    version: int | None = Field(default=None, description="absent from the cross-patient list")
    key: str | None = Field(
        default=None, alias="_id", description="the same as `id`, as the read model keys it"
    )


class TreatmentsOut(BaseModel):
    items: list[TreatmentOut]


class PatientTreatmentsOut(BaseModel):
    patient_id: str
    items: list[TreatmentOut]


class PlanItemOut(BaseModel):
    item_id: str
    code: str
    procedure_name: str
    tooth: int | None
    surfaces: str
    area: int | None
    fee: str
    phase: str
    priority: int
    added_at: str
    appointment_id: str | None
    completed_by: str | None = Field(description="the treatment that did it")
    withdrawn: str | None = clinical_text("why it was withdrawn")


class ConsentOut(BaseModel):
    signed_by: str
    document_version: str
    consented_at: str
    taken_by: str | None


class DeclinedOut(BaseModel):
    reason: str | None = clinical_text("why the patient declined, as the clinician wrote it")
    at: str
    by: str | None
    role: str | None


class PlanTotalsOut(BaseModel):
    per_phase: dict[str, str]
    total: str
    done: str
    pending: str


class PlanOut(BaseModel):
    kind: str
    plan_id: str
    patient_id: str
    title: str
    status: str
    drafted_at: str
    drafted_by: str | None
    presented_at: str | None = None
    consent: ConsentOut | None
    declined: DeclinedOut | None
    items: list[PlanItemOut]
    totals: PlanTotalsOut
    updated_at: str
    id: str
    version: int
    key: str | None = Field(
        default=None, alias="_id", description="the same as `id`, as the read model keys it"
    )


class PatientPlansOut(BaseModel):
    patient_id: str
    items: list[PlanOut]


class SurfaceOut(BaseModel):
    """What a surface shows: a finding, or the treatment that marked it."""

    state: str
    material: str | None = None
    grade: int | None = None
    note: str | None = clinical_text("the examiner's note")
    treatment_id: str | None = None
    code: str | None = None


class PlannedOut(BaseModel):
    item_id: str
    code: str
    surfaces: str
    plan_id: str


class ToothOut(BaseModel):
    conditions: list[str]
    surfaces: dict[str, SurfaceOut]
    mobility: int | None
    notes: list[str | None]
    planned: list[PlannedOut]
    universal: str | None = Field(default=None, description="with `numbering=universal`")
    devices: list[str] | None = Field(
        default=None, description="an implant's UDI (or lot) as recorded (MDR 2017/745 art. 27)"
    )


class ToothChartOut(BaseModel):
    """The odontogram: every charted tooth by its FDI number."""

    patient_id: str
    teeth: dict[str, ToothOut]
    contributions: dict[str, int] = Field(description="the version of each aggregate taken in")
    numbering: str
    as_of: str | None


class MaterialOut(BaseModel):
    item: str
    quantity: int


class ProcedureOut(BaseModel):
    code: str
    name_es: str
    name_en: str
    category: str
    fee: str
    minutes: int
    site: str
    marks: str | None
    material: str | None
    min_surfaces: int
    max_surfaces: int
    materials: list[MaterialOut]
    needs_consent: bool


class CatalogueOut(BaseModel):
    items: list[ProcedureOut]


class ProductionRowOut(BaseModel):
    day: str
    provider_id: str
    treatments: int
    fees: str


class ProductionOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    since: str = Field(alias="from")
    until: str = Field(alias="to")
    rows: list[ProductionRowOut]


class PlanItemWrittenOut(WrittenOut):
    item_id: str


# Treatments ---------------------------------------------------------------------------------


@router.post("/treatments", status_code=201, response_model=WrittenOut)
def record_treatment(body: RecordTreatment, who: Recorder, write: Write) -> dict[str, object]:
    """RecordTreatment: a completed procedure. Its fee is the catalogue's unless given."""
    write.about(body.patient_id)
    result = write.get(Treatments).record(body, who.meta)
    return write.answer(result, at="/api/treatments")


@router.get("/treatments", response_model=TreatmentsOut, response_model_exclude_unset=True)
async def list_treatments(
    read: Read,
    who: Reader,
    provider: UUID | None = None,
    code: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[Instant | None, Query(alias="from")] = None,
    until: Annotated[Instant | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, object]:
    """Treatments across patients, newest first (no clinical notes: the desk reads it too)."""
    records = read.get(TreatmentQueries)
    await read.consistent(records.list_store.version_of)
    items = await records.across_patients(
        provider=provider, code=code, since=since, until=until, limit=limit
    )
    read.shows(items)
    return {"items": shown_to(who, TreatmentOut, items)}


def _of_kind(found: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    return found if found is not None and found.get("kind") == kind else None


@router.get(
    "/treatments/{treatment_id}", response_model=TreatmentOut, response_model_exclude_unset=True
)
async def get_treatment(treatment_id: UUID, read: Read, who: Reader) -> dict[str, object]:
    records = read.get(TreatmentQueries)
    await read.consistent(records.chart_store.version_of)
    found = _of_kind(await records.contribution(treatment_id), "treatment")
    return shown_to(who, TreatmentOut, read.found(found, f"treatment {treatment_id}"))


@router.put("/treatments/{treatment_id}", response_model=WrittenOut)
def amend_treatment(
    treatment_id: UUID, body: AmendTreatment, who: Recorder, write: WriteMustMatch
) -> dict[str, object]:
    """A correction, with its reason; the treatment as first recorded stays in its history."""
    treatments = write.get(Treatments)
    return write.answer(treatments.amend(treatment_id, body, who.meta, write.version))


@router.post("/treatments/{treatment_id}/void", response_model=WrittenOut)
def void_treatment(
    treatment_id: UUID, body: VoidTreatment, who: Recorder, write: WriteIfMatch
) -> dict[str, object]:
    """Entered in error: the treatment stays, marked void, out of the chart and production."""
    treatments = write.get(Treatments)
    return write.answer(treatments.void(treatment_id, body, who.meta, write.version))


@router.post("/examinations", status_code=201, response_model=WrittenOut)
def record_examination(body: RecordExamination, who: Recorder, write: Write) -> dict[str, object]:
    """Conditions found per tooth and surface: caries, restorations, missing teeth, ..."""
    write.about(body.patient_id)
    return write.answer(write.get(Treatments).record_examination(body, who.meta))


# A patient's treatments, chart and plans ------------------------------------------------


@router.get(
    "/patients/{patient_id}/treatments",
    response_model=PatientTreatmentsOut,
    response_model_exclude_unset=True,
)
async def patient_treatments(patient_id: UUID, read: Read, who: Reader) -> dict[str, object]:
    """The patient's treatment history (the seed's `GET /treatments/:patientId`), voided and
    amended treatments included, each with its own history."""
    records = read.get(TreatmentQueries)
    await read.consistent(records.chart_store.version_of)
    history = await records.history(patient_id)
    return {"patient_id": str(patient_id), "items": shown_to(who, TreatmentOut, history)}


@router.get(
    "/patients/{patient_id}/chart", response_model=ToothChartOut, response_model_exclude_unset=True
)
async def patient_chart(
    patient_id: UUID,
    read: Read,
    who: ChartReader,
    as_of: Annotated[
        Instant | None, Query(description="the chart as it showed at this instant")
    ] = None,
    numbering: Annotated[str, Query(pattern="^(fdi|universal)$")] = "fdi",
) -> dict[str, object]:
    """The odontogram: every tooth's conditions, surfaces, mobility, notes and planned work."""
    records = read.get(TreatmentQueries)
    if as_of is not None:
        read.note("as_of", as_of.isoformat())
        chart = await records.chart_as_of(patient_id, as_of)
    else:
        await read.consistent(records.charted(patient_id))
        chart = await records.chart(patient_id)
    if numbering == "universal":
        for number, tooth in chart["teeth"].items():
            tooth["universal"] = universal(int(number))
    return {**chart, "numbering": numbering, "as_of": _iso(as_of)}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@router.get(
    "/patients/{patient_id}/plans",
    response_model=PatientPlansOut,
    response_model_exclude_unset=True,
)
async def patient_plans(patient_id: UUID, read: Read, who: Reader) -> dict[str, object]:
    records = read.get(TreatmentQueries)
    await read.consistent(records.chart_store.version_of)
    plans = await records.plans(patient_id)
    return {"patient_id": str(patient_id), "items": shown_to(who, PlanOut, plans)}


# Plans ------------------------------------------------------------------------------------


@router.post("/plans", status_code=201, response_model=WrittenOut)
def draft_plan(body: DraftPlan, who: Planner, write: Write) -> dict[str, object]:
    write.about(body.patient_id)
    result = write.get(Treatments).draft_plan(body, who.meta)
    return write.answer(result, at="/api/plans")


@router.get("/plans/{plan_id}", response_model=PlanOut, response_model_exclude_unset=True)
async def get_plan(plan_id: UUID, read: Read, who: Reader) -> dict[str, object]:
    records = read.get(TreatmentQueries)
    await read.consistent(records.chart_store.version_of)
    found = _of_kind(await records.contribution(plan_id), "plan")
    return shown_to(who, PlanOut, read.found(found, f"plan {plan_id}"))


@router.post("/plans/{plan_id}/items", status_code=201, response_model=PlanItemWrittenOut)
def add_plan_item(
    plan_id: UUID, body: PlanItemIn, who: Planner, write: WriteIfMatch
) -> dict[str, object]:
    result = write.get(Treatments).add_plan_item(plan_id, body, who.meta, write.version)
    return write.answer(result, created="item_id")


@router.post("/plans/{plan_id}/items/{item_id}/withdraw", response_model=WrittenOut)
def withdraw_plan_item(
    plan_id: UUID, item_id: UUID, body: WithdrawPlanItem, who: Planner, write: WriteIfMatch
) -> dict[str, object]:
    plans = write.get(Treatments)
    return write.answer(plans.withdraw_plan_item(plan_id, item_id, body, who.meta, write.version))


@router.post("/plans/{plan_id}/items/{item_id}/appointment", response_model=WrittenOut)
def link_plan_item(
    plan_id: UUID, item_id: UUID, body: LinkPlanItem, who: Planner, write: WriteIfMatch
) -> dict[str, object]:
    """The appointment at which this item is to be done."""
    plans = write.get(Treatments)
    return write.answer(plans.link_plan_item(plan_id, item_id, body, who.meta, write.version))


@router.post("/plans/{plan_id}/present", response_model=WrittenOut)
def present_plan(plan_id: UUID, who: Planner, write: WriteIfMatch) -> dict[str, object]:
    return write.answer(write.get(Treatments).present_plan(plan_id, who.meta, write.version))


@router.post("/plans/{plan_id}/accept", response_model=WrittenOut)
def accept_plan(
    plan_id: UUID, body: AcceptPlan, who: Planner, write: WriteIfMatch
) -> dict[str, object]:
    """The patient's consent: who signed, which document version, when; you took it."""
    return write.answer(write.get(Treatments).accept_plan(plan_id, body, who.meta, write.version))


@router.post("/plans/{plan_id}/decline", response_model=WrittenOut)
def decline_plan(
    plan_id: UUID, body: DeclinePlan, who: Planner, write: WriteIfMatch
) -> dict[str, object]:
    return write.answer(write.get(Treatments).decline_plan(plan_id, body, who.meta, write.version))


# The catalogue and the production report ----------------------------------------------------


@router.get("/catalogue", response_model=CatalogueOut)
def get_catalogue(who: CatalogueReader, running: Running) -> dict[str, object]:
    """Every procedure with its code, names, category, current fee, duration, what it applies
    to and its bill of materials."""
    procedures = running.get(Treatments).catalogue().procedures.values()
    ordered = sorted(procedures, key=lambda p: p.code)
    return {"items": [{**p.as_dict(), "needs_consent": p.needs_consent} for p in ordered]}


@router.post("/catalogue", status_code=201, response_model=WrittenOut)
def add_procedure(body: ProcedureIn, who: CatalogueManager, write: Write) -> dict[str, object]:
    return write.answer(write.get(Treatments).add_procedure(body, who.meta))


@router.put("/catalogue/{code}/fee", response_model=WrittenOut)
def change_fee(
    code: Annotated[str, Path(max_length=16)], body: ChangeFee, who: CatalogueManager, write: Write
) -> dict[str, object]:
    """The new fee applies to treatments recorded from now on, never to past ones."""
    return write.answer(write.get(Treatments).change_fee(code, body, who.meta))


@router.get("/reports/production", response_model=ProductionOut)
async def production_report(
    read: Read,
    who: ReportReader,
    since: Annotated[Day, Query(alias="from")],
    until: Annotated[Day, Query(alias="to")],
) -> dict[str, object]:
    """Per clinic day and provider: treatments done and their fees, voided ones left out."""
    if until < since or until - since > LONGEST_REPORT:
        raise Problem(
            400,
            "invalid-range",
            "The dates are not a valid range",
            "`to` is on or after `from`, at most a year later",
        )
    records = read.get(TreatmentQueries)
    await read.consistent(records.list_store.version_of)
    return {"from": since.isoformat(), "to": until.isoformat(),
            "rows": await records.production(since, until)}  # fmt: skip
