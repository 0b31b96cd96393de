"""What routers ask for: the services, who is acting, versions in headers, read-your-writes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import Depends, Header, Request, Response
from pydantic import BaseModel

from api.problems import Problem
from api.services import Services
from commands.base import Written

CONSISTENCY_HEADER = "Sonrisa-Consistent-With"
TOKEN_HEADER = "Sonrisa-Consistency-Token"  # noqa: S105 - a header name
_TOKEN = re.compile(r"^\s*([0-9a-fA-F-]{32,36}):(\d{1,9})\s*$")
# An ETag this API gave out, as the OpenAPI document states it: "3", W/"3" or 3.
# What the document states. HTTP strips the whitespace around a header value, so the server
# takes it anywhere; the document allows it only after the value, as clients refuse to send a
# value that starts with it.
ETAG_PATTERN = r'^(W/)?"?([0-9]{1,9})"?[ \t]*$'
_ETAG = re.compile(r'^[ \t]*(W/)?"?([0-9]{1,9})"?[ \t]*$')


def services_of(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


async def services(request: Request) -> Services:
    """The dependency; async on purpose, as FastAPI runs sync ones in a worker thread."""
    return services_of(request)


Running = Annotated[Services, Depends(services)]


def expected_version(request: Request, *, required: bool) -> int | None:
    header = request.headers.get("if-match")
    if header is None:
        if required:
            raise Problem(
                428,
                "precondition-required",
                "If-Match is required",
                "send the ETag you read in an If-Match header so no one's change is overwritten",
            )
        return None
    match = _ETAG.match(header)
    if not match:
        raise Problem(
            400,
            "invalid-if-match",
            "If-Match is not valid",
            'If-Match must be an ETag from this API, like "3"',
        )
    return int(match.group(2))


IF_MATCH_LENGTH = 64  # an ETag this API gives is a few characters; longer is not one of ours
_IF_MATCH = Header(
    alias="If-Match",
    max_length=IF_MATCH_LENGTH,
    description='the ETag this client read (e.g. "3"); a newer stored version gives 412',
)


async def _required_version(
    request: Request, if_match: Annotated[str | None, _IF_MATCH] = None
) -> int:
    version = expected_version(request, required=True)
    assert version is not None
    return version


async def _optional_version(
    request: Request, if_match: Annotated[str | None, _IF_MATCH] = None
) -> int | None:
    return expected_version(request, required=False)


# A route that declares one of these checks If-Match: 412 when stale, 428 when required and
# missing. The OpenAPI description finds them by their mark.
_required_version.sonrisa_if_match = "required"  # type: ignore[attr-defined]
_optional_version.sonrisa_if_match = "optional"  # type: ignore[attr-defined]
RequiredVersion = Annotated[int, Depends(_required_version)]
OptionalVersion = Annotated[int | None, Depends(_optional_version)]


class WrittenOut(BaseModel):
    """The answer to a write: the aggregate it changed and the version it reached."""

    id: str
    version: int


def written(response: Response, result: Written) -> dict[str, object]:
    """The answer to a write: its id and version, the ETag, and a consistency token."""
    response.headers["ETag"] = f'"{result.version}"'
    response.headers[TOKEN_HEADER] = f"{result.id}:{result.version}"
    return {"id": str(result.id), "version": result.version}


async def read_your_writes(
    request: Request, response: Response, *read_models: Callable[[UUID], Awaitable[int]]
) -> None:
    """If the client names a write it made, wait (bounded) until the read model that holds
    that aggregate has it. Each `read_models` entry tells the version a read model has
    reached for an aggregate (0 where it holds no such aggregate)."""
    header = request.headers.get(CONSISTENCY_HEADER)
    if not header:
        return
    match = _TOKEN.match(header)
    if not match:
        raise Problem(
            400,
            "invalid-consistency-token",
            "Consistency token is not valid",
            f"{CONSISTENCY_HEADER} must be the {TOKEN_HEADER} a write returned",
        )
    aggregate_id, version = UUID(match.group(1)), int(match.group(2))
    timeout = services_of(request).settings.read_your_writes_timeout_seconds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    while max([await version_of(aggregate_id) for version_of in read_models]) < version:
        if loop.time() >= deadline:
            response.headers["Sonrisa-Consistency"] = "stale"
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    response.headers["Sonrisa-Consistency"] = "consistent"


def new_request_id() -> str:
    return str(uuid4())
