"""Commands on treatments, examinations, plans and the catalogue, and the Application that
handles them: load, decide, save. A treatment that does a plan's item completes the item in
the same transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate
from pydantic import Field, StringConstraints

from commands.base import (
    ClinicApplication,
    Command,
    DecimalForm,
    Instant,
    Scanned,
    Unit,
    Written,
)
from domain.shared import InvalidValue, Meta, TransitionRefused
from domain.treatments import (
    CATALOGUE_ID,
    Catalogue,
    Examination,
    Mark,
    Procedure,
    Site,
    Treatment,
    TreatmentPlan,
    VisitAtCompletion,
    attributed,
    not_before_birth,
    visit_at_completion_id,
)
from infra.logs import get_logger

Code = Annotated[str, StringConstraints(min_length=1, max_length=16)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Notes = Annotated[str, StringConstraints(max_length=4000)]
Surfaces = Annotated[str, StringConstraints(max_length=8)]
Tooth = Annotated[int, Field(ge=0, le=999)]
Area = Annotated[int, Field(ge=0, le=99)]
# Euros: text or a number in JSON; exactness (whole cents, not negative) is the domain's rule.
FEE = DecimalForm(10, "a fee in euros like 45.50")  # under ten thousand million euros
Fee = Annotated[Decimal, FEE.before, FEE.bounds, FEE.schema]


log = get_logger("commands.treatments")
CLOCK_SKEW = timedelta(minutes=5)


class References(Protocol):
    """What a clinical record asks of the other contexts before it is written (ADR 24): the
    facts its ids name, read from their aggregates. Each raises `NotFound` for a patient or
    an appointment that does not exist."""

    def birth_date(self, patient_id: UUID) -> date:
        """The patient's birth date."""
        ...

    def patient_of(self, appointment_id: UUID) -> UUID:
        """The patient the appointment is for."""
        ...

    def roles_of(self, staff_id: UUID) -> frozenset[str]:
        """An active staff member's roles; none for an unknown or deactivated account."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class MaterialIn(Command):
    item: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    lot: Scanned | None = Field(
        default=None, description="its lot number, or an implant's scanned UDI (GS1)"
    )


class Where(Command):
    """Where in the mouth: a tooth and surfaces, an area (quadrant or sextant), or neither."""

    tooth: Tooth | None = None
    surfaces: Surfaces = ""
    area: Area | None = None


class TreatmentDone(Where):
    """One procedure done: what, where, for what fee, with which notes and materials, and
    the plan item it does, if any."""

    code: Code
    fee: Fee | None = Field(default=None, description="default: the catalogue's current fee")
    clinical_notes: Notes | None = None
    materials: list[MaterialIn] = Field(default_factory=list, max_length=50)
    plan_id: UUID | None = None
    plan_item_id: UUID | None = None


class RecordTreatment(TreatmentDone):
    patient_id: UUID
    provider_id: UUID | None = Field(default=None, description="who did it; default: you")
    appointment_id: UUID | None = None
    performed_at: Instant | None = Field(default=None, description="default: now")


class RecordVisit(Command):
    """Everything done at one appointment, recorded together: all of it or none."""

    patient_id: UUID
    provider_id: UUID | None = Field(default=None, description="who did it; default: you")
    performed_at: Instant | None = Field(default=None, description="default: now")
    treatments: list[TreatmentDone] = Field(min_length=1, max_length=50)


def _claimed_first(earlier: Written, ours: list[Written]) -> list[Written]:
    """A keyed request run again after its first run committed: the claim remembers the
    first treatment that run wrote."""
    return [earlier, *ours[1:]]


def _digest(cmd: RecordVisit) -> str:
    """The same visit sent again has the same digest; any other visit has another."""
    text = json.dumps(cmd.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class AmendTreatment(Where):
    fee: Fee
    clinical_notes: Notes | None = None
    materials: list[MaterialIn] = Field(default_factory=list, max_length=50)
    reason: Reason


class VoidTreatment(Command):
    reason: Reason


class FindingIn(Command):
    tooth: Tooth
    condition: Annotated[str, StringConstraints(max_length=32)]
    surfaces: Surfaces = ""
    material: Annotated[str, StringConstraints(max_length=32)] | None = None
    grade: Annotated[int, Field(ge=0, le=3)] | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None

    multiline = frozenset({"note"})


class RecordExamination(Command):
    patient_id: UUID
    provider_id: UUID | None = None
    examined_at: Instant | None = None
    findings: list[FindingIn] = Field(max_length=500)


class PlanItemIn(Where):
    code: Code
    fee: Fee | None = None
    phase: Annotated[str, StringConstraints(max_length=32)] = "basic"
    priority: Annotated[int, Field(ge=1, le=5)] = 3


class DraftPlan(Command):
    patient_id: UUID
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    items: list[PlanItemIn] = Field(default_factory=list, max_length=200)


class WithdrawPlanItem(Command):
    reason: Reason


class LinkPlanItem(Command):
    appointment_id: UUID


class AcceptPlan(Command):
    signed_by: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    document_version: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    consented_at: Instant | None = None


class DeclinePlan(Command):
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None


class BillOfMaterialsItem(Command):
    """What a procedure uses up: an item of stock and how many."""

    item: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    quantity: Annotated[int, Field(ge=1, le=1000)]


class ProcedureIn(Command):
    code: Code
    name_es: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    name_en: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    category: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    fee: Fee
    minutes: Annotated[int, Field(ge=1, le=480)]  # at most a working day
    site: Site
    marks: Mark | None = None  # what the procedure leaves on the chart
    min_surfaces: Annotated[int, Field(ge=0, le=5)] = 0  # a tooth has five surfaces
    max_surfaces: Annotated[int, Field(ge=0, le=5)] = 0
    materials: list[BillOfMaterialsItem] = Field(default_factory=list, max_length=50)


class ChangeFee(Command):
    fee: Fee


class Treatments(ClinicApplication):
    """The command side of the `treatments` context."""

    def __init__(
        self, env: dict[str, str] | None = None, now: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(env)
        self.now = now
        self._references: References | None = None

    def refer_with(self, references: References) -> None:
        """The other contexts' facts a record is checked against (commands/visits.py)."""
        self._references = references

    @property
    def references(self) -> References:
        if self._references is None:
            raise RuntimeError("Treatments has no references: call refer_with() first")
        return self._references

    def _patient_born(self, patient_id: UUID) -> date:
        """The patient's birth date: the patient must exist (404 otherwise)."""
        return self.references.birth_date(patient_id)

    def _appointment_of(self, patient_id: UUID, appointment_id: UUID) -> None:
        """The appointment must exist and be this patient's."""
        if self.references.patient_of(appointment_id) != patient_id:
            raise InvalidValue(
                f"appointment {appointment_id} is not this patient's", field="appointment_id"
            )

    def _provider(self, provider_id: UUID | None, meta: Meta) -> UUID:
        """Who it is attributed to: an active clinician; another than yourself for a dentist."""
        provider = provider_id or _staff(meta)
        return attributed(provider, self.references.roles_of(provider), meta)

    # The catalogue ---------------------------------------------------------------------

    def catalogue(self) -> Catalogue:
        """The clinic's catalogue; the default one until the clinic changes it."""
        if self.exists(CATALOGUE_ID):
            return self.load(CATALOGUE_ID, Catalogue)
        return Catalogue.open(Meta.unrecorded())

    def _catalogue_change(self, decide: Callable[[Catalogue], object], meta: Meta) -> Written:
        def decided(catalogue: Catalogue) -> None:
            decide(catalogue)

        return self.change(
            CATALOGUE_ID,
            Catalogue,
            decided,
            new=lambda: Catalogue.open(meta),
            attempts=5,
        )

    def add_procedure(self, cmd: ProcedureIn, meta: Meta) -> Written:
        procedure = Procedure.create(cmd.model_dump())
        return self._catalogue_change(lambda c: c.add(procedure, meta), meta)

    def change_fee(self, code: str, cmd: ChangeFee, meta: Meta) -> Written:
        """The new fee applies to what is recorded from now on; recorded treatments keep
        theirs."""
        return self._catalogue_change(lambda c: c.change_fee(code, cmd.fee, meta), meta)

    # Treatments ------------------------------------------------------------------------

    def record(self, cmd: RecordTreatment, meta: Meta) -> Written:
        """RecordTreatment; a plan's item it does is completed in the same transaction."""
        visit = RecordVisit(
            patient_id=cmd.patient_id,
            provider_id=cmd.provider_id,
            performed_at=cmd.performed_at,
            treatments=[TreatmentDone.model_validate(cmd.model_dump(include=DONE_FIELDS))],
        )
        return self.record_visit(visit, meta, cmd.appointment_id)[0]

    def record_visit(
        self, cmd: RecordVisit, meta: Meta, appointment_id: UUID | None
    ) -> list[Written]:
        """Every treatment of one visit (and the plan items they do) in one transaction."""
        decide = self._recording(cmd, meta, appointment_id)
        return self.unit_of_work(decide, attempts=5, carried_out=_claimed_first)

    def visit_at_completion(self, appointment_id: UUID) -> VisitAtCompletion | None:
        """The treatments recorded with this appointment's completion, if they were."""
        found = visit_at_completion_id(appointment_id)
        return self.load(found, VisitAtCompletion) if self.exists(found) else None

    def record_at_completion(
        self, cmd: RecordVisit, meta: Meta, appointment_id: UUID
    ) -> list[Written]:
        """The visit's treatments, recorded once for the appointment's completion: the same
        visit sent again gets the treatments first recorded, and records nothing; another
        visit for the same completion is refused (amend, void or record more instead)."""
        record = self._recording(cmd, meta, appointment_id, completes=appointment_id)
        digest = _digest(cmd)

        def decide() -> Unit[list[Written]]:
            earlier = self.visit_at_completion(appointment_id)
            if earlier is None:
                return record()
            return Unit(
                [Written.of(self.load(t, Treatment)) for t in earlier.treatments_of(digest)]
            )

        return self.unit_of_work(decide, attempts=5, carried_out=_claimed_first)

    def _recording(
        self,
        cmd: RecordVisit,
        meta: Meta,
        appointment_id: UUID | None,
        *,
        completes: UUID | None = None,
    ) -> Callable[[], Unit[list[Written]]]:
        """The decision to record the visit's treatments, with the plan items they do and,
        when they complete an appointment, the `VisitAtCompletion` that says so. What does
        not depend on the store as it is at the save is checked once, here."""
        catalogue = self.catalogue()
        born = self._patient_born(cmd.patient_id)
        if appointment_id is not None:
            self._appointment_of(cmd.patient_id, appointment_id)
        provider = self._provider(cmd.provider_id, meta)
        performed_at = not_before_birth(
            _not_later_than(cmd.performed_at, self.now(), "performed_at"), born, "performed_at"
        )
        done = [(d, catalogue.procedure(d.code)) for d in cmd.treatments]
        placed = [(d, p, p.place(d.tooth, d.surfaces, d.area)) for d, p in done]

        def decide() -> Unit[list[Written]]:
            made: list[Treatment] = []
            plans: dict[UUID, TreatmentPlan] = {}
            for item, procedure, placement in placed:
                plan_item = (
                    (item.plan_id, item.plan_item_id)
                    if item.plan_id and item.plan_item_id
                    else None
                )
                treatment = Treatment.record(
                    patient_id=cmd.patient_id,
                    provider_id=provider,
                    procedure=procedure,
                    placement=placement,
                    fee=item.fee,
                    performed_at=performed_at,
                    clinical_notes=item.clinical_notes,
                    materials=[m.model_dump() for m in item.materials],
                    appointment_id=appointment_id,
                    plan_item=plan_item,
                    meta=meta,
                )
                made.append(treatment)
                if plan_item is not None:
                    plan_id, item_id = plan_item
                    plan = plans.get(plan_id) or self.load(plan_id, TreatmentPlan)
                    if plan.patient_id != cmd.patient_id:
                        raise TransitionRefused("that plan belongs to another patient")
                    plan.complete_item(item_id, treatment.id, procedure.code, meta)
                    plans[plan_id] = plan
            marked: list[Aggregate] = []
            if completes is not None:
                ids = [t.id for t in made]
                marked.append(VisitAtCompletion(completes, cmd.patient_id, ids, _digest(cmd)))
            written = [Written.of(t) for t in made]
            return Unit(written, (*made, *plans.values(), *marked), claim=written[0])

        return decide

    def amend(
        self, treatment_id: UUID, cmd: AmendTreatment, meta: Meta, expected_version: int | None
    ) -> Written:
        catalogue = self.catalogue()

        def decide(treatment: Treatment) -> None:
            procedure = catalogue.procedure(treatment.code)
            treatment.amend(
                procedure=procedure,
                placement=procedure.place(cmd.tooth, cmd.surfaces, cmd.area),
                fee=cmd.fee,
                clinical_notes=cmd.clinical_notes,
                materials=[m.model_dump() for m in cmd.materials],
                reason=cmd.reason,
                meta=meta,
            )

        return self._correction("amended", treatment_id, decide, meta, expected_version)

    def void(
        self, treatment_id: UUID, cmd: VoidTreatment, meta: Meta, expected_version: int | None
    ) -> Written:
        return self._correction(
            "voided", treatment_id, lambda t: t.void(cmd.reason, meta), meta, expected_version
        )

    def _correction(
        self,
        what: str,
        treatment_id: UUID,
        decide: Callable[[Treatment], None],
        meta: Meta,
        expected_version: int | None,
    ) -> Written:
        """A correction; one of another clinician's treatment is logged once saved (ids and
        roles only), beside the event that records who made it."""
        provider: list[UUID] = []

        def decided(treatment: Treatment) -> None:
            decide(treatment)
            provider[:] = [treatment.provider_id]

        written = self.change(treatment_id, Treatment, decided, expected_version)
        if provider and str(provider[0]) != meta.actor_id:
            log.info(
                "another clinician's treatment corrected",
                correction=what,
                treatment_id=str(treatment_id),
                provider_id=str(provider[0]),
                by=meta.actor_id,
                role=meta.actor_role,
            )
        return written

    def record_examination(self, cmd: RecordExamination, meta: Meta) -> Written:
        born = self._patient_born(cmd.patient_id)
        provider = self._provider(cmd.provider_id, meta)
        examined_at = not_before_birth(
            _not_later_than(cmd.examined_at, self.now(), "examined_at"), born, "examined_at"
        )
        return self.create(
            lambda: Examination.record(
                patient_id=cmd.patient_id,
                provider_id=provider,
                examined_at=examined_at,
                findings=[f.model_dump() for f in cmd.findings],
                meta=meta,
            )
        )

    # Plans -----------------------------------------------------------------------------

    def draft_plan(self, cmd: DraftPlan, meta: Meta) -> Written:
        catalogue = self.catalogue()
        self._patient_born(cmd.patient_id)

        def make() -> TreatmentPlan:
            plan = TreatmentPlan.draft(cmd.patient_id, cmd.title, meta)
            for item in cmd.items:
                self._add(plan, catalogue, item, meta)
            return plan

        return self.create(make)

    @staticmethod
    def _add(plan: TreatmentPlan, catalogue: Catalogue, item: PlanItemIn, meta: Meta) -> UUID:
        procedure = catalogue.procedure(item.code)
        return plan.add_item(
            procedure=procedure,
            placement=procedure.place(item.tooth, item.surfaces, item.area),
            fee=item.fee,
            phase=item.phase,
            priority=item.priority,
            meta=meta,
        )

    def add_plan_item(
        self, plan_id: UUID, cmd: PlanItemIn, meta: Meta, expected_version: int | None
    ) -> Written:
        """`created` is the new item's id."""
        catalogue = self.catalogue()
        return self.change(
            plan_id,
            TreatmentPlan,
            lambda plan: self._add(plan, catalogue, cmd, meta),
            expected_version,
        )

    def withdraw_plan_item(
        self,
        plan_id: UUID,
        item_id: UUID,
        cmd: WithdrawPlanItem,
        meta: Meta,
        expected_version: int | None,
    ) -> Written:
        return self.change(
            plan_id,
            TreatmentPlan,
            lambda plan: plan.withdraw_item(item_id, cmd.reason, meta),
            expected_version,
        )

    def link_plan_item(
        self,
        plan_id: UUID,
        item_id: UUID,
        cmd: LinkPlanItem,
        meta: Meta,
        expected_version: int | None,
    ) -> Written:
        def decide(plan: TreatmentPlan) -> None:
            self._appointment_of(plan.patient_id, cmd.appointment_id)
            plan.link_item(item_id, cmd.appointment_id, meta)

        return self.change(plan_id, TreatmentPlan, decide, expected_version)

    def present_plan(self, plan_id: UUID, meta: Meta, expected_version: int | None) -> Written:
        return self.change(
            plan_id, TreatmentPlan, lambda plan: plan.present(meta), expected_version
        )

    def accept_plan(
        self, plan_id: UUID, cmd: AcceptPlan, meta: Meta, expected_version: int | None
    ) -> Written:
        return self.change(
            plan_id,
            TreatmentPlan,
            lambda plan: plan.accept(
                signed_by=cmd.signed_by,
                document_version=cmd.document_version,
                consented_at=not_before_birth(
                    _not_later_than(cmd.consented_at, self.now(), "consented_at"),
                    self._patient_born(plan.patient_id),
                    "consented_at",
                ),
                meta=meta,
            ),
            expected_version,
        )

    def decline_plan(
        self, plan_id: UUID, cmd: DeclinePlan, meta: Meta, expected_version: int | None
    ) -> Written:
        return self.change(
            plan_id, TreatmentPlan, lambda plan: plan.decline(cmd.reason, meta), expected_version
        )


DONE_FIELDS = set(TreatmentDone.model_fields)


def _not_later_than(moment: datetime | None, now: datetime, field: str) -> datetime:
    """What was done or found happened already (a few minutes of clock skew allowed)."""
    if moment is None:
        return now
    if moment > now + CLOCK_SKEW:
        raise InvalidValue(f"{field} is in the future", field=field)
    return moment


def _staff(meta: Meta) -> UUID:
    """The staff member acting, as the provider when none is named."""
    try:
        return UUID(meta.actor_id)
    except ValueError:
        raise InvalidValue("name the provider who did it", field="provider_id") from None
