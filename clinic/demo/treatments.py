"""The demo clinic's clinical record: examinations and past treatments for half the patients,
and treatment plans, accepted (some of it done) and pending, for some of them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

from clinic.demo import DemoClinic
from clinic.platform import Platform
from commands.treatments import (
    AcceptPlan,
    DraftPlan,
    FindingIn,
    PlanItemIn,
    RecordExamination,
    RecordTreatment,
    Treatments,
)
from domain.treatments import TreatmentPlan

CARIES_TEETH = (14, 15, 16, 17, 24, 25, 26, 27, 34, 35, 36, 37, 44, 45, 47)
TREATMENT_NOTES = (
    "Sin incidencias.",
    "Anestesia infiltrativa; buena tolerancia.",
    "Se recomienda revisión en seis meses.",
    "Sensibilidad postoperatoria leve esperada.",
)


def _history(rng: random.Random, tooth: int) -> list[tuple[str, dict[str, object], int]]:
    """Past treatments after an examination: the check itself, a cleaning, the filling."""
    done: list[tuple[str, dict[str, object], int]] = [("EXAM", {}, 0)]
    if rng.random() < 0.8:
        done.append(("CLEAN", {}, rng.randint(1, 20)))
    if rng.random() < 0.7:
        done.append(("FILL-1", {"tooth": tooth, "surfaces": "O"}, rng.randint(7, 40)))
    if rng.random() < 0.2:
        done.append(("RX-PAN", {}, 0))
    return done


def chart_and_plan(platform: Platform, clinic: DemoClinic) -> None:
    """Charts and past treatments for half the patients; plans, accepted (some of it
    done) and pending, for some of them."""
    treatments = platform.application(Treatments)
    now = datetime.now(UTC)
    patients = clinic.patients
    for n, patient_id in enumerate(patients[: len(patients) // 2]):
        tooth = clinic.rng.choice(CARIES_TEETH)
        exam_at = now - timedelta(days=60 + clinic.rng.randint(0, 200))
        findings = [
            FindingIn(tooth=tooth, condition="caries", surfaces="O"),
            FindingIn(tooth=clinic.rng.choice((18, 28, 38, 48)), condition="missing"),
        ]
        if n % 4 == 0:
            findings.append(FindingIn(tooth=31, condition="mobility", grade=1))
        examination = RecordExamination(
            patient_id=patient_id, examined_at=exam_at, findings=findings
        )
        treatments.record_examination(examination, clinic.clinician())
        clinic.summary.examinations += 1
        for code, where, days in _history(clinic.rng, tooth):
            command = RecordTreatment(
                patient_id=patient_id,
                code=code,
                performed_at=exam_at + timedelta(days=days),
                clinical_notes=clinic.rng.choice(TREATMENT_NOTES),
                **where,
            )
            treatments.record(command, clinic.clinician())
            clinic.summary.treatments += 1
        if n % 3 == 0:
            _plan(platform, clinic, patient_id, accepted=n % 2 == 0)


def _plan(platform: Platform, clinic: DemoClinic, patient_id: UUID, *, accepted: bool) -> None:
    treatments, meta = platform.application(Treatments), clinic.clinician()
    items = [
        PlanItemIn(code="RCT-M", tooth=46, phase="urgent", priority=1),
        PlanItemIn(code="CROWN", tooth=46, phase="rehabilitation", priority=2),
        PlanItemIn(code="WHITEN", phase="aesthetic", priority=5),
    ]
    draft = DraftPlan(patient_id=patient_id, title="Rehabilitación del 46", items=items)
    plan_id = treatments.draft_plan(draft, meta).id
    treatments.present_plan(plan_id, meta, None)
    if not accepted:
        clinic.summary.plans_pending += 1
        return
    consent = AcceptPlan(signed_by="El paciente", document_version="CI-2026-01")
    treatments.accept_plan(plan_id, consent, meta, None)
    clinic.summary.plans_accepted += 1
    first = treatments.load(plan_id, TreatmentPlan).items
    item_id = next(i for i, item in first.items() if item.code == "RCT-M")
    done = RecordTreatment(
        patient_id=patient_id, code="RCT-M", tooth=46, plan_id=plan_id, plan_item_id=item_id
    )
    treatments.record(done, meta)
    clinic.summary.treatments += 1
