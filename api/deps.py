"""What routers ask for: the platform, who is acting, versions in headers, read-your-writes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

from fastapi import Request, Response

from api.problems import Problem
from commands.base import Written
from infra.bootstrap import Platform

CONSISTENCY_HEADER = "Sonrisa-Consistent-With"
TOKEN_HEADER = "Sonrisa-Consistency-Token"  # noqa: S105 - a header name
_TOKEN = re.compile(r"^\s*([0-9a-fA-F-]{32,36}):(\d{1,9})\s*$")
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def running_platform(request: Request) -> Platform:
    found: Platform = request.app.state.platform
    return found


async def platform(request: Request) -> Platform:
    """The dependency; async on purpose, as FastAPI runs sync ones in a worker thread."""
    return running_platform(request)


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
    return int(match.group(1))


def written(response: Response, result: Written) -> dict[str, object]:
    response.headers["ETag"] = f'"{result.version}"'
    response.headers[TOKEN_HEADER] = f"{result.id}:{result.version}"
    return {"id": str(result.id), "version": result.version}


async def read_your_writes(
    request: Request, response: Response, version_of: Callable[[UUID], Awaitable[int]]
) -> None:
    """If the client names a write it made, wait (bounded) until the read model has it."""
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
    timeout = running_platform(request).settings.read_your_writes_timeout_seconds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    while await version_of(aggregate_id) < version:
        if loop.time() >= deadline:
            response.headers["Sonrisa-Consistency"] = "stale"
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
    response.headers["Sonrisa-Consistency"] = "consistent"


def new_request_id() -> str:
    return str(uuid4())
