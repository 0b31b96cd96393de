"""The treatments Application: load, decide, save; a plan's item is done with its treatment."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from commands.treatments import (
    AcceptPlan,
    AmendTreatment,
    ChangeFee,
    DraftPlan,
    PlanItemIn,
    RecordTreatment,
    RecordVisit,
    TreatmentDone,
    Treatments,
    VoidTreatment,
)
from domain.shared import InvalidValue, Meta, TransitionRefused
from domain.treatments import Treatment, TreatmentPlan
from tests.unit.clinic_facts import ClinicFacts, treatments_knowing

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
META = Meta(str(uuid4()), "dentist", "corr", "req")
FACTS = ClinicFacts(staff={UUID(META.actor_id): frozenset({"dentist"})})


@pytest.fixture
def treatments() -> Iterator[Treatments]:
    with treatments_knowing(FACTS, NOW) as app:
        yield app


def test_a_fee_change_leaves_recorded_treatments_at_the_fee_they_were_charged(
    treatments: Treatments,
) -> None:
    patient = uuid4()
    first = treatments.record(RecordTreatment(patient_id=patient, code="FILL-1", tooth=36,
                                              surfaces="O"), META)  # fmt: skip
    treatments.change_fee("FILL-1", ChangeFee(fee=Decimal("58.00")), META)
    second = treatments.record(RecordTreatment(patient_id=patient, code="FILL-1", tooth=37,
                                               surfaces="O"), META)  # fmt: skip
    assert treatments.load(first.id, Treatment).fee == Decimal("50.00")
    assert treatments.load(second.id, Treatment).fee == Decimal("58.00")
    assert treatments.catalogue().procedure("FILL-1").fee == Decimal("58.00")


def test_recording_a_plans_item_completes_it_in_the_same_write(treatments: Treatments) -> None:
    patient = uuid4()
    plan = treatments.draft_plan(
        DraftPlan(patient_id=patient, title="Plan", items=[PlanItemIn(code="RCT-M", tooth=46)]),
        META,
    )
    item_id = next(iter(treatments.load(plan.id, TreatmentPlan).items))
    refused = RecordTreatment(
        patient_id=patient, code="RCT-M", tooth=46, plan_id=plan.id, plan_item_id=item_id
    )
    with pytest.raises(TransitionRefused, match="accepted"):
        treatments.record(refused, META)
    treatments.present_plan(plan.id, META, None)
    treatments.accept_plan(plan.id, AcceptPlan(signed_by="Paciente", document_version="v1"),
                           META, None)  # fmt: skip
    done = treatments.record(refused, META)
    stored = treatments.load(plan.id, TreatmentPlan)
    assert stored.items[item_id].completed_by == done.id
    assert stored.pending == Decimal("0.00")


def test_a_voided_treatment_cannot_be_amended(treatments: Treatments) -> None:
    written = treatments.record(RecordTreatment(patient_id=uuid4(), code="EXT-S", tooth=48), META)
    treatments.void(written.id, VoidTreatment(reason="entered in error"), META, None)
    with pytest.raises(TransitionRefused):
        treatments.amend(
            written.id, AmendTreatment(tooth=38, fee=Decimal("60.00"), reason="x"), META, None
        )


def test_an_occlusal_surface_on_an_incisor_is_refused_before_anything_is_saved(
    treatments: Treatments,
) -> None:
    with pytest.raises(InvalidValue, match="incisal"):
        treatments.record(RecordTreatment(patient_id=uuid4(), code="FILL-1", tooth=11,
                                          surfaces="O"), META)  # fmt: skip
    assert treatments.recorder.max_notification_id() in (None, 0)


def _visit(patient: object, *teeth: int) -> RecordVisit:
    return RecordVisit.model_validate(
        {
            "patient_id": patient,
            "treatments": [TreatmentDone(code="FILL-1", tooth=t, surfaces="O") for t in teeth],
        }
    )


def test_a_completion_sent_again_answers_with_its_first_treatments_and_records_nothing(
    treatments: Treatments,
) -> None:
    patient = uuid4()
    appointment = FACTS.book(patient)
    first = treatments.record_at_completion(_visit(patient, 36, 37), META, appointment)
    stored = treatments.recorder.max_notification_id()

    again = treatments.record_at_completion(_visit(patient, 36, 37), META, appointment)

    assert again == first
    assert treatments.recorder.max_notification_id() == stored
    with pytest.raises(TransitionRefused, match="already carried other treatments"):
        treatments.record_at_completion(_visit(patient, 46), META, appointment)


def test_a_completion_that_lost_the_race_to_the_same_visit_answers_with_the_winners(
    treatments: Treatments,
) -> None:
    patient = uuid4()
    appointment = FACTS.book(patient)
    real = treatments.recorder.insert_events
    winner: list[object] = []

    def insert_events(events: Sequence[Any], **kwargs: Any) -> Any:
        if not winner:  # the same request, sent twice, commits first on another thread
            treatments.recorder.insert_events = real  # type: ignore[method-assign]
            winner.extend(treatments.record_at_completion(_visit(patient, 36), META, appointment))
        return real(events, **kwargs)

    treatments.recorder.insert_events = insert_events  # type: ignore[method-assign,assignment]

    assert treatments.record_at_completion(_visit(patient, 36), META, appointment) == winner
    visit = treatments.visit_at_completion(appointment)
    assert visit is not None
    assert len(visit.treatment_ids) == 1
