"""Liveness, readiness (PostgreSQL, RabbitMQ and Mongo reachable) and Prometheus metrics."""

from __future__ import annotations

import asyncio

import aio_pika
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import running_platform
from api.permissions import public

router = APIRouter(tags=["operations"], dependencies=[Depends(public)])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: asyncio.Future[object] | object) -> tuple[str, str]:
    try:
        await asyncio.wait_for(probe, timeout=3)  # type: ignore[arg-type]
    except Exception as error:
        return name, f"unreachable: {type(error).__name__}"
    return name, "ok"


async def _rabbitmq(url: str) -> None:
    connection = await aio_pika.connect(url, timeout=3)
    await connection.close()


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    running = running_platform(request)
    checks = dict(
        await asyncio.gather(
            _check("postgresql", running.pool.fetchval("SELECT 1")),
            _check("rabbitmq", _rabbitmq(running.settings.rabbitmq_url)),
            _check("mongo", running.mongo_db.command("ping")),
        )
    )
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
