"""Another health system reads a patient's record as FHIR R4 (4.0.1): every resource and
Bundle the API emits is valid by fhirclient's R4 models, teeth and surfaces are coded with
HL7's code systems, and the permissions and access log are those of /api."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
from fhirclient.models.fhirelementfactory import FHIRElementFactory

from api.fhir.resources import NATIONAL_ID_SYSTEM, SURFACE_SYSTEM, TOOTH_SYSTEM
from clinic.platform import Platform
from tests.conftest import SignIn, eventually
from tests.e2e.test_appointment_book import appointment, set_up
from tests.e2e.test_audit import entries
from tests.e2e.test_patients_api import PATIENT
from tests.e2e.test_treatments_api import filling

FHIR_JSON = "application/fhir+json"


def valid(body: dict[str, Any]) -> dict[str, Any]:
    """The body, after fhirclient's R4 4.0.1 models took it strictly (a missing required
    element, a wrong type or an element R4 does not have raises); a Bundle's entries too."""
    model = FHIRElementFactory.instantiate(body["resourceType"], body)
    assert model.as_json() == body
    for entry in body.get("entry", []):
        valid(entry["resource"])
    return body


async def fhir(client: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    answer = await client.get(f"/fhir/{path}", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == FHIR_JSON
    return valid(answer.json())


def searchset(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "searchset")
    found = bundle.get("entry", [])
    assert bundle["total"] == len(found)
    for entry in found:
        resource = entry["resource"]
        assert entry["fullUrl"].endswith(f"/fhir/{resource['resourceType']}/{resource['id']}")
        assert entry["search"] == {"mode": "match"}
    return [entry["resource"] for entry in found]


def outcome(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == FHIR_JSON
    body = valid(answer.json())
    assert body["resourceType"] == "OperationOutcome"
    return body


def codes(site: dict[str, Any], system: str) -> list[str]:
    return [c["code"] for c in site["coding"] if c["system"] == system]


async def a_charted_patient(client: httpx.AsyncClient) -> str:
    """A patient with a DNI, a penicillin allergy, a composite on 36 MO, a voided filling
    and an examination's finding."""
    registered = await client.post("/api/patients", json={**PATIENT, "national_id": "12345678z"})
    assert registered.status_code == 201, registered.text
    patient = str(registered.json()["id"])
    allergy = {"kind": "allergy", "description": "Penicilina", "severity": "high"}
    writes = [
        ("/api/patients/{p}/medical-history", allergy),
        ("/api/treatments", filling(patient, code="FILL-2", surfaces="MO")),
        ("/api/examinations", {"patient_id": patient, "findings": [
            {"tooth": 21, "condition": "fracture"}, {"tooth": 46, "condition": "caries",
                                                      "surfaces": "O"}]}),
    ]  # fmt: skip
    for path, body in writes:
        answer = await client.post(path.format(p=patient), json=body)
        assert answer.status_code == 201, answer.text
    voided = await client.post("/api/treatments", json=filling(patient, tooth=47))
    void = await client.post(f"/api/treatments/{voided.json()['id']}/void", json={"reason": "x"})
    assert void.status_code == 200, void.text
    return patient


async def test_the_capability_statement_names_exactly_what_is_served(
    anonymous: httpx.AsyncClient,
) -> None:
    statement = await fhir(anonymous, "metadata")
    assert statement["fhirVersion"] == "4.0.1"
    [rest] = statement["rest"]
    served = {r["type"]: {p["name"] for p in r["searchParam"]} for r in rest["resource"]}
    assert served == {
        "Patient": {"identifier"},
        "Appointment": {"patient"},
        "Procedure": {"patient"},
        "Condition": {"patient"},
        "AllergyIntolerance": {"patient"},
    }


async def test_a_patients_record_reads_as_fhir_with_teeth_and_surfaces_coded(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    patient = await a_charted_patient(client)

    async def charted() -> bool:
        answer = await client.get("/fhir/Condition", params={"patient": patient})
        return answer.status_code == 200 and answer.json()["total"] == 2

    await eventually(charted, what="the examination to reach the chart")
    read = await fhir(client, f"Patient/{patient}")
    assert read["identifier"] == [
        {"use": "official", "system": NATIONAL_ID_SYSTEM, "value": "12345678Z"}
    ]
    assert read["name"][0]["family"] == "Núñez Peña"
    assert (read["gender"], read["birthDate"]) == ("female", "1984-05-17")
    for identifier in (f"{NATIONAL_ID_SYSTEM}|12345678Z", "12345678z"):
        found = searchset(await fhir(client, "Patient", identifier=identifier))
        assert found == [read]
    elsewhere = await fhir(client, "Patient", identifier="urn:oid:2.16.840.1.113883.4.1|12345678Z")
    assert searchset(elsewhere) == []

    procedures = searchset(await fhir(client, "Procedure", patient=f"Patient/{patient}"))
    by_status = {p["status"]: p for p in procedures}
    assert set(by_status) == {"completed", "entered-in-error"}
    composite = by_status["completed"]
    assert composite["code"]["coding"][0]["code"] == "FILL-2"
    [tooth, *surfaces] = composite["bodySite"]
    assert codes(tooth, TOOTH_SYSTEM) == ["36"]
    assert [codes(s, SURFACE_SYSTEM) for s in surfaces] == [["M"], ["O"]]
    assert composite["note"][0]["text"].startswith("Caries oclusal")

    conditions = searchset(await fhir(client, "Condition", patient=patient))
    assert sorted(c["code"]["coding"][0]["code"] for c in conditions) == ["caries", "fracture"]
    [allergy] = searchset(await fhir(client, "AllergyIntolerance", patient=patient))
    assert (allergy["code"]["text"], allergy["criticality"]) == ("Penicilina", "high")
    assert allergy["patient"] == {"reference": f"Patient/{patient}"}


async def test_a_patients_appointments_read_as_fhir(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, patients=1)
    patient = next(clinic.patients)
    booked = await anonymous.post(
        "/api/appointments", json=appointment(clinic, patient=patient), headers=clinic.desk
    )
    assert booked.status_code == 201, booked.text
    anonymous.headers.update(clinic.desk)

    async def listed() -> list[dict[str, Any]]:
        return searchset(await fhir(anonymous, "Appointment", patient=patient))

    async def one() -> bool:
        return len(await listed()) == 1

    await eventually(one, what="the booking to reach the book")
    [found] = await listed()
    assert found["id"] == booked.json()["id"]
    assert found["status"] == "booked"
    assert found["participant"][0]["actor"] == {"reference": f"Patient/{patient}"}


async def test_each_fhir_read_of_a_patient_is_in_the_access_log_as_its_api_equal(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    patient = (await client.post("/api/patients", json=PATIENT)).json()["id"]

    async def charted() -> bool:
        return (await client.get(f"/fhir/Patient/{patient}")).status_code == 200

    await eventually(charted, what="the patient's chart")
    steps = [
        (f"Patient/{patient}", {}, "patients:read"),
        ("Procedure", {"patient": patient}, "treatments:read"),
        ("Condition", {"patient": patient}, "clinical:read"),
        ("AllergyIntolerance", {"patient": patient}, "clinical:read"),
        ("Appointment", {"patient": patient}, "appointments:read"),
        ("Patient", {"identifier": PATIENT["national_id"]}, "patients:read"),
    ]
    for path, params, action in steps:
        before = len(await entries(platform))
        await fhir(client, path, **params)
        log = await entries(platform)
        assert len(log) == before + 1, path
        assert (log[-1]["action"], log[-1]["outcome"]) == (action, "done"), path
        assert log[-1]["patient_id"] == patient or log[-1]["details"] == {
            "patient_ids": [patient]
        }, path


async def test_a_receptionist_is_refused_the_chart_but_reads_demographics(
    anonymous: httpx.AsyncClient, sign_in: SignIn, client: httpx.AsyncClient
) -> None:
    patient = (await client.post("/api/patients", json=PATIENT)).json()["id"]
    desk = await sign_in("receptionist")
    for path in ("Condition", "AllergyIntolerance"):
        refused = await anonymous.get(f"/fhir/{path}", params={"patient": patient}, headers=desk)
        issue = outcome(refused, 403)["issue"][0]
        assert (issue["severity"], issue["code"]) == ("error", "forbidden")
    inventory = await sign_in("inventory")
    outcome(await anonymous.get(f"/fhir/Patient/{patient}", headers=inventory), 403)
    nobody = {"Authorization": ""}
    outcome(await anonymous.get(f"/fhir/Patient/{patient}", headers=nobody), 401)


async def test_an_unknown_search_parameter_is_refused_with_an_operation_outcome(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.get("/fhir/Procedure", params={"patient": str(uuid4()), "code": "x"})
    issue = outcome(refused, 400)["issue"][0]
    assert issue["details"]["coding"][0]["code"] == "unknown-parameter"
    assert "code" in issue["diagnostics"]


async def test_an_unknown_patient_is_a_404_operation_outcome(client: httpx.AsyncClient) -> None:
    missing = outcome(await client.get(f"/fhir/Patient/{uuid4()}"), 404)
    assert missing["issue"][0]["code"] == "not-found"
    outcome(await client.get("/fhir/Patient/not-an-id"), 422)
    outcome(await client.get("/fhir/Observation"), 404)
    hostile = await client.get("/fhir/Patient", params={"identifier": "1234\x005678Z"})
    assert 400 <= hostile.status_code < 500, hostile.text
    outcome(hostile, hostile.status_code)
    empty = searchset(await fhir(client, "Procedure", patient=str(uuid4())))
    assert empty == []
