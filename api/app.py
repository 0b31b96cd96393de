"""The FastAPI application: middleware, error handling and the routers of every context."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request, Response

from api import audit, health, identity, patients
from api.deps import new_request_id
from api.permissions import AccessIntent, Actor
from api.problems import install, problem_response
from infra.access_log import Access
from infra.bootstrap import Platform
from infra.logs import get_logger
from infra.metrics import HTTP_REQUESTS
from infra.settings import Settings

log = get_logger("api")
ROUTERS = (health.router, identity.router, patients.router, audit.router)
# FastAPI's own documentation routes: public by decision.
DOCUMENTATION_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def create_app(settings: Settings, platform: Platform | None = None) -> FastAPI:
    """The app. Given a `platform` (tests, `clinic up`), it uses that one and leaves it open."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if platform is not None:
            app.state.platform = platform
            yield
            return
        owned = await Platform.open(settings)
        app.state.platform = owned
        try:
            yield
        finally:
            await owned.close()

    app = FastAPI(
        title="Sonrisa",
        version="0.1.0",
        description="Dental clinic management: patients, appointments, treatments, inventory.",
        lifespan=lifespan,
    )
    if platform is not None:
        app.state.platform = platform
    install(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.middleware("http")
    async def context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        supplied = request.headers.get("x-correlation-id", "")
        request.state.correlation_id = (
            supplied if _CORRELATION.match(supplied) else new_request_id()
        )
        request.state.request_id = new_request_id()
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(
            correlation_id=request.state.correlation_id, request_id=request.state.request_id
        ):
            length = request.headers.get("content-length")
            if length and (not length.isdigit() or int(length) > settings.max_request_bytes):
                response: Response = problem_response(
                    request,
                    413,
                    "payload-too-large",
                    "The request is too large",
                    f"send at most {settings.max_request_bytes} bytes",
                )
            else:
                response = await call_next(request)
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            if (intent := getattr(request.state, "access", None)) is not None:
                await _log_access(request, intent, path, response.status_code)
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(request.method, path, str(response.status_code)).observe(elapsed)
            # The route template, never the query string: searches contain patients' names.
            log.info(
                "request",
                method=request.method,
                route=path,
                status=response.status_code,
                ms=round(elapsed * 1000, 2),
            )
        response.headers["X-Correlation-Id"] = request.state.correlation_id
        return response

    return app


def _outcome(status: int) -> str:
    if status < 400:
        return "done"
    return "refused" if status in (401, 403) else "failed"


async def _log_access(request: Request, intent: AccessIntent, route: str, status: int) -> None:
    actor: Actor | None = getattr(request.state, "actor", None)
    await request.app.state.platform.access_log.append(
        Access(
            actor_id=str(actor.staff_id) if actor else None,
            actor_role="+".join(sorted(actor.roles)) if actor else None,
            action=intent.action,
            patient_id=intent.patient_id,
            route=f"{request.method} {route}",
            outcome=_outcome(status),
            status=status,
            correlation_id=request.state.correlation_id,
            source_address=request.client.host if request.client else None,
            reason=actor.break_glass_reason if actor else None,
            details=intent.details,
        )
    )
