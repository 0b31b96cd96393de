"""Clinical text is clinical: what a clinician writes in free text (notes, the reason for a
correction, a withdrawn item's or a declined plan's reason, a medical alert's words) reaches
only those who may read clinical data. One rule decides it (api/permissions.py `shown_to`),
and every free-text field of every answer is either marked clinical or said not to be."""

from __future__ import annotations

import re

import httpx
import pytest

from api.permissions import CLINICAL_TEXT
from clinic.parts import described_app
from infra.settings import Settings
from tests.conftest import SignIn
from tests.e2e.test_patients_api import PATIENT
from tests.e2e.test_treatments_api import after, filling, record

SECRET = "paciente refiere hepatitis C"
FREE_TEXT = re.compile(r"(reason|note|notes|description|withdrawn|comment|message|text|context)$")
# Free text in answers that is not clinical, and why.
NOT_CLINICAL = {
    ("AbsenceOut", "reason"): "a provider's absence, typed by the desk",
    ("AccessOut", "reason"): "a break-glass reason, read by auditors only",
    ("AppointmentOut", "notes"): "the desk's booking note",
    ("AppointmentOut", "override_reason"): "why the desk booked outside the rules",
    ("CancellationOut", "reason"): "why an appointment was cancelled, typed by the desk",
    ("ClosureOut", "reason"): "the clinic's closing days",
    ("HistoryEntryOut", "description"): "only inside the medical history, itself clinical",
    ("HistoryEntryOut", "notes"): "only inside the medical history, itself clinical",
    ("HistoryEntryOut", "end_reason"): "only inside the medical history, itself clinical",
    ("OrderOut", "note"): "the stock keeper's note on a purchase order (no patient data)",
    ("PatientEventOut", "context"): "an event's context name, read by auditors only",
    ("ReminderOut", "reason"): "why a reminder was skipped or failed",
    ("SheetLineOut", "notes"): "the desk's booking note, on the day sheet",
    ("SheetLineOut", "override_reason"): "why the desk booked outside the rules",
    ("ToothOut", "notes"): "the chart, served only to those who may read clinical data",
    ("WaitlistEntryOut", "note"): "the desk's note on a waiting-list wish",
}


def test_every_free_text_field_of_every_answer_is_marked_clinical_or_said_not_to_be(
    settings: Settings,
) -> None:
    schemas = described_app(settings).openapi()["components"]["schemas"]
    unmarked = {
        (name, field)
        for name, schema in schemas.items()
        if name.endswith("Out")
        for field, spec in (schema.get("properties") or {}).items()
        if FREE_TEXT.search(field) and not spec.get(CLINICAL_TEXT)
    }
    assert unmarked == set(NOT_CLINICAL)
    marked = {
        (name, field)
        for name, schema in schemas.items()
        for field, spec in (schema.get("properties") or {}).items()
        if spec.get(CLINICAL_TEXT)
    }
    assert {("TreatmentStepOut", "reason"), ("AlertOut", "description")} <= marked


@pytest.mark.parametrize("reader", ["receptionist", "admin"])
async def test_the_desk_never_sees_a_clinical_reason(
    client: httpx.AsyncClient, sign_in: SignIn, pipeline: None, reader: str
) -> None:
    desk = await sign_in("receptionist")
    registered = await client.post("/api/patients", json=PATIENT, headers=desk)
    assert registered.status_code == 201, registered.text
    patient = registered.json()["id"]
    alert = await client.post(
        f"/api/patients/{patient}/alerts",
        json={"code": "infectious", "description": SECRET, "severity": "high"},
        headers={"If-Match": registered.headers["ETag"]},
    )
    assert alert.status_code == 201, alert.text
    created = await record(client, filling(patient))
    amended = await client.put(
        f"/api/treatments/{created.json()['id']}",
        json={"tooth": 36, "surfaces": "O", "fee": "45.00", "reason": SECRET},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert amended.status_code == 200, amended.text
    second = await record(client, filling(patient, tooth=37))
    voided = await client.post(
        f"/api/treatments/{second.json()['id']}/void", json={"reason": SECRET}
    )
    assert voided.status_code == 200, voided.text
    items = [{"code": "RCT-M", "tooth": 46}, {"code": "CROWN", "tooth": 46}]
    drafted = await client.post(
        "/api/plans", json={"patient_id": patient, "title": "Plan", "items": items}
    )
    assert drafted.status_code == 201, drafted.text
    plan = drafted.json()["id"]
    plan_doc = (await client.get(f"/api/plans/{plan}", headers=after(drafted))).json()
    withdrawn = await client.post(
        f"/api/plans/{plan}/items/{plan_doc['items'][0]['item_id']}/withdraw",
        json={"reason": SECRET},
        headers={"If-Match": drafted.headers["ETag"]},
    )
    assert withdrawn.status_code == 200, withdrawn.text
    presented = await client.post(
        f"/api/plans/{plan}/present", headers={"If-Match": withdrawn.headers["ETag"]}
    )
    assert presented.status_code == 200, presented.text
    declined = await client.post(
        f"/api/plans/{plan}/decline",
        json={"reason": SECRET},
        headers={"If-Match": presented.headers["ETag"]},
    )
    assert declined.status_code == 200, declined.text

    reads = [  # each read waits for the last write its read model shows
        (f"/api/patients/{patient}", alert),
        (f"/api/patients/{patient}/treatments", voided),
        (f"/api/treatments/{created.json()['id']}", voided),
        (f"/api/treatments/{second.json()['id']}", voided),
        ("/api/treatments", voided),
        (f"/api/plans/{plan}", declined),
        (f"/api/patients/{patient}/plans", declined),
    ]
    outsider = await sign_in(reader)
    for path, written in reads:
        answer = await client.get(path, headers={**outsider, **after(written)})
        assert answer.status_code == 200, (path, answer.text)
        assert SECRET not in answer.text, path
    # The clinicians read every word of it.
    for path, written in reads:
        if path != "/api/treatments":  # the cross-patient list shows no history
            answer = await client.get(path, headers=after(written))
            assert SECRET in answer.text, path
