"""The long-running parts of Sonrisa, as `clinic api` and `clinic up` run them: the HTTP API
with its readiness probe, the relay, every projector and every declared worker, plus the
embedded Mongo wire server and background rebuilds when `clinic up` needs them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import FastAPI

from api.app import create_app
from clinic import registry
from clinic.console import CommandLine, console, log, run, serve_metrics
from clinic.declaration import Context
from clinic.platform import Platform, routers_of
from clinic.rebuild import empty_read_models, rebuild
from clinic.supervisor import Part, api_part, stop_on_signals, supervise
from infra.mongo import EmbeddedMongo
from infra.settings import Settings


def http_app(platform: Platform) -> FastAPI:
    """The app over this platform: its contexts' routes, permissions and services."""
    return create_app(platform.settings, platform.routers(), platform.services())


def described_app(settings: Settings, contexts: Sequence[Context] = registry.CONTEXTS) -> FastAPI:
    """The app without services: it can only describe itself (OpenAPI, its routes)."""
    return create_app(settings, routers_of(contexts))


def api_parts(platform: Platform) -> dict[str, Part]:
    s = platform.settings
    assert platform.health is not None
    return {
        "api": api_part(http_app(platform), s.host, s.port, s.trusted_proxy_list()),
        "health": platform.health.watch,
    }


def pipeline_parts(platform: Platform) -> dict[str, Part]:
    """The relay, every projector, and every worker's reactions and loops."""
    parts: dict[str, Part] = {"relay": platform.relay().run}
    parts.update({f"projector:{n}": platform.consumer(n).run for n in platform.projectors})
    for name in platform.workers():
        parts.update(platform.worker_parts(name))
    return parts


def up(cli: CommandLine) -> None:
    async def main(settings: Settings) -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
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
            platform = await Platform.open(settings, cli.contexts)
            try:
                await platform.migrate()
                for name in await empty_read_models(platform):
                    platform.states.rebuilding(name)
                    parts[f"rebuild:{name}"] = _once(platform, name)
                serve_metrics(settings)
                parts.update(api_parts(platform))
                parts.update(pipeline_parts(platform))
                console.print(
                    f"Sonrisa is running on http://{settings.host}:{settings.port} "
                    f"(API docs at /docs); Ctrl-C stops it"
                )
                await supervise(parts, stop)
            finally:
                await platform.close()
        finally:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)

    run(main)


def _embedded_mongo(settings: Settings) -> EmbeddedMongo | None:
    if settings.mongo_url is not None:
        return None
    return EmbeddedMongo(
        settings.embedded_mongo_python, settings.embedded_mongo_port, settings.embedded_mongo_data
    )


def _once(platform: Platform, name: str) -> Part:
    """A background rebuild: runs once while the rest serves, then waits to be stopped."""

    async def rebuild_once(stop: asyncio.Event) -> None:
        count = await rebuild(platform, name)
        log.info("rebuilt read model", projection=name, events=count)
        await stop.wait()

    return rebuild_once
