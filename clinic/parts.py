"""The long-running parts of Sonrisa: the HTTP API with its readiness probe, the relay, the
projectors (each rebuilt first when it needs it) and every declared worker, as `clinic api`,
`clinic relay`, `clinic project` and `clinic worker` run them; and `clinic up`, which runs
them all as processes of their own (clinic/processes.py) beside the embedded Mongo server."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from api.app import create_app
from clinic import registry
from clinic.console import CommandLine, console, log, serve, serve_metrics
from clinic.declaration import Context
from clinic.platform import Platform, routers_of
from clinic.processes import Entry, Supervisor, plan
from clinic.rebuild import empty_read_models, needing_rebuild, rebuild_part
from clinic.supervisor import Part, api_part
from infra.mongo import EmbeddedMongo
from infra.settings import Settings
from projections.base import ProjectionLag


def http_app(platform: Platform) -> FastAPI:
    """The app over this platform: its contexts' routes, permissions and services."""
    return create_app(platform.settings, platform.routers(), platform.services(), platform.tracing)


def described_app(settings: Settings, contexts: Sequence[Context] = registry.CONTEXTS) -> FastAPI:
    """The app without services: it can only describe itself (OpenAPI, its routes)."""
    return create_app(settings, routers_of(contexts))


async def api_parts(platform: Platform) -> dict[str, Part]:
    """The API and its readiness probe; it follows the rebuild marks from its first answer."""
    s = platform.settings
    assert platform.health is not None
    await platform.health.follow_rebuilds()
    return {
        "api": api_part(
            http_app(platform), s.host, s.port, s.trusted_proxy_list(), reuse_port=s.reuse_port
        ),
        "health": platform.health.watch,
    }


async def projector_parts(platform: Platform, names: Sequence[str]) -> dict[str, Part]:
    """These projectors, each first rebuilt in the background if it is empty or its last
    rebuild did not finish."""
    parts: dict[str, Part] = {}
    for name in await needing_rebuild(platform, names):
        platform.states.rebuilding(name)
        parts[f"rebuild:{name}"] = rebuild_part(platform, name)
    parts.update({f"projector:{n}": platform.consumer(n).run for n in names})
    lag = ProjectionLag([platform.projectors[n] for n in names], platform.reader)
    parts["projection-lag"] = lag.run
    return parts


async def pipeline_parts(platform: Platform) -> dict[str, Part]:
    """The relay, every projector, and every worker's reactions and loops."""
    parts: dict[str, Part] = {"relay": platform.relay().run}
    parts.update(await projector_parts(platform, list(platform.projectors)))
    for name in platform.workers():
        parts.update(platform.worker_parts(name))
    return parts


def up(cli: CommandLine, *, one_process: bool, entry: Entry) -> None:
    """Every part, as processes of their own (or, `one_process`, as tasks of this one)."""

    @asynccontextmanager
    async def serving(settings: Settings) -> AsyncIterator[dict[str, Part]]:
        parts: dict[str, Part] = {}
        embedded = _embedded_mongo(settings)
        if embedded is not None:
            url = await asyncio.to_thread(embedded.start)
            parts["mongo"] = embedded.run
            log.info(
                "CLINIC_MONGO_URL is unset: started the embedded Mongo wire server",
                url=url,
                data=str(settings.embedded_mongo_data or "memory"),
            )
        try:
            async with cli.opened(settings, mongo=True, migrate=True) as platform:
                await platform.marks.mark(await empty_read_models(platform))
                if one_process:
                    serve_metrics(settings)
                    parts.update(await api_parts(platform))
                    parts.update(await pipeline_parts(platform))
                    _started(settings)
                    yield parts
                    return
            with tempfile.TemporaryDirectory(prefix="sonrisa-metrics-") as metrics:
                children = plan(settings, cli.contexts)
                supervisor = Supervisor(settings, children, Path(metrics), entry)
                supervisor.serve_metrics()
                parts["processes"] = supervisor.run
                _started(settings)
                yield parts
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    serve(serving)


def _started(settings: Settings) -> None:
    console.print(
        f"Sonrisa is running on http://{settings.host}:{settings.port} "
        f"(API docs at /docs); Ctrl-C stops it"
    )


def _embedded_mongo(settings: Settings) -> EmbeddedMongo | None:
    if settings.mongo_url is not None:
        return None
    return EmbeddedMongo(
        settings.embedded_mongo_python, settings.embedded_mongo_port, settings.embedded_mongo_data
    )
