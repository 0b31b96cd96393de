"""The FastAPI application: middleware, error handling, the platform's own routers (health,
audit, the web app) and the routers of every context, which the entry layer passes in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute

from api import audit, docs, health, web
from api.admission import Admission
from api.fhir import server as fhir
from api.idempotency import Idempotency
from api.middleware import RequestContext
from api.openapi import install_openapi
from api.parameters import known_parameters_only
from api.problems import install
from api.services import Services
from infra.settings import Settings
from infra.tracing import Tracing

# The platform's own routers; the contexts' come between them and the web app's catch-all,
# which comes last so every route above it is matched first.
PLATFORM_ROUTERS = (health.router, audit.router, docs.router, fhir.router)
LAST_ROUTERS = (web.router,)
# The documentation: public by decision (its page and assets are served from the package).
DOCUMENTATION_PATHS = frozenset({"/openapi.json"}) | docs.PATHS


def all_routers(contexts: Sequence[APIRouter]) -> tuple[APIRouter, ...]:
    """Every router of the app, in the order they are matched."""
    return (*PLATFORM_ROUTERS, *contexts, *LAST_ROUTERS)


def routes_of(routers: Sequence[APIRouter]) -> list[APIRoute]:
    return [route for router in routers for route in router.routes if isinstance(route, APIRoute)]


def create_app(
    settings: Settings,
    routers: Sequence[APIRouter],
    services: Services | None = None,
    tracing: Tracing | None = None,
) -> FastAPI:
    """The app with the contexts' `routers`, over the given services; without services it
    can only describe itself (OpenAPI). Requests are traced by `tracing`, if given."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Commands run in worker threads; a few threads keep the event loop from queueing
        # behind many of them for the GIL (measured in bench/: 16 threads are slower).
        to_thread.current_default_thread_limiter().total_tokens = settings.command_threads
        yield

    app = FastAPI(
        title="Sonrisa",
        version="0.1.0",
        description="Dental clinic management: patients, appointments, treatments, inventory.",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves the page without a CDN
        redoc_url=None,
    )
    app.state.services = services
    app.state.web_root = settings.web_root
    install(app)
    every = all_routers(routers)
    # A misspelled filter is refused, not dropped (which would widen the answer). The web
    # app's routes keep their own query strings (the browser's address bar).
    checked = [Depends(known_parameters_only)]
    for router in every:
        app.include_router(router, dependencies=[] if router in LAST_ROUTERS else checked)
    app.state.api_routes = routes_of(every)  # a 405's Allow names all of a path's methods
    install_openapi(app, app.state.api_routes, max_request_bytes=settings.max_request_bytes)

    # The last added runs first: RequestContext wraps everything; a command refused for
    # overload never reaches the idempotency store.
    app.add_middleware(Idempotency)
    app.add_middleware(Admission, max_in_flight=settings.max_commands_in_flight)
    app.add_middleware(
        RequestContext, max_request_bytes=settings.max_request_bytes, tracing=tracing
    )
    return app
