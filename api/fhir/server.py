"""What every FHIR route shares: the media type, the answer's declared shape, the `patient`
search parameter, searchset Bundles; and `GET /fhir/metadata`, the CapabilityStatement,
derived from the FHIR routes the contexts declare, so it lists exactly what is served."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from api.fhir import resources
from api.parameters import known_names
from api.permissions import public
from api.problems import FHIR_MEDIA_TYPE, FHIR_PREFIX
from api.routes import Reading

router = APIRouter(prefix=FHIR_PREFIX, tags=["fhir"])
# Each search parameter a FHIR route takes, with its FHIR search type.
SEARCH_TYPES = {"patient": "reference", "identifier": "token"}
CAPABILITIES_DATE = "2026-12-06"  # when this server's capabilities last changed
PatientParameter = Annotated[
    str,
    Query(
        alias="patient",
        max_length=44,
        pattern=r"^(Patient/)?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
        r"[0-9a-fA-F]{12}$",
        description="the patient's id, or `Patient/<id>`",
    ),
]


class FhirResponse(JSONResponse):
    media_type = FHIR_MEDIA_TYPE


class ResourceOut(BaseModel):
    """A FHIR R4 resource (http://hl7.org/fhir/R4/); docs/fhir.md maps its fields."""

    model_config = ConfigDict(extra="allow", title="FhirResource")
    resourceType: str = Field(max_length=64)  # noqa: N815 (FHIR's own name)
    id: str | None = Field(default=None, max_length=64)


class EntrySearchOut(BaseModel):
    mode: str = Field(max_length=16, description="always `match`")


class EntryOut(BaseModel):
    fullUrl: str = Field(max_length=400)  # noqa: N815 (FHIR's own name)
    resource: ResourceOut
    search: EntrySearchOut


class BundleOut(BaseModel):
    """A FHIR R4 Bundle of type `searchset`: every match of the search."""

    model_config = ConfigDict(title="FhirSearchsetBundle")
    resourceType: str = Field(max_length=16, description="always `Bundle`")  # noqa: N815
    type: str = Field(max_length=16, description="always `searchset`")
    total: int = Field(ge=0, le=100_000)
    entry: list[EntryOut] | None = Field(
        default=None, max_length=100_000, description="the matches; absent when none"
    )


def declared(model: type[BaseModel]) -> dict[str, Any]:
    """A FHIR route's answer: `application/fhir+json`, documented as `model` (the route
    returns the resource as a plain dict, so nothing FHIR has is dropped on the way)."""
    return {
        "response_model": None,
        "response_class": FhirResponse,
        "responses": {200: {"model": model, "description": "as application/fhir+json"}},
    }


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + FHIR_PREFIX


def patient_of(parameter: str) -> UUID:
    return UUID(parameter.removeprefix("Patient/"))


def searchset(read: Reading, found: list[resources.Resource], patient_id: UUID) -> dict[str, Any]:
    """The matches of a search about one patient, who is named in the access log."""
    read.about(patient_id)
    return resources.searchset(base_url(read.request), found)


def _served(routes: list[APIRoute]) -> tuple[set[str], dict[str, dict[str, str]]]:
    readable: set[str] = set()
    searches: dict[str, dict[str, str]] = {}
    for route in routes:
        parts = route.path_format.removeprefix(FHIR_PREFIX + "/").split("/")
        if not route.path_format.startswith(FHIR_PREFIX + "/") or parts == ["metadata"]:
            continue
        if len(parts) == 2:
            readable.add(parts[0])
        else:
            names = sorted(known_names(route))
            searches.setdefault(parts[0], {}).update({n: SEARCH_TYPES[n] for n in names})
    return readable, dict(sorted(searches.items()))


@router.get("/metadata", dependencies=[Depends(public)], **declared(ResourceOut))
async def metadata(request: Request) -> dict[str, Any]:
    """The CapabilityStatement: exactly the reads and searches this server answers."""
    readable, searches = _served(request.app.state.api_routes)
    return resources.capability_statement(base_url(request), readable, searches, CAPABILITIES_DATE)
