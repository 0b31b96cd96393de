"""What was done and what was found: recorded treatments and examinations.

A treatment is recorded once; a mistake is corrected by an amendment or voided as entered in
error, each with its reason, never erased. An examination records conditions per tooth and
surface. Events carry plain values (fees as text) so they read well on the bus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import (
    InvalidValue,
    Meta,
    NotYours,
    Role,
    TransitionRefused,
    acting_roles,
    optional_text,
    require_text,
)
from domain.treatments.catalogue import Mark, Placement, Procedure, valid_fee
from domain.treatments.teeth import valid_surfaces, valid_tooth


class TreatmentStatus(StrEnum):
    """Where a recorded treatment stands, as the read models show it."""

    RECORDED = "recorded"
    AMENDED = "amended"  # corrected at least once
    VOIDED = "voided"  # entered in error: out of the chart and production


MOST_MATERIALS = 50
RESTORATION_MATERIALS = frozenset({"amalgam", "composite", "ceramic", "glass_ionomer", "gold"})


def valid_materials(materials: list[dict[str, Any]]) -> list[dict[str, str | None]]:
    """Materials used, each with an optional lot number (an implant's UDI, for recalls)."""
    if len(materials) > MOST_MATERIALS:
        raise InvalidValue(f"at most {MOST_MATERIALS} materials", field="materials")
    return [
        {
            "item": require_text(str(m.get("item") or ""), "material", max_length=120),
            "lot": optional_text(m.get("lot"), "lot number", max_length=120),
        }
        for m in materials
    ]


def _reason(reason: str) -> str:
    return require_text(reason, "reason", max_length=500)


CLINICAL_ROLES = frozenset({Role.DENTIST.value, Role.HYGIENIST.value})


def attributed(provider_id: UUID, provider_roles: frozenset[str], meta: Meta) -> UUID:
    """Who a treatment or examination is attributed to: an active clinician, and the person
    recording unless a dentist records it for another (the production report counts it)."""
    if not provider_roles & CLINICAL_ROLES:
        raise InvalidValue(
            "the provider must be an active dentist or hygienist", field="provider_id"
        )
    if str(provider_id) != meta.actor_id and Role.DENTIST.value not in acting_roles(meta):
        raise NotYours(
            "only a dentist records for another clinician: leave the provider out to record "
            "as yourself"
        )
    return provider_id


def not_before_birth(moment: datetime, born: date, field: str) -> datetime:
    """A clinical date falls in the patient's life: not before the day they were born."""
    if moment.date() < born:
        raise InvalidValue(f"{field} is before the patient's birth ({born})", field=field)
    return moment


def _may_correct(provider_id: UUID, meta: Meta) -> None:
    """Amending or voiding another clinician's record needs a dentist (or an admin)."""
    if str(provider_id) != meta.actor_id and not acting_roles(meta) & {
        Role.DENTIST.value,
        Role.ADMIN.value,
    }:
        raise NotYours("only a dentist or an admin corrects another clinician's treatment")


class Treatment(Aggregate):
    """A procedure done to a patient."""

    @classmethod
    def record(
        cls,
        *,
        patient_id: UUID,
        provider_id: UUID,
        procedure: Procedure,
        placement: Placement,
        fee: Decimal | None,
        performed_at: datetime,
        clinical_notes: str | None,
        materials: list[dict[str, Any]],
        appointment_id: UUID | None,
        plan_item: tuple[UUID, UUID] | None,
        meta: Meta,
    ) -> Treatment:
        if performed_at.tzinfo is None:
            raise InvalidValue("the time it was done must carry its zone", field="performed_at")
        return cls(
            patient_id=patient_id,
            provider_id=provider_id,
            appointment_id=appointment_id,
            performed_at=performed_at,
            code=procedure.code,
            procedure_name=procedure.name_en,
            category=procedure.category,
            marks=procedure.marks.value if procedure.marks else None,
            material=procedure.material,
            tooth=placement.tooth,
            surfaces=placement.surfaces,
            area=placement.area,
            fee=str(valid_fee(procedure.fee if fee is None else fee)),
            clinical_notes=optional_text(
                clinical_notes, "clinical notes", max_length=4000, multiline=True
            ),
            materials=valid_materials(materials),
            plan_id=plan_item[0] if plan_item else None,
            plan_item_id=plan_item[1] if plan_item else None,
            meta=meta,
            bill_of_materials=[{"item": i, "quantity": q} for i, q in procedure.materials],
        )

    @event("TreatmentRecorded")
    def __init__(
        self,
        patient_id: UUID,
        provider_id: UUID,
        appointment_id: UUID | None,
        performed_at: datetime,
        code: str,
        procedure_name: str,
        category: str,
        marks: str | None,
        material: str | None,
        tooth: int | None,
        surfaces: str,
        area: int | None,
        fee: str,
        clinical_notes: str | None,
        materials: list[dict[str, str | None]],
        plan_id: UUID | None,
        plan_item_id: UUID | None,
        meta: Meta,
        bill_of_materials: list[dict[str, Any]] | None = None,  # since inventory; None before
    ) -> None:
        self.patient_id = patient_id
        self.provider_id = provider_id
        self.code = code
        self.procedure_site = (tooth, surfaces, area)
        self.fee = Decimal(fee)
        self.clinical_notes = clinical_notes
        self.materials = materials
        self.voided = False

    def amend(
        self,
        *,
        procedure: Procedure,
        placement: Placement,
        fee: Decimal,
        clinical_notes: str | None,
        materials: list[dict[str, Any]],
        reason: str,
        meta: Meta,
    ) -> None:
        """Corrects where it was done, the fee, the notes or the materials, with a reason."""
        _may_correct(self.provider_id, meta)
        if self.voided:
            raise TransitionRefused("this treatment was voided as entered in error: record anew")
        if procedure.code != self.code:
            raise TransitionRefused(
                "a treatment's procedure cannot be amended: void it and record the right one"
            )
        self._amended(
            tooth=placement.tooth,
            surfaces=placement.surfaces,
            area=placement.area,
            fee=str(valid_fee(fee)),
            clinical_notes=optional_text(
                clinical_notes, "clinical notes", max_length=4000, multiline=True
            ),
            materials=valid_materials(materials),
            reason=_reason(reason),
            meta=meta,
        )

    @event("TreatmentAmended")
    def _amended(
        self,
        tooth: int | None,
        surfaces: str,
        area: int | None,
        fee: str,
        clinical_notes: str | None,
        materials: list[dict[str, str | None]],
        reason: str,
        meta: Meta,
    ) -> None:
        self.procedure_site = (tooth, surfaces, area)
        self.fee = Decimal(fee)
        self.clinical_notes = clinical_notes
        self.materials = materials

    def void(self, reason: str, meta: Meta) -> None:
        _may_correct(self.provider_id, meta)
        if self.voided:
            raise TransitionRefused("this treatment is already voided")
        self._voided(reason=_reason(reason), meta=meta)

    @event("TreatmentVoided")
    def _voided(self, reason: str, meta: Meta) -> None:
        self.voided = True


@dataclass(frozen=True, slots=True)
class Finding:
    """A condition found on a tooth (and surfaces) at an examination."""

    tooth: int
    condition: Mark
    surfaces: str = ""
    material: str | None = None
    grade: int | None = None
    note: str | None = None

    @classmethod
    def create(cls, data: dict[str, Any]) -> Finding:
        tooth = valid_tooth(int(data["tooth"]))
        try:
            condition = Mark(data["condition"])
        except ValueError:
            known = ", ".join(m.value for m in Mark)
            raise InvalidValue(f"condition must be one of {known}", field="condition") from None
        surfaces = valid_surfaces(tooth, str(data.get("surfaces") or ""))
        per_surface = condition in (Mark.CARIES, Mark.RESTORATION, Mark.SEALANT)
        if surfaces and not per_surface:
            raise InvalidValue(
                f"{condition.value} is recorded for the whole tooth, not per surface",
                field="surfaces",
            )
        if per_surface and not surfaces:
            raise InvalidValue(f"{condition.value} names its surfaces", field="surfaces")
        material = data.get("material")
        if condition is Mark.RESTORATION:
            if material not in RESTORATION_MATERIALS:
                known = ", ".join(sorted(RESTORATION_MATERIALS))
                raise InvalidValue(f"a restoration's material is one of {known}", field="material")
        elif material is not None:
            raise InvalidValue("only a restoration names its material", field="material")
        grade = data.get("grade")
        if condition is Mark.MOBILITY:
            if not isinstance(grade, int) or not 0 <= grade <= 3:
                raise InvalidValue("mobility is graded 0 to 3", field="grade")
        elif grade is not None:
            raise InvalidValue("only mobility has a grade", field="grade")
        note = optional_text(data.get("note"), "note", max_length=500, multiline=True)
        if condition is Mark.NOTE and note is None:
            raise InvalidValue("a note needs its text", field="note")
        return cls(tooth, condition, surfaces, material, grade, note)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tooth": self.tooth,
            "condition": self.condition.value,
            "surfaces": self.surfaces,
            "material": self.material,
            "grade": self.grade,
            "note": self.note,
        }


class Examination(Aggregate):
    """What a clinician found on a patient's teeth at one examination."""

    @classmethod
    def record(
        cls,
        *,
        patient_id: UUID,
        provider_id: UUID,
        examined_at: datetime,
        findings: list[dict[str, Any]],
        meta: Meta,
    ) -> Examination:
        if not findings:
            raise InvalidValue("an examination records at least one finding", field="findings")
        if len(findings) > 500:
            raise InvalidValue("at most 500 findings per examination", field="findings")
        checked = [Finding.create(f).as_dict() for f in findings]
        return cls(
            patient_id=patient_id,
            provider_id=provider_id,
            examined_at=examined_at,
            findings=checked,
            meta=meta,
        )

    @event("ConditionsRecorded")
    def __init__(
        self,
        patient_id: UUID,
        provider_id: UUID,
        examined_at: datetime,
        findings: list[dict[str, Any]],
        meta: Meta,
    ) -> None:
        self.patient_id = patient_id
        self.findings = findings
