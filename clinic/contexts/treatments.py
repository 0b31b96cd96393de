"""The `treatments` context, declared: the catalogue, treatments, examinations and plans; the
composed tooth chart (Mongo) and the cross-patient list and production report (PostgreSQL)."""

from __future__ import annotations

from api import treatments as http
from clinic.declaration import Context
from clinic.demo import Phase
from clinic.demo.treatments import chart_and_plan
from commands.treatments import Treatments
from projections.treatments import (
    ClinicZoneSeen,
    TreatmentChart,
    TreatmentList,
    TreatmentQueries,
)

CONTEXT = Context(
    name="treatments",
    application=Treatments,
    read_models=(TreatmentChart(), TreatmentList(), ClinicZoneSeen()),
    provides=(lambda p: TreatmentQueries(p.pool, p.mongo_db, p.reader, p.states),),
    routers=(http.router,),
    grants=http.GRANTS,
    demo=((Phase.CLINICAL, chart_and_plan),),
)
