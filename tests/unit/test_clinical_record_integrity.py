"""A clinical record names real things that belong together: its provider is an active
clinician (a non-dentist records only as themselves), its appointment is its patient's, its
dates fall in the patient's life, and only a dentist corrects another clinician's record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from structlog.testing import capture_logs

from commands.base import NotFound
from commands.treatments import (
    DraftPlan,
    LinkPlanItem,
    PlanItemIn,
    RecordExamination,
    RecordTreatment,
    Treatments,
    VoidTreatment,
)
from domain.shared import InvalidValue, Meta, NotYours
from domain.treatments import TreatmentPlan
from tests.unit.clinic_facts import BORN, ClinicFacts, treatments_knowing

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DENTIST, HYGIENIST, DESK = uuid4(), uuid4(), uuid4()
FACTS = ClinicFacts(
    staff={
        DENTIST: frozenset({"dentist"}),
        HYGIENIST: frozenset({"hygienist"}),
        DESK: frozenset({"receptionist"}),
    }
)
AS_DENTIST = Meta(str(DENTIST), "dentist", "c", "r")
AS_HYGIENIST = Meta(str(HYGIENIST), "hygienist", "c", "r")


@pytest.fixture
def treatments() -> Iterator[Treatments]:
    with treatments_knowing(FACTS, NOW) as app:
        yield app


def _cleaning(patient: UUID, **extra: object) -> RecordTreatment:
    return RecordTreatment.model_validate({"patient_id": patient, "code": "CLEAN", **extra})


def test_a_hygienist_records_as_themselves_and_never_as_somebody_else(
    treatments: Treatments,
) -> None:
    patient = uuid4()
    treatments.record(_cleaning(patient), AS_HYGIENIST)
    for other in (DENTIST, DESK, uuid4()):
        with pytest.raises((NotYours, InvalidValue)):
            treatments.record(_cleaning(patient, provider_id=other), AS_HYGIENIST)


def test_a_dentist_may_record_for_another_clinician_but_never_for_the_desk(
    treatments: Treatments,
) -> None:
    patient = uuid4()
    treatments.record(_cleaning(patient, provider_id=HYGIENIST), AS_DENTIST)
    for nobody in (DESK, uuid4()):
        with pytest.raises(InvalidValue, match="active dentist or hygienist"):
            treatments.record(_cleaning(patient, provider_id=nobody), AS_DENTIST)
    with pytest.raises(InvalidValue, match="active dentist or hygienist"):
        treatments.record_examination(
            RecordExamination(patient_id=patient, provider_id=DESK, findings=[]), AS_DENTIST
        )


def test_a_treatment_never_lands_on_another_patients_appointment(treatments: Treatments) -> None:
    patient, somebody_else = uuid4(), uuid4()
    theirs = FACTS.book(somebody_else)
    with pytest.raises(InvalidValue, match="not this patient's"):
        treatments.record(_cleaning(patient, appointment_id=theirs), AS_DENTIST)
    with pytest.raises(NotFound):
        treatments.record(_cleaning(patient, appointment_id=uuid4()), AS_DENTIST)
    treatments.record(_cleaning(patient, appointment_id=FACTS.book(patient)), AS_DENTIST)


def test_a_plan_item_is_never_linked_to_another_patients_appointment(
    treatments: Treatments,
) -> None:
    patient = uuid4()
    draft = DraftPlan(patient_id=patient, title="Plan", items=[PlanItemIn(code="RCT-M", tooth=46)])
    plan = treatments.draft_plan(draft, AS_DENTIST)
    item = next(iter(treatments.load(plan.id, TreatmentPlan).items))
    theirs = LinkPlanItem(appointment_id=FACTS.book(uuid4()))
    with pytest.raises(InvalidValue, match="not this patient's"):
        treatments.link_plan_item(plan.id, item, theirs, AS_DENTIST, None)
    ours = LinkPlanItem(appointment_id=FACTS.book(patient))
    treatments.link_plan_item(plan.id, item, ours, AS_DENTIST, None)


def test_nothing_clinical_is_dated_before_the_patients_birth(treatments: Treatments) -> None:
    patient = uuid4()
    before = datetime(BORN.year, BORN.month, BORN.day - 1, 12, tzinfo=UTC)
    with pytest.raises(InvalidValue, match="before the patient's birth"):
        treatments.record(_cleaning(patient, performed_at=before), AS_DENTIST)
    with pytest.raises(InvalidValue, match="before the patient's birth"):
        treatments.record(
            _cleaning(patient, performed_at=datetime(1900, 1, 1, tzinfo=UTC)), AS_DENTIST
        )
    exam = RecordExamination(patient_id=patient, examined_at=before, findings=[])
    with pytest.raises(InvalidValue, match="before the patient's birth"):
        treatments.record_examination(exam, AS_DENTIST)
    born_day = datetime(BORN.year, BORN.month, BORN.day, 12, tzinfo=UTC)
    treatments.record(_cleaning(patient, performed_at=born_day), AS_DENTIST)


def test_only_a_dentist_voids_another_clinicians_treatment(treatments: Treatments) -> None:
    patient = uuid4()
    dentists = treatments.record(_cleaning(patient), AS_DENTIST)
    with pytest.raises(NotYours, match="only a dentist or an admin"):
        treatments.void(dentists.id, VoidTreatment(reason="wrong patient"), AS_HYGIENIST, None)
    own = treatments.record(_cleaning(patient), AS_HYGIENIST)
    treatments.void(own.id, VoidTreatment(reason="entered twice"), AS_HYGIENIST, None)
    hygienists = treatments.record(_cleaning(patient), AS_HYGIENIST)
    with capture_logs() as logged:
        treatments.void(hygienists.id, VoidTreatment(reason="wrong patient"), AS_DENTIST, None)
    [entry] = [e for e in logged if e["event"] == "another clinician's treatment corrected"]
    assert entry["by"] == str(DENTIST)
    assert entry["provider_id"] == str(HYGIENIST)
    assert "wrong patient" not in str(entry)  # the reason is clinical: ids and roles only
