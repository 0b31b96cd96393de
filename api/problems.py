"""RFC 9457 problem details: every error the API gives, with a stable `type` per kind."""

from __future__ import annotations

from typing import Any

import asyncpg
import pymongo.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from commands.base import (
    AlreadyExists,
    CommitUnknown,
    NotFound,
    StaleVersion,
    StoreUnavailable,
)
from domain.shared import DomainError, NotYours, TransitionRefused
from infra.db import UNAVAILABLE
from infra.faults import describe, is_store_fault
from infra.logs import get_logger
from infra.readiness import NotReady

PROBLEM_BASE = "https://sonrisa.dev/problems/"
MEDIA_TYPE = "application/problem+json"
# The FHIR API (`/fhir`) speaks FHIR: its errors are OperationOutcome resources, the same
# problems told the way FHIR clients read them (docs/fhir.md).
FHIR_PREFIX = "/fhir"
FHIR_MEDIA_TYPE = "application/fhir+json"
# An HTTP status as FHIR's issue types (http://hl7.org/fhir/R4/valueset-issue-type.html) name it.
_ISSUE_TYPES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    410: "deleted",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "invalid",
    429: "throttled",
    503: "transient",
}
log = get_logger("api")


class FieldError(BaseModel):
    location: list[str]
    message: str
    code: str


class ProblemDetails(BaseModel):
    """The body of every error (RFC 9457), as `application/problem+json`."""

    model_config = ConfigDict(extra="allow", title="ProblemDetails")

    type: str = Field(description="a stable URI per kind of problem, e.g. .../problems/not-found")
    title: str
    status: int
    detail: str
    instance: str = Field(description="the path that was asked for")
    correlation_id: str | None = Field(description="quote it when you report the problem")
    errors: list[FieldError] | None = Field(
        default=None, description="422: what is wrong with each field"
    )


class IssueCoding(BaseModel):
    system: str = Field(max_length=100, description="https://sonrisa.dev/problems")
    code: str = Field(max_length=100, description="the problem's kind, as in problem+json")


class IssueDetails(BaseModel):
    coding: list[IssueCoding] = Field(max_length=1)
    text: str = Field(max_length=200, description="the problem's title")


class OutcomeIssue(BaseModel):
    severity: str = Field(max_length=16, description="always `error`")
    code: str = Field(max_length=32, description="FHIR's issue type")
    details: IssueDetails
    diagnostics: str = Field(max_length=2000, description="the problem's detail")


class OperationOutcome(BaseModel):
    """The body of every error under /fhir: a FHIR R4 OperationOutcome, as
    `application/fhir+json`."""

    model_config = ConfigDict(title="OperationOutcome")

    resourceType: str = Field(max_length=16, description="always `OperationOutcome`")  # noqa: N815
    issue: list[OutcomeIssue] = Field(max_length=1)


class Problem(Exception):
    """Raise to answer with a problem+json body."""

    def __init__(self, status: int, kind: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.kind, self.title, self.detail, self.extra = (
            status,
            kind,
            title,
            detail,
            extra,
        )
        self.headers: dict[str, str] = {}


def is_fhir(request: Request) -> bool:
    path = request.url.path
    return path == FHIR_PREFIX or path.startswith(FHIR_PREFIX + "/")


def operation_outcome(status: int, kind: str, title: str, detail: str) -> dict[str, Any]:
    """A problem as a FHIR R4 OperationOutcome: one error issue, its kind coded with the
    problem's own type URI so the two formats name the same thing."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": _ISSUE_TYPES.get(status, "exception"),
                "details": {
                    "coding": [{"system": PROBLEM_BASE.rstrip("/"), "code": kind}],
                    "text": title,
                },
                "diagnostics": detail,
            }
        ],
    }


def problem_response(
    request: Request, status: int, kind: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    if is_fhir(request):
        body = operation_outcome(status, kind, title, detail)
        return JSONResponse(body, status_code=status, media_type=FHIR_MEDIA_TYPE)
    body = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "correlation_id": getattr(request.state, "correlation_id", None),
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": [str(p) for p in e.get("loc", ())],
            "message": e.get("msg", ""),
            "code": e.get("type", ""),
        }
        for e in error.errors()
    ]


def _retry_later(request: Request, kind: str, title: str, detail: str) -> JSONResponse:
    response = problem_response(request, 503, kind, title, detail)
    response.headers["Retry-After"] = "2"
    return response


def _allowed(request: Request) -> str:
    """Every method the address takes: its routes are declared one per method, so the one
    route Starlette matched knows only its own. `create_app` lists the routes in app.state."""
    path = request.url.path
    matching = [r for r in getattr(request.app.state, "api_routes", ()) if r.path_regex.match(path)]
    # An address the document names as it is (/api/waitlist/matches) takes only its own
    # methods, not those of a template it also fits (/api/waitlist/{entry_id}).
    exact = [route for route in matching if route.path_format == path]
    return ", ".join(sorted({m for route in exact or matching for m in route.methods or ()}))


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, error: Problem) -> JSONResponse:
        response = problem_response(
            request, error.status, error.kind, error.title, error.detail, **error.extra
        )
        response.headers.update(error.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(
            request,
            422,
            "invalid-request",
            "The request is not valid",
            "fix the fields listed in `errors` and send it again",
            errors=_validation_errors(error),
        )

    @app.exception_handler(TransitionRefused)
    async def on_refused(request: Request, error: TransitionRefused) -> JSONResponse:
        return problem_response(request, 409, "transition-refused", "Not possible now", str(error))

    @app.exception_handler(NotYours)
    async def on_not_yours(request: Request, error: NotYours) -> JSONResponse:
        return problem_response(request, 403, "forbidden", "Not allowed", str(error))

    @app.exception_handler(DomainError)
    async def on_domain(request: Request, error: DomainError) -> JSONResponse:
        return problem_response(
            request,
            422,
            "invalid-data",
            "The clinic's rules refuse this data",
            str(error),
            field=error.field,
        )

    @app.exception_handler(AlreadyExists)
    async def on_exists(request: Request, error: AlreadyExists) -> JSONResponse:
        return problem_response(request, 409, "already-exists", "Already exists", str(error))

    @app.exception_handler(NotFound)
    async def on_not_found(request: Request, error: NotFound) -> JSONResponse:
        return problem_response(request, 404, "not-found", "Not found", str(error))

    @app.exception_handler(StaleVersion)
    async def on_stale(request: Request, error: StaleVersion) -> JSONResponse:
        # With If-Match the client's precondition failed (412); without, two writers collided.
        status, kind = (412, "stale-version") if error.expected is not None else (409, "conflict")
        return problem_response(
            request,
            status,
            kind,
            "The record has changed",
            f"{error}; reload it and apply your change again",
            current_version=error.actual,
        )

    @app.exception_handler(CommitUnknown)
    async def on_commit_unknown(request: Request, error: CommitUnknown) -> JSONResponse:
        # Distinct from "nothing was saved": the client must not conclude either way.
        log.warning("a commit's outcome is unknown")
        return _retry_later(request, "outcome-unknown", "Saved or not: unknown", str(error))

    @app.exception_handler(StoreUnavailable)
    @app.exception_handler(pymongo.errors.ConnectionFailure)
    async def on_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("a store is unavailable", error_type=type(error).__name__)
        detail = (
            str(error)
            if isinstance(error, StoreUnavailable)
            else "a store the clinic's records live in cannot be reached; try again shortly"
        )
        return _retry_later(request, "store-unavailable", "Temporarily unavailable", detail)

    for unavailable in UNAVAILABLE:
        app.add_exception_handler(unavailable, on_unavailable)

    async def on_store_fault(request: Request, error: Exception) -> JSONResponse:
        """The store answered, with a fault of its own (full, corrupt, read-only): "try
        again later", like an outage; anything else it answered is a bug of ours (500)."""
        if not is_store_fault(error):
            return await on_unexpected(request, error)
        log.error("a store is at fault", fault=describe(error))
        return _retry_later(
            request,
            "store-unavailable",
            "Temporarily unavailable",
            "a store the clinic's records live in is failing; nothing was saved, try again later",
        )

    for faulty in (
        pymongo.errors.OperationFailure,
        asyncpg.exceptions.InsufficientResourcesError,
        asyncpg.exceptions.PostgresSystemError,
        asyncpg.exceptions.InternalServerError,
    ):
        app.add_exception_handler(faulty, on_store_fault)

    @app.exception_handler(NotReady)
    async def on_not_ready(request: Request, error: NotReady) -> JSONResponse:
        return _retry_later(request, "read-model-rebuilding", "Not ready yet", str(error))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = {
            404: "not-found",
            405: "method-not-allowed",
            413: "payload-too-large",
            415: "unsupported-media-type",
        }.get(error.status_code, "http-error")
        answer = problem_response(
            request, error.status_code, kind, str(error.detail), str(error.detail)
        )
        answer.headers.update(error.headers or {})
        if error.status_code == 405:
            answer.headers["Allow"] = _allowed(request)
        return answer

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error", error_type=type(error).__name__)
        return problem_response(
            request,
            500,
            "internal-error",
            "Something went wrong on our side",
            "the error was logged with this correlation id; a change may or may not have been "
            "saved, so reload before you try again",
        )
