"""Errors become problem+json with a stable type and the status a client can act on."""

from __future__ import annotations

import asyncpg
import httpx
import pymongo.errors
import pytest
from fastapi import FastAPI, Request

from api.problems import install
from commands.base import CommitUnknown, NotFound, StaleVersion, StoreUnavailable
from domain.shared import InvalidValue, TransitionRefused


def app_raising(error: Exception) -> FastAPI:
    app = FastAPI()
    install(app)

    @app.get("/boom")
    async def boom(request: Request) -> None:
        request.state.correlation_id = "c-1"
        raise error

    return app


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (StaleVersion(expected=3, actual=4), 412, "stale-version"),
        (StaleVersion(expected=None, actual=None), 409, "conflict"),
        (NotFound("patient 1 does not exist"), 404, "not-found"),
        (TransitionRefused("already ended"), 409, "transition-refused"),
        (
            InvalidValue("birth date cannot be in the future", field="birth_date"),
            422,
            "invalid-data",
        ),
        (RuntimeError("bug"), 500, "internal-error"),
        # PostgreSQL went away mid-request: "try again", never "something broke".
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), 503, "store-unavailable"),
        (asyncpg.InternalClientError("another operation is in progress"), 503, "store-unavailable"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), 503, "store-unavailable"),
        (ConnectionRefusedError("refused"), 503, "store-unavailable"),
        (StoreUnavailable("nothing was saved"), 503, "store-unavailable"),
        # The commit went out and its answer did not come back: saved or not is unknown.
        (CommitUnknown("may or may not be saved"), 503, "outcome-unknown"),
        # The store answered with a fault of its own: an outage, not a bug.
        (
            pymongo.errors.OperationFailure(
                "malformed", details={"errmsg": "database disk image is malformed"}
            ),
            503,
            "store-unavailable",
        ),
        (asyncpg.exceptions.DiskFullError("could not extend file"), 503, "store-unavailable"),
        (asyncpg.exceptions.DataCorruptedError("invalid page in block"), 503, "store-unavailable"),
        # ...but what the store refused for the request's sake is ours to fix.
        (
            pymongo.errors.OperationFailure("unknown operator: $foo", code=2),
            500,
            "internal-error",
        ),
    ],
)
async def test_each_error_maps_to_its_status_and_stable_type(
    error: Exception, status: int, kind: str
) -> None:
    transport = httpx.ASGITransport(app=app_raising(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == f"https://sonrisa.dev/problems/{kind}"
    assert body["status"] == status
    assert body["detail"]
