"""The OpenAPI document, told truthfully: bearer auth where a guard asks for a token, and the
problem+json answers each route can give.

The answers are derived from what each route declares (its guard, its method, its path and
body, If-Match, the sign-in throttle), not written route by route, so a new route is
described correctly without anyone remembering to. A route may still name an answer only
it gives (`responses=` on the route); every error answer is described as problem+json.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.contract import state_parameters
from api.links import add_links
from api.openapi_bounds import bound
from api.problems import (
    FHIR_MEDIA_TYPE,
    FHIR_PREFIX,
    MEDIA_TYPE,
    OperationOutcome,
    ProblemDetails,
)

SCHEME = "bearerAuth"
RATE_LIMIT_HEADERS = {  # draft-ietf-httpapi-ratelimit-headers
    "RateLimit-Policy": 'the limit, e.g. "messages-per-sender";q=20;w=3600 (20 an hour)',
    "RateLimit": 'what is left of it, e.g. "messages-per-sender";r=5;t=1200 (5, one more in '
    "1200 s)",
}
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})  # every other method changes something
ANSWERS = {
    400: "A header or the address is not valid (a control character, a malformed If-Match "
    "or consistency token, a query parameter this address does not take)",
    401: "Not signed in, or the token is expired, forged or revoked",
    403: "The role may not do this, or the second factor must be set up first",
    404: "What the request names does not exist",
    409: "The clinic's state does not allow it now (a refused transition, a duplicate, "
    "a concurrent change)",
    412: "If-Match names a version that is no longer the current one: reload and retry",
    413: "The body is larger than the server accepts (CLINIC_MAX_REQUEST_BYTES)",
    422: "The request is not valid: `errors` says what, field by field",
    428: "If-Match is required: send the ETag you read",
    429: "Too many failed sign-ins from here: wait as Retry-After says",
    500: "Something went wrong on the server; the correlation id is in the log",
    503: "Too many commands in progress, or the store cannot be reached: nothing was saved; "
    "retry as Retry-After says (with the same Idempotency-Key)",
}
RETRY_AFTER = {"schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait"}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    429: {"Retry-After": RETRY_AFTER},
    503: {"Retry-After": RETRY_AFTER},
}


def install_openapi(app: FastAPI, routes: list[APIRoute], *, max_request_bytes: int) -> None:
    """Make `app.openapi()` (and /openapi.json) return the document, with `routes` (the
    routers' own routes, as included) described, and every value's bound stated (a body is
    at most `max_request_bytes`)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            describe(schema, [r for r in routes if r.include_in_schema])
            bound(schema, max_request_bytes=max_request_bytes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe(schema: dict[str, Any], routes: list[APIRoute]) -> None:
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "the access token from POST /api/auth/login; verified as RFC8725 "
        "advises: one algorithm, never `none`, and exp, iat, iss, aud, jti, sub, sid required",
    }
    problem = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = components.setdefault("schemas", {})
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemDetails"] = problem
    outcome = OperationOutcome.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(outcome.pop("$defs", {}))
    schemas["OperationOutcome"] = outcome
    for route in routes:
        marks = _marks(route)
        for method in route.methods or ():
            operation = schema["paths"][route.path_format][method.lower()]
            if "sonrisa_permission" in marks:
                operation["security"] = [{SCHEME: []}]
                if "sonrisa_opening" in marks:  # open to nobody while the system is empty
                    operation["security"].append({})
            state_parameters(
                operation, if_match_required=marks.get("sonrisa_if_match") == "required"
            )
            for status in _answers(route, method, operation, marks):
                operation["responses"][str(status)] = _problem(status)
            error = _error_content(route.path_format)
            for status, response in operation["responses"].items():
                if int(status) >= 400 and not _answers_with_a_model(response):
                    response["content"] = error
            _rate_limit_headers(operation["responses"])
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    add_links(schema)


def _error_content(path: str) -> dict[str, Any]:
    """How a route's errors come: problem+json, or under /fhir an OperationOutcome."""
    if path.startswith(FHIR_PREFIX + "/"):
        return {FHIR_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}}
    return {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}


def _rate_limit_headers(responses: dict[str, Any]) -> None:
    """Where a limit applies (the operation can answer 429), its answers and its 429 say where
    the caller stands: RateLimit-Policy and RateLimit (security/quota.py)."""
    if "429" not in responses:
        return
    for status, response in responses.items():
        if status.startswith("2") or status == "429":
            headers = response.setdefault("headers", {})
            for name, description in RATE_LIMIT_HEADERS.items():
                headers[name] = {
                    "schema": {"type": "string", "maxLength": 200},
                    "description": description,
                }


def _answers(
    route: APIRoute, method: str, operation: dict[str, Any], marks: dict[str, Any]
) -> set[int]:
    """The error statuses this operation can answer with, from what it declares."""
    guarded = "sonrisa_permission" in marks
    write = method not in SAFE
    found = {400, 500}
    if guarded:
        found |= {401, 403}
    if route.param_convertors or (guarded and write):
        found.add(404)
    if guarded and write:
        found.add(409)
    if write:
        found.add(503)
    if write or operation.get("parameters") or operation.get("requestBody"):
        found.add(422)
    if "requestBody" in operation:
        found.add(413)
    if marks.get("sonrisa_if_match"):
        found.add(412)
        if marks["sonrisa_if_match"] == "required":
            found.add(428)
    if marks.get("sonrisa_throttled"):
        found.add(429)
    return found


def _answers_with_a_model(response: dict[str, Any]) -> bool:
    """A route's own error answer with a body of its own (`/readyz`'s 503), not a problem."""
    return "$ref" in response.get("content", {}).get("application/json", {}).get("schema", {})


def _problem(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ANSWERS[status]}
    if status in HEADERS:
        response["headers"] = HEADERS[status]
    return response


def _marks(route: APIRoute) -> dict[str, Any]:
    """What the route's dependencies declare about it (`sonrisa_*` attributes), at any depth."""
    found: dict[str, Any] = {}
    for dependant in _dependencies(route.dependant):
        for name in dir(dependant.call):
            if name.startswith("sonrisa_"):
                found[name] = getattr(dependant.call, name)
    return found


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)
