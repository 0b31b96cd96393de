"""The OpenAPI document tells the truth: who needs a token, and every error each route gives, as
problem+json."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from clinic.parts import described_app
from infra.settings import Settings
from tests.conftest import SignIn, problem_type
from tests.e2e.test_access_control import app_routes, guard_of, path_of

PROBLEM = {"$ref": "#/components/schemas/ProblemDetails"}
OUTCOME = {"$ref": "#/components/schemas/OperationOutcome"}


def error_content(path: str) -> dict[str, Any]:
    """Errors are problem+json, but FHIR's own under /fhir (OperationOutcome)."""
    if path.startswith("/fhir/"):
        return {"application/fhir+json": {"schema": OUTCOME}}
    return {"application/problem+json": {"schema": PROBLEM}}


@pytest.fixture(scope="module")
def document(settings: Settings) -> dict[str, Any]:
    return described_app(settings).openapi()


def documented_routes() -> list[APIRoute]:
    """The routes the document describes: the web app's pages are not part of the API."""
    return [route for route in app_routes() if route.include_in_schema]


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_bearer_tokens_are_declared_and_required_exactly_where_a_guard_asks(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    for route in documented_routes():
        kind, _ = guard_of(route)
        for method in route.methods or ():
            operation = document["paths"][route.path_format][method.lower()]
            if kind == "public":
                assert "security" not in operation, f"{method} {route.path}"
            else:
                assert {"bearerAuth": []} in operation["security"], f"{method} {route.path}"
                assert "401" in operation["responses"]
                assert "403" in operation["responses"]
    register = document["paths"]["/api/auth/register"]["post"]
    assert {} in register["security"], "the first admin registers without a token"


def test_every_error_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    assert "ProblemDetails" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path, operation in operations(document):
        responses = operation["responses"]
        assert {"400", "500"} <= set(responses), f"{method} {path}"
        for status, response in responses.items():
            if int(status) >= 400 and (path, status) != ("/readyz", "503"):
                assert response["content"] == error_content(path)
        if "requestBody" in operation:
            assert {"413", "422"} <= set(responses), f"{method} {path}"
        if "{" in path:
            assert "404" in responses, f"{method} {path}"


def test_if_match_sign_in_throttling_and_conflicts_are_documented_where_they_happen(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    for path, method in (
        ("/api/patients/{patient_id}", "put"),
        ("/api/appointments/{appointment_id}", "put"),
    ):
        operation = paths[path][method]
        assert {"409", "412", "428"} <= set(operation["responses"])
        assert "If-Match" in [p["name"] for p in operation["parameters"] if p["in"] == "header"]
    cancel = paths["/api/appointments/{appointment_id}"]["delete"]["responses"]
    assert "412" in cancel
    assert "428" not in cancel
    login = paths["/api/auth/login"]["post"]["responses"]
    assert "Retry-After" in login["429"]["headers"]
    assert "401" in login


def test_every_write_documents_overload_with_retry_after_and_reads_do_not(
    document: dict[str, Any],
) -> None:
    for method, path, operation in operations(document):
        if method not in {"GET", "HEAD"}:
            assert "Retry-After" in operation["responses"]["503"]["headers"], f"{method} {path}"
    assert "503" not in document["paths"]["/api/patients"]["get"]["responses"]


def test_metrics_are_not_part_of_the_public_api(document: dict[str, Any]) -> None:
    assert "/metrics" not in document["paths"]


async def test_every_answer_the_routes_give_is_one_their_document_names(
    anonymous: httpx.AsyncClient, sign_in: SignIn, document: dict[str, Any]
) -> None:
    """Walk every route as nobody, as a dentist and as inventory staff, with an empty body and
    ids that do not exist: each answer's status is documented, and each error is problem+json
    with the documented fields."""
    callers = {
        "nobody": {},
        "dentist": await sign_in("dentist"),
        "inventory": await sign_in("inventory"),
    }
    undocumented = []
    for route in documented_routes():
        for method in sorted(route.methods or ()):
            documented = document["paths"][route.path_format][method.lower()]["responses"]
            for who, headers in callers.items():
                body: dict[str, str] | None = {} if method in {"POST", "PUT"} else None
                answer = await anonymous.request(method, path_of(route), json=body, headers=headers)
                if str(answer.status_code) not in documented:
                    undocumented.append(f"{method} {route.path} as {who}: {answer.status_code}")
                if answer.status_code >= 400 and route.path.startswith("/fhir/"):
                    assert answer.json()["resourceType"] == "OperationOutcome"
                    assert problem_type(answer).startswith("https://sonrisa.dev/problems/")
                elif answer.status_code >= 400:
                    assert answer.headers["content-type"] == "application/problem+json"
                    problem = answer.json()
                    assert {"type", "title", "status", "detail", "instance"} <= set(problem)
    assert undocumented == []


def _resolved(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = document["components"]["schemas"][name]
    return schema


def _untyped(document: dict[str, Any], schema: dict[str, Any] | None) -> bool:
    """An object without named properties, or no schema at all; arrays by their items;
    unions (anyOf/oneOf/allOf) when any branch is untyped."""
    if not schema:
        return True
    schema = _resolved(document, schema)
    if not schema:
        return True
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            return any(_untyped(document, branch) for branch in schema[union])
    if schema.get("type") == "array":
        return _untyped(document, schema.get("items"))
    if schema.get("type") == "object" or "additionalProperties" in schema:
        return not schema.get("properties")
    return "type" not in schema and "enum" not in schema and "const" not in schema


def untyped_bodies(document: dict[str, Any]) -> list[str]:
    """Every 2xx JSON body whose schema names no fields."""
    return [
        f"{method} {path} {status}"
        for method, path, operation in operations(document)
        for status, answer in operation["responses"].items()
        if status.startswith("2")
        for media, content in answer.get("content", {}).items()
        if media.endswith("json") and _untyped(document, content.get("schema"))
    ]


def test_every_json_answer_names_its_fields(document: dict[str, Any]) -> None:
    untyped = untyped_bodies(document)
    assert not untyped, f"{len(untyped)} answers without named fields: {untyped}"


def _pattern(schema: dict[str, Any]) -> re.Pattern[str]:
    """The pattern of a string schema, or of the string branch of a nullable one."""
    for branch in (schema, *schema.get("anyOf", ())):
        if "pattern" in branch:
            return re.compile(branch["pattern"])
    raise AssertionError(f"no pattern in {schema}")


def _parameter(operation: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in operation["parameters"] if p["name"] == name)


def test_the_document_states_what_the_api_refuses_in_text_dates_and_headers(
    document: dict[str, Any],
) -> None:
    schemas, paths = document["components"]["schemas"], document["paths"]
    patient = schemas["RegisterPatient"]["properties"]
    name = _pattern(patient["given_name"])
    assert name.match("María José")
    assert not name.match("Mar\x00ía")
    assert not name.match("Ana\u202e")
    assert not name.match("Ana\nLópez")
    notes = _pattern(schemas["BookAppointment"]["properties"]["notes"])
    assert notes.match("line one\nline two")
    assert not notes.match("bell\x07")
    born = _pattern(patient["birth_date"])
    assert born.match("1984-05-17")
    assert not born.match("0636-04-07")
    assert not born.match("2200-01-01")
    hours = schemas["SetHours"]["properties"]["hours"]
    assert set(hours["propertyNames"]["enum"]) == {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    }
    query = _parameter(paths["/api/patients"]["get"], "q")["schema"]
    assert not _pattern(query).match("a\x1fb")
    update = _parameter(paths["/api/patients/{patient_id}"]["put"], "If-Match")
    assert update["required"] is True
    assert _pattern(update["schema"]).match('W/"3"')
    assert not _pattern(update["schema"]).match("")
    cancel = _parameter(paths["/api/appointments/{appointment_id}"]["delete"], "If-Match")
    assert cancel["required"] is False
    ready = paths["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]
    assert ready["schema"] == {"$ref": "#/components/schemas/ReadinessOut"}


def test_a_registered_patient_links_to_their_appointments_and_treatments(
    document: dict[str, Any],
) -> None:
    """Links name operations the document has, so a client can follow a new patient on."""
    by_id = {op["operationId"]: (m, p) for m, p, op in operations(document)}
    links = document["paths"]["/api/patients"]["post"]["responses"]["201"]["links"]
    followed = {name: by_id[link["operationId"]] for name, link in links.items()}
    assert followed["ReadPatient"] == ("GET", "/api/patients/{patient_id}")
    assert followed["BookAppointment"] == ("POST", "/api/appointments")
    assert followed["RecordTreatment"] == ("POST", "/api/treatments")
    assert links["BookAppointment"]["requestBody"] == {"patient_id": "$response.body#/id"}
    booked = document["paths"]["/api/appointments"]["post"]["responses"]["201"]["links"]
    assert booked["CheckIn"]["parameters"] == {
        "path.appointment_id": "$response.body#/id",
        "header.If-Match": "$response.header.ETag",
    }
    for _, _, operation in operations(document):
        for answer in operation["responses"].values():
            for link in answer.get("links", {}).values():
                assert link["operationId"] in by_id
