"""The OpenAPI document states how long every text and how large every number may be, and the
API holds to it: what a client may send is refused past its bound, and what it gets back fits
the bound the document promises."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.openapi_bounds import ANSWER_TEXT_LENGTH, UUID_LENGTH, bound, pattern_length
from clinic.parts import described_app
from infra.settings import MAX_TARGET_LENGTH, Settings
from tests.conftest import SignIn


@pytest.fixture(scope="module")
def document(settings: Settings) -> dict[str, Any]:
    return described_app(settings).openapi()


def schemas(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object in `node` with a `type`, and where it is."""
    if isinstance(node, dict):
        if "type" in node and not isinstance(node["type"], dict):
            yield where, node
        for key, value in node.items():
            yield from schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas(value, f"{where}/{index}")


def request_schemas(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield from schemas(operation.get("parameters", []), f"{method} {path}")
            yield from schemas(operation.get("requestBody", {}), f"{method} {path}")


def test_every_text_states_its_longest(document: dict[str, Any]) -> None:
    unbounded = [
        where
        for where, schema in schemas(document)
        if schema["type"] == "string" and not {"maxLength", "enum", "const"} & schema.keys()
    ]
    assert not unbounded, unbounded


def test_every_integer_states_its_range_and_format(document: dict[str, Any]) -> None:
    unbounded = [
        where
        for where, schema in schemas(document)
        if schema["type"] == "integer"
        and (
            not {"minimum", "maximum", "format"} <= schema.keys()
            or schema["format"] not in ("int32", "int64")
        )
    ]
    assert not unbounded, unbounded


def test_a_text_the_api_stores_fits_in_the_answers_it_comes_back_in(
    document: dict[str, Any],
) -> None:
    longest = max(
        schema["maxLength"]
        for _, schema in request_schemas(document)
        if schema["type"] == "string" and "maxLength" in schema
    )
    assert longest <= ANSWER_TEXT_LENGTH


def test_an_id_is_bounded_by_the_longest_spelling_of_a_uuid(document: dict[str, Any]) -> None:
    patient = document["paths"]["/api/patients/{patient_id}"]["get"]["parameters"][0]
    assert patient["schema"]["maxLength"] == UUID_LENGTH
    assert len("urn:uuid:" + "12345678-1234-5678-1234-567812345678") == UUID_LENGTH


def test_a_pattern_anchored_at_both_ends_bounds_the_text() -> None:
    assert pattern_length(r"^\d{6}$") == 6
    assert pattern_length("^(fdi|universal)$") == len("universal")
    assert pattern_length(r"^\d+$") is None, "no longest text"
    assert pattern_length(r"\d{6}") is None, "unanchored: anything around it matches"


def test_a_header_gets_no_bound_it_does_not_enforce_itself() -> None:
    parameters: list[dict[str, Any]] = [
        {"in": "query", "name": "q", "schema": {"type": "string"}},
        {"in": "header", "name": "X-Note", "schema": {"type": "string"}},
    ]
    document: dict[str, Any] = {"paths": {"/a": {"get": {"parameters": parameters}}}}
    bound(document, max_request_bytes=1000)
    query, header = parameters
    assert query["schema"]["maxLength"] == MAX_TARGET_LENGTH, "the address holds it"
    assert "maxLength" not in header["schema"], "the lint then asks the route for one"


async def test_an_address_longer_than_the_document_allows_is_refused(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    admin = await sign_in("admin")
    at_most = "/api/patients?q="
    longest = at_most + "a" * (MAX_TARGET_LENGTH - len(at_most))
    read = await anonymous.get(longest, headers=admin)
    assert read.status_code == 422, "read, and refused for its q (at most 100 characters)"
    refused = await anonymous.get(longest + "a", headers=admin)
    assert refused.status_code == 400, refused.text
    assert refused.json()["type"].endswith("/address-too-long")


async def test_an_if_match_longer_than_documented_is_refused(
    anonymous: httpx.AsyncClient, sign_in: SignIn, document: dict[str, Any]
) -> None:
    put = document["paths"]["/api/patients/{patient_id}"]["put"]
    (if_match,) = [p for p in put["parameters"] if p["name"] == "If-Match"]
    longest = if_match["schema"]["maxLength"]
    headers = {**await sign_in("admin"), "If-Match": '"1"' + " " * (longest - 2)}
    answer = await anonymous.put(
        "/api/patients/12345678-1234-5678-1234-567812345678", headers=headers, json={}
    )
    assert answer.status_code == 422, answer.text
    assert any("If-Match" in str(e) or "if-match" in str(e) for e in answer.json()["errors"])
