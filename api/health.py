"""Liveness and readiness (PostgreSQL, RabbitMQ and Mongo reachable). Prometheus metrics are not
served here but on a port of their own (`CLINIC_METRICS_PORT`), never beside the public API."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from api.deps import Running
from api.permissions import public

router = APIRouter(tags=["operations"], dependencies=[Depends(public)])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(running: Running) -> JSONResponse:
    checks = await running.readiness()
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
