"""The `treatments` context's domain: tooth chart notation (`teeth`), the procedure
catalogue (`catalogue`), recorded treatments and examinations (`records`), treatment
plans with their consent (`plans`) and visits recorded with an appointment's completion
(`visits`)."""

from domain.treatments.catalogue import (
    CATALOGUE_ID,
    DEFAULT_CATALOGUE,
    Catalogue,
    Mark,
    Placement,
    Procedure,
    Site,
    valid_fee,
)
from domain.treatments.plans import Phase, PlanStatus, TreatmentPlan, plan_totals
from domain.treatments.records import (
    Examination,
    Finding,
    Treatment,
    TreatmentStatus,
    attributed,
    not_before_birth,
)
from domain.treatments.teeth import (
    VALID_TEETH,
    Surface,
    is_anterior,
    surfaces_of,
    universal,
    valid_surfaces,
    valid_tooth,
)
from domain.treatments.visits import VisitAtCompletion, visit_at_completion_id

__all__ = [
    "CATALOGUE_ID",
    "DEFAULT_CATALOGUE",
    "VALID_TEETH",
    "Catalogue",
    "Examination",
    "Finding",
    "Mark",
    "Phase",
    "Placement",
    "PlanStatus",
    "Procedure",
    "Site",
    "Surface",
    "Treatment",
    "TreatmentPlan",
    "TreatmentStatus",
    "VisitAtCompletion",
    "attributed",
    "is_anterior",
    "not_before_birth",
    "plan_totals",
    "surfaces_of",
    "universal",
    "valid_fee",
    "valid_surfaces",
    "valid_tooth",
    "visit_at_completion_id",
]
