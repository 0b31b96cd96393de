"""The patient's implant card (MDR 2017/745, art. 18 and 27): each implant placed, with its
tooth, day, and the device's UDI as recorded (GTIN, lot and serial read from it), as a page to
print and hand to the patient. It is read from the treatments context's history of the
patient, and the patient's name from the patients context; every print is in the access log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse
from jinja2 import Environment, select_autoescape

from api.permissions import Actor, allowed
from api.routes import Read
from domain.gs1 import udi_in
from projections.patients import PatientQueries
from projections.treatments import TreatmentQueries

router = APIRouter(prefix="/api", tags=["treatments"])
Reader = Annotated[Actor, Depends(allowed("treatments:read", patient_data=True))]
IMPLANT = "implant"

_pages = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
CARD = _pages.from_string(
    '<!doctype html><html lang="es"><head><meta charset="utf-8">'
    "<title>Tarjeta de implante · Implant card</title><style>"
    "body{font-family:system-ui,sans-serif;margin:2rem;color:#111}"
    ".card{border:1px solid #333;border-radius:8px;padding:1rem;max-width:40rem;"
    "margin-bottom:1rem;break-inside:avoid}h1{font-size:1.3rem}dt{font-weight:600}"
    "dd{margin:0 0 .4rem 0;font-family:ui-monospace,monospace}"
    "@media print{body{margin:0}}</style></head><body>"
    "<h1>Tarjeta de implante · Implant card</h1>"
    "<p>{{ name }}</p>"
    "{% for implant in implants %}<section class=card>"
    "<dl><dt>Diente · Tooth</dt><dd>{{ implant.tooth }}</dd>"
    "<dt>Fecha · Date</dt><dd>{{ implant.day }}</dd>"
    "<dt>Procedimiento · Procedure</dt><dd>{{ implant.procedure }}</dd>"
    "{% for d in implant.devices %}"
    "<dt>UDI</dt><dd>{{ d.text }}</dd>"
    "{% if d.gtin %}<dt>GTIN (01)</dt><dd>{{ d.gtin }}</dd>{% endif %}"
    "{% if d.lot %}<dt>Lote · Lot (10)</dt><dd>{{ d.lot }}</dd>{% endif %}"
    "{% if d.serial %}<dt>N.º de serie · Serial (21)</dt><dd>{{ d.serial }}</dd>{% endif %}"
    "{% if d.expiry %}<dt>Caducidad · Expiry (17)</dt><dd>{{ d.expiry }}</dd>{% endif %}"
    "{% endfor %}</dl></section>"
    "{% else %}<p>Sin implantes registrados · No implants recorded</p>{% endfor %}"
    "</body></html>"
)


def _device(text: str, on: datetime) -> dict[str, Any]:
    """A recorded lot, read as a UDI when it is one (GS1); as written when it is not."""
    scan = udi_in(text, on.date())
    if scan is None:
        return {"text": text, "gtin": None, "lot": text, "serial": None, "expiry": None}
    expiry = scan.expiry.isoformat() if scan.expiry else None
    return {
        "text": text,
        "gtin": scan.gtin,
        "lot": scan.lot,
        "serial": scan.serial,
        "expiry": expiry,
    }


def implants_of(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each implant placed and not voided, oldest first, with its devices."""
    found = []
    for t in history:
        if t.get("marks") != IMPLANT or t.get("status") == "voided":
            continue
        performed = datetime.fromisoformat(t["performed_at"])
        devices = [_device(m["lot"], performed) for m in t.get("materials", []) if m.get("lot")]
        found.append(
            {
                "tooth": t.get("tooth"),
                "day": performed.date().isoformat(),
                "procedure": t.get("procedure_name"),
                "devices": devices,
            }
        )
    return found


@router.get(
    "/patients/{patient_id}/implant-card",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def implant_card(patient_id: UUID, read: Read, who: Reader) -> HTMLResponse:
    """The patient's implant card, to print: every implant with its device's UDI."""
    patient = read.found(await read.get(PatientQueries).chart(patient_id), f"patient {patient_id}")
    records = read.get(TreatmentQueries)
    await read.consistent(records.chart_store.version_of)
    implants = implants_of(await records.history(patient_id))
    name = f"{patient.get('given_name', '')} {patient.get('family_name', '')}".strip()
    return HTMLResponse(
        CARD.render(name=name, implants=implants), headers={"Cache-Control": "no-store"}
    )
