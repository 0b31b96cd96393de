"""Treatment plans (presupuestos): items per tooth with fees, in phases, consented or not.

A plan is drafted, presented, then accepted (with the consent: who took it, who signed,
which document version, when) or declined. A change after acceptance is a new event (an
item added, an item withdrawn with its reason), never an edit. Items are completed by
recorded treatments; the amount still pending is what is neither done nor withdrawn.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.shared import InvalidValue, Meta, TransitionRefused, optional_text, require_text
from domain.treatments.catalogue import Placement, Procedure, valid_fee

MOST_ITEMS = 200


class PlanStatus(StrEnum):
    DRAFT = "draft"
    PRESENTED = "presented"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Phase(StrEnum):
    URGENT = "urgent"
    BASIC = "basic"
    REHABILITATION = "rehabilitation"
    AESTHETIC = "aesthetic"


@dataclass(frozen=True, slots=True)
class PlanItem:
    item_id: UUID
    code: str
    tooth: int | None
    surfaces: str
    area: int | None
    fee: Decimal
    phase: Phase
    priority: int
    appointment_id: UUID | None = None
    completed_by: UUID | None = None
    withdrawn: str | None = None  # the reason

    @property
    def open(self) -> bool:
        return self.completed_by is None and self.withdrawn is None


def plan_totals(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals per phase (items not withdrawn), what is done and what is still pending.
    Works on the event's plain items, so the read model and the aggregate agree."""
    phases: dict[str, Decimal] = {}
    done = pending = Decimal("0.00")
    for item in items:
        if item.get("withdrawn"):
            continue
        fee = Decimal(item["fee"])
        phases[item["phase"]] = phases.get(item["phase"], Decimal("0.00")) + fee
        if item.get("completed_by"):
            done += fee
        else:
            pending += fee
    return {
        "per_phase": {p.value: str(phases[p.value]) for p in Phase if p.value in phases},
        "total": str(done + pending),
        "done": str(done),
        "pending": str(pending),
    }


class TreatmentPlan(Aggregate):
    """A patient's plan of treatment, from draft to consent and completion."""

    @classmethod
    def draft(cls, patient_id: UUID, title: str, meta: Meta) -> TreatmentPlan:
        return cls(
            patient_id=patient_id, title=require_text(title, "title", max_length=200), meta=meta
        )

    @event("PlanDrafted")
    def __init__(self, patient_id: UUID, title: str, meta: Meta) -> None:
        self.patient_id = patient_id
        self.title = title
        self.status = PlanStatus.DRAFT
        self.items: dict[UUID, PlanItem] = {}

    def _open_for_changes(self) -> None:
        if self.status is PlanStatus.DECLINED:
            raise TransitionRefused("the patient declined this plan: draft a new one")

    def add_item(
        self,
        *,
        procedure: Procedure,
        placement: Placement,
        fee: Decimal | None,
        phase: str,
        priority: int,
        meta: Meta,
    ) -> UUID:
        self._open_for_changes()
        if len(self.items) >= MOST_ITEMS:
            raise InvalidValue(f"a plan has at most {MOST_ITEMS} items", field="items")
        try:
            checked_phase = Phase(phase)
        except ValueError:
            known = ", ".join(p.value for p in Phase)
            raise InvalidValue(f"phase must be one of {known}", field="phase") from None
        if not 1 <= priority <= 5:
            raise InvalidValue("priority is 1 (first) to 5", field="priority")
        item_id = uuid4()
        self._item_added(
            item_id=item_id,
            code=procedure.code,
            procedure_name=procedure.name_en,
            tooth=placement.tooth,
            surfaces=placement.surfaces,
            area=placement.area,
            fee=str(valid_fee(procedure.fee if fee is None else fee)),
            phase=checked_phase.value,
            priority=priority,
            meta=meta,
        )
        return item_id

    @event("PlanItemAdded")
    def _item_added(
        self,
        item_id: UUID,
        code: str,
        procedure_name: str,
        tooth: int | None,
        surfaces: str,
        area: int | None,
        fee: str,
        phase: str,
        priority: int,
        meta: Meta,
    ) -> None:
        self.items[item_id] = PlanItem(
            item_id, code, tooth, surfaces, area, Decimal(fee), Phase(phase), priority
        )

    def item(self, item_id: UUID) -> PlanItem:
        found = self.items.get(item_id)
        if found is None:
            raise TransitionRefused(f"item {item_id} is not in this plan")
        return found

    def withdraw_item(self, item_id: UUID, reason: str, meta: Meta) -> None:
        self._open_for_changes()
        if not self.item(item_id).open:
            raise TransitionRefused("only an item neither done nor withdrawn can be withdrawn")
        self._item_withdrawn(
            item_id=item_id, reason=require_text(reason, "reason", max_length=500), meta=meta
        )

    @event("PlanItemWithdrawn")
    def _item_withdrawn(self, item_id: UUID, reason: str, meta: Meta) -> None:
        self.items[item_id] = replace(self.items[item_id], withdrawn=reason)

    def link_item(self, item_id: UUID, appointment_id: UUID, meta: Meta) -> None:
        if not self.item(item_id).open:
            raise TransitionRefused("only an open item is booked")
        self._item_linked(item_id=item_id, appointment_id=appointment_id, meta=meta)

    @event("PlanItemLinkedToAppointment")
    def _item_linked(self, item_id: UUID, appointment_id: UUID, meta: Meta) -> None:
        self.items[item_id] = replace(self.items[item_id], appointment_id=appointment_id)

    def present(self, meta: Meta) -> None:
        if self.status is not PlanStatus.DRAFT:
            raise TransitionRefused(f"only a draft plan is presented; this one is {self.status}")
        if not any(item.open for item in self.items.values()):
            raise TransitionRefused("a plan with no items cannot be presented")
        self._presented(meta=meta)

    @event("PlanPresented")
    def _presented(self, meta: Meta) -> None:
        self.status = PlanStatus.PRESENTED

    def accept(
        self, *, signed_by: str, document_version: str, consented_at: datetime, meta: Meta
    ) -> None:
        """The patient (or their representative) signs; the clinician taking it is `meta`."""
        if self.status is not PlanStatus.PRESENTED:
            raise TransitionRefused(f"only a presented plan is accepted; this one is {self.status}")
        if consented_at.tzinfo is None:
            raise InvalidValue("the consent's time carries its zone", field="consented_at")
        self._accepted(
            signed_by=require_text(signed_by, "signed by", max_length=200),
            document_version=require_text(document_version, "document version", max_length=50),
            consented_at=consented_at,
            taken_by=meta.actor_id,
            meta=meta,
        )

    @event("PlanAccepted")
    def _accepted(
        self,
        signed_by: str,
        document_version: str,
        consented_at: datetime,
        taken_by: str,
        meta: Meta,
    ) -> None:
        self.status = PlanStatus.ACCEPTED

    def decline(self, reason: str | None, meta: Meta) -> None:
        if self.status is not PlanStatus.PRESENTED:
            raise TransitionRefused(f"only a presented plan is declined; this one is {self.status}")
        self._declined(reason=optional_text(reason, "reason", max_length=500), meta=meta)

    @event("PlanDeclined")
    def _declined(self, reason: str | None, meta: Meta) -> None:
        self.status = PlanStatus.DECLINED

    def complete_item(self, item_id: UUID, treatment_id: UUID, code: str, meta: Meta) -> None:
        """A recorded treatment does this item."""
        if self.status is not PlanStatus.ACCEPTED:
            raise TransitionRefused("items of a plan are done once the patient has accepted it")
        item = self.item(item_id)
        if not item.open:
            raise TransitionRefused("this item is already done or withdrawn")
        if item.code != code:
            raise TransitionRefused(f"this item is a {item.code}, not a {code}")
        self._item_completed(item_id=item_id, treatment_id=treatment_id, meta=meta)

    @event("PlanItemCompleted")
    def _item_completed(self, item_id: UUID, treatment_id: UUID, meta: Meta) -> None:
        self.items[item_id] = replace(self.items[item_id], completed_by=treatment_id)

    @property
    def pending(self) -> Decimal:
        return sum((i.fee for i in self.items.values() if i.open), Decimal("0.00"))
