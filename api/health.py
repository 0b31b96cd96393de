"""Liveness and readiness (PostgreSQL, RabbitMQ and Mongo reachable). Prometheus metrics are not
served here but on a port of their own (`CLINIC_METRICS_PORT`), never beside the public API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import Running
from api.permissions import public

router = APIRouter(tags=["operations"], dependencies=[Depends(public)])


class HealthOut(BaseModel):
    status: str = Field(description="`ok` while the process answers")


class ReadinessOut(BaseModel):
    status: str = Field(description="`ready`, or `not ready` (with status 503)")
    checks: dict[str, str] = Field(
        description="each dependency's state (`ok`, or why not) and each read model rebuilding"
    )


@router.get("/healthz")
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=ReadinessOut,
    responses={
        503: {
            "model": ReadinessOut,
            "description": "A dependency does not answer, or a read model is rebuilding",
        }
    },
)
async def readyz(running: Running) -> JSONResponse:
    """200 when every dependency answers; else 503 with the same fields."""
    checks = await running.readiness()
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
