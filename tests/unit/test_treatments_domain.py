"""The tooth chart's notation, the catalogue's fees and the lifecycle of plans and treatments."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from eventsourcing.utils import resolve_topic
from hypothesis import given
from hypothesis import strategies as st

from domain.shared import InvalidValue, Meta, TransitionRefused
from domain.treatments import (
    DEFAULT_CATALOGUE,
    VALID_TEETH,
    Catalogue,
    Finding,
    PlanStatus,
    Procedure,
    Surface,
    Treatment,
    TreatmentPlan,
    VisitAtCompletion,
    is_anterior,
    plan_totals,
    surfaces_of,
    universal,
    valid_surfaces,
    valid_tooth,
)

META = Meta("dentist-1", "dentist", "corr", "req")
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
UPPER = {1, 2, 5, 6}


def possible(tooth: int, surface: Surface) -> bool:
    """The rule written out plainly, as an oracle for the property tests."""
    anterior, upper = tooth % 10 <= 3, tooth // 10 in UPPER
    return {
        Surface.MESIAL: True,
        Surface.DISTAL: True,
        Surface.OCCLUSAL: not anterior,
        Surface.INCISAL: anterior,
        Surface.BUCCAL: not anterior,
        Surface.FACIAL: anterior,
        Surface.LINGUAL: not upper,
        Surface.PALATAL: upper,
    }[surface]


@given(st.sampled_from(VALID_TEETH), st.sets(st.sampled_from(list(Surface)), max_size=8))
def test_every_possible_tooth_and_surface_combination_is_accepted_and_every_other_refused(
    tooth: int, surfaces: set[Surface]
) -> None:
    letters = "".join(s.value for s in surfaces)
    if all(possible(tooth, s) for s in surfaces):
        named = valid_surfaces(tooth, letters)
        assert sorted(named) == sorted(letters)
    else:
        with pytest.raises(InvalidValue) as refused:
            valid_surfaces(tooth, letters)
        assert refused.value.field == "surfaces"


@given(st.integers(min_value=-1000, max_value=1000))
def test_only_fdi_teeth_exist(number: int) -> None:
    quadrant, position = divmod(number, 10)
    real = (1 <= quadrant <= 4 and 1 <= position <= 8) or (
        5 <= quadrant <= 8 and 1 <= position <= 5
    )
    if real:
        assert valid_tooth(number) == number
    else:
        with pytest.raises(InvalidValue):
            valid_tooth(number)


def test_there_are_32_permanent_and_20_primary_teeth_each_with_five_surfaces() -> None:
    assert len([t for t in VALID_TEETH if t < 50]) == 32
    assert len([t for t in VALID_TEETH if t > 50]) == 20
    assert all(len(surfaces_of(t)) == 5 for t in VALID_TEETH)


@pytest.mark.parametrize("tooth", [19, 86, 10, 49, 56, 90, 0])
def test_teeth_outside_the_fdi_chart_are_refused(tooth: int) -> None:
    with pytest.raises(InvalidValue, match="not an FDI tooth"):
        valid_tooth(tooth)


def test_occlusal_on_an_incisor_and_incisal_on_a_molar_are_refused_with_the_reason() -> None:
    with pytest.raises(InvalidValue, match="incisal edge"):
        valid_surfaces(11, "O")
    with pytest.raises(InvalidValue, match="occlusal surface"):
        valid_surfaces(36, "I")


def test_surfaces_are_named_in_the_conventional_order() -> None:
    assert valid_surfaces(36, "dom") == "MOD"
    assert valid_surfaces(16, "PBDOM") == "MODBP"
    with pytest.raises(InvalidValue, match="twice"):
        valid_surfaces(36, "MM")


def test_canines_are_anterior_and_premolars_posterior() -> None:
    assert is_anterior(13)
    assert is_anterior(53)
    assert not is_anterior(14)
    assert not is_anterior(54)


@pytest.mark.parametrize(
    ("fdi", "shown"),
    [(18, "1"), (11, "8"), (21, "9"), (28, "16"), (38, "17"), (31, "24"), (41, "25"), (48, "32"),
     (55, "A"), (65, "J"), (75, "K"), (85, "T")],
)  # fmt: skip
def test_universal_numbering_is_offered_for_display(fdi: int, shown: str) -> None:
    assert universal(fdi) == shown


def test_universal_numbering_names_every_tooth_once() -> None:
    assert len({universal(t) for t in VALID_TEETH}) == len(VALID_TEETH)


def test_the_default_catalogue_covers_what_a_clinic_does_with_exact_fees() -> None:
    catalogue = Catalogue.open(META)
    codes = {p.code for p in DEFAULT_CATALOGUE}
    assert {"EXAM", "RX-BW", "RX-PA", "RX-PAN", "CLEAN", "FILL-1", "FILL-2", "FILL-3"} <= codes
    assert {"RCT-A", "RCT-P", "RCT-M", "CROWN", "BRIDGE-U", "IMPLANT", "EXT-S", "EXT-Q"} <= codes
    assert {"SEAL", "FLUOR", "WHITEN", "ORTHO-C"} <= codes
    assert all(isinstance(p.fee, Decimal) and p.fee >= 0 for p in DEFAULT_CATALOGUE)
    assert catalogue.procedure("fill-2").name_es.startswith("Obturación")
    consented = {p.code for p in DEFAULT_CATALOGUE if p.needs_consent}
    assert consented == {"IMPLANT", "EXT-S", "EXT-Q"}


def test_a_fee_change_applies_to_treatments_recorded_after_it_and_never_to_past_ones() -> None:
    catalogue = Catalogue.open(META)
    before = record(catalogue, "FILL-1", 36, "O")
    catalogue.change_fee("FILL-1", "55.50", META)
    after = record(catalogue, "FILL-1", 36, "M")
    assert before.fee == Decimal("50.00")
    assert after.fee == Decimal("55.50")


@pytest.mark.parametrize("fee", ["-1", "10.001", "NaN", "abc"])
def test_a_fee_that_is_not_whole_cents_of_euros_is_refused(fee: str) -> None:
    with pytest.raises(InvalidValue):
        Catalogue.open(META).change_fee("EXAM", fee, META)


def record(catalogue: Catalogue, code: str, tooth: int | None, surfaces: str = "") -> Treatment:
    procedure = catalogue.procedure(code)
    return Treatment.record(
        patient_id=uuid4(),
        provider_id=uuid4(),
        procedure=procedure,
        placement=procedure.place(tooth, surfaces, None),
        fee=None,
        performed_at=NOW,
        clinical_notes="Caries profunda.\nSin incidencias.",
        materials=[{"item": "composite A2", "lot": "L123"}],
        appointment_id=None,
        plan_item=None,
        meta=META,
    )


def test_a_filling_needs_as_many_surfaces_as_its_code_says() -> None:
    catalogue = Catalogue.open(META)
    with pytest.raises(InvalidValue, match="covers 2"):
        catalogue.procedure("FILL-2").place(36, "O", None)
    assert catalogue.procedure("FILL-3").place(36, "MODB", None).surfaces == "MODB"


def test_surfaces_on_a_whole_mouth_procedure_are_refused() -> None:
    with pytest.raises(InvalidValue, match="whole mouth"):
        Catalogue.open(META).procedure("CLEAN").place(None, "O", None)
    with pytest.raises(InvalidValue, match="whole tooth"):
        Catalogue.open(META).procedure("CROWN").place(36, "O", None)
    with pytest.raises(InvalidValue, match="quadrant"):
        Catalogue.open(META).procedure("RX-BW").place(None, "", 5)


def test_an_unknown_procedure_is_refused() -> None:
    with pytest.raises(InvalidValue, match="not in the catalogue"):
        Catalogue.open(META).procedure("CDT-D2391")


def test_a_treatment_is_amended_and_voided_with_reasons_and_a_voided_one_is_not_amended() -> None:
    catalogue = Catalogue.open(META)
    treatment = record(catalogue, "FILL-1", 36, "O")
    procedure = catalogue.procedure("FILL-1")
    treatment.amend(
        procedure=procedure,
        placement=procedure.place(37, "O", None),
        fee=Decimal("45.00"),
        clinical_notes=None,
        materials=[],
        reason="wrong tooth charted",
        meta=META,
    )
    assert treatment.procedure_site == (37, "O", None)
    treatment.void("entered in error", META)
    with pytest.raises(TransitionRefused, match="voided"):
        treatment.amend(
            procedure=procedure,
            placement=procedure.place(36, "O", None),
            fee=Decimal("45.00"),
            clinical_notes=None,
            materials=[],
            reason="again",
            meta=META,
        )
    kinds = [type(e).__name__ for e in treatment.collect_events()]
    assert kinds == ["TreatmentRecorded", "TreatmentAmended", "TreatmentVoided"]


def plan_of(catalogue: Catalogue) -> tuple[TreatmentPlan, list[object]]:
    plan = TreatmentPlan.draft(uuid4(), "Rehabilitación", META)
    fill, crown = catalogue.procedure("FILL-2"), catalogue.procedure("CROWN")
    first = plan.add_item(
        procedure=fill, placement=fill.place(36, "MO", None), fee=None, phase="basic",
        priority=1, meta=META,
    )  # fmt: skip
    second = plan.add_item(
        procedure=crown, placement=crown.place(46, "", None), fee=Decimal("420.00"),
        phase="rehabilitation", priority=2, meta=META,
    )  # fmt: skip
    return plan, [first, second]


def test_a_presented_plan_accepted_with_consent_falls_to_nothing_pending_as_items_are_done() -> (
    None
):
    plan, (first, second) = plan_of(Catalogue.open(META))
    assert plan.pending == Decimal("485.00")
    plan.present(META)
    with pytest.raises(TransitionRefused):
        plan.complete_item(first, uuid4(), "FILL-2", META)  # type: ignore[arg-type]
    plan.accept(signed_by="María José Núñez", document_version="CI-2026-1", consented_at=NOW,
                meta=META)  # fmt: skip
    assert plan.status is PlanStatus.ACCEPTED
    plan.complete_item(first, uuid4(), "FILL-2", META)  # type: ignore[arg-type]
    assert plan.pending == Decimal("420.00")
    plan.complete_item(second, uuid4(), "CROWN", META)  # type: ignore[arg-type]
    assert plan.pending == Decimal("0.00")


def test_a_change_after_acceptance_is_a_new_event_and_a_withdrawal_needs_a_reason() -> None:
    catalogue = Catalogue.open(META)
    plan, (first, _) = plan_of(catalogue)
    plan.present(META)
    plan.accept(signed_by="Paciente", document_version="v1", consented_at=NOW, meta=META)
    with pytest.raises(InvalidValue):
        plan.withdraw_item(first, "   ", META)  # type: ignore[arg-type]
    plan.withdraw_item(first, "patient prefers to wait", META)  # type: ignore[arg-type]
    kinds = [type(e).__name__ for e in plan.collect_events()]
    assert kinds[-1] == "PlanItemWithdrawn"
    assert plan.pending == Decimal("420.00")


def test_a_declined_plan_takes_no_more_items_and_cannot_be_accepted() -> None:
    catalogue = Catalogue.open(META)
    plan, _ = plan_of(catalogue)
    plan.present(META)
    plan.decline("too expensive", META)
    with pytest.raises(TransitionRefused):
        plan.accept(signed_by="x", document_version="v1", consented_at=NOW, meta=META)
    exam = catalogue.procedure("EXAM")
    with pytest.raises(TransitionRefused):
        plan.add_item(procedure=exam, placement=exam.place(None, "", None), fee=None,
                      phase="basic", priority=1, meta=META)  # fmt: skip


def test_plan_totals_count_phases_and_leave_withdrawn_items_out() -> None:
    items = [
        {"fee": "50.00", "phase": "basic", "completed_by": "t1"},
        {"fee": "450.00", "phase": "rehabilitation"},
        {"fee": "300.00", "phase": "aesthetic", "withdrawn": "declined whitening"},
    ]
    assert plan_totals(items) == {
        "per_phase": {"basic": "50.00", "rehabilitation": "450.00"},
        "total": "500.00",
        "done": "50.00",
        "pending": "450.00",
    }


@pytest.mark.parametrize(
    ("finding", "why"),
    [
        ({"tooth": 36, "condition": "caries"}, "surfaces"),
        ({"tooth": 36, "condition": "missing", "surfaces": "O"}, "whole tooth"),
        ({"tooth": 36, "condition": "mobility", "grade": 4}, "0 to 3"),
        (
            {"tooth": 36, "condition": "restoration", "surfaces": "O", "material": "wood"},
            "material",
        ),
        ({"tooth": 11, "condition": "caries", "surfaces": "O"}, "incisal"),
        ({"tooth": 36, "condition": "sore"}, "condition must be"),
    ],
)
def test_an_impossible_finding_is_refused_with_its_reason(
    finding: dict[str, object], why: str
) -> None:
    with pytest.raises(InvalidValue, match=why):
        Finding.create(finding)


def test_a_completion_sent_again_gets_the_treatments_it_carried_and_another_is_refused() -> None:
    treatments = [uuid4(), uuid4()]
    visit = VisitAtCompletion(uuid4(), uuid4(), treatments, digest="abc")

    assert visit.treatments_of("abc") == treatments
    with pytest.raises(TransitionRefused, match="already carried other treatments"):
        visit.treatments_of("another visit")


def test_visits_recorded_before_the_move_to_the_domain_still_load() -> None:
    old = "commands.treatments:VisitAtCompletion.VisitRecordedAtCompletion"
    assert resolve_topic(old) is VisitAtCompletion.VisitRecordedAtCompletion  # type: ignore[attr-defined]


def test_a_procedure_must_leave_a_mark_the_chart_knows() -> None:
    """Even past the API's typing (an import, a script): a clear 422, never a 500."""
    with pytest.raises(InvalidValue, match="on the chart") as refused:
        Procedure.create(
            {
                "code": "WHITE-9",
                "name_es": "Blanqueamiento",
                "name_en": "Whitening",
                "category": "Estética",
                "fee": "200.00",
                "minutes": 60,
                "site": "mouth",
                "marks": "O",
            }
        )
    assert refused.value.field == "marks"
