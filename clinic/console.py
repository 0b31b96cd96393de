"""What every `clinic` command shares: the consoles, settings and keys checked before anything
starts, a platform opened and closed around the work, and the one way to serve long-running
parts (metrics, signals, supervision)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer
from prometheus_client import start_http_server
from rich.console import Console
from rich.markup import escape

from clinic.platform import Platform
from clinic.supervisor import Part, event_loop_factory, stop_on_signals, supervise
from infra.keys import MissingSecrets, UnsafeSecrets
from infra.logs import configure_logging, get_logger
from infra.settings import Settings, get_settings

if TYPE_CHECKING:
    from clinic.declaration import Context

console = Console()
errors = Console(stderr=True)
log = get_logger("clinic")
Work = Callable[[Platform], Awaitable[None]]
Parts = Callable[[Platform], Mapping[str, Part] | Awaitable[Mapping[str, Part]]]
Serving = Callable[[Settings], AbstractAsyncContextManager[Mapping[str, Part]]]


@dataclass
class CommandLine:
    """The `clinic` command line over a set of declared contexts."""

    contexts: tuple[Context, ...]
    root: typer.Typer
    groups: dict[str, typer.Typer] = field(default_factory=dict)

    def group(self, name: str, help: str) -> typer.Typer:
        """The sub-command group `clinic NAME`, made on first use."""
        if name not in self.groups:
            self.groups[name] = typer.Typer(help=help, no_args_is_help=True)
            self.root.add_typer(self.groups[name], name=name)
        return self.groups[name]

    def read_models(self) -> list[str]:
        return [m.name for c in self.contexts for m in c.read_models]

    def run(self, work: Work, *, mongo: bool = True, migrate: bool = True) -> None:
        """Open the platform (creating what is missing), do the work, close it.
        `mongo=False` leaves the document store's indexes to the processes that project
        into it (it may be embedded in `clinic up`); `migrate=False` leaves the schemas
        to whoever started this process (`clinic up` made them before its processes)."""

        async def main(settings: Settings) -> None:
            async with self.opened(settings, mongo=mongo, migrate=migrate) as platform:
                await work(platform)

        run(main)

    @asynccontextmanager
    async def opened(
        self, settings: Settings, *, mongo: bool, migrate: bool
    ) -> AsyncIterator[Platform]:
        platform = await Platform.open(settings, self.contexts)
        try:
            if migrate or settings.migrate_on_start:
                await platform.migrate(mongo=mongo)
            yield platform
        finally:
            await platform.close()

    def serve(self, parts: Parts, *, mongo: bool = True) -> None:
        """Run long-lived parts of a platform until SIGINT or SIGTERM, each restarted if it
        crashes, with Prometheus metrics on a port of their own."""

        @asynccontextmanager
        async def serving(settings: Settings) -> AsyncIterator[Mapping[str, Part]]:
            async with self.opened(settings, mongo=mongo, migrate=False) as platform:
                serve_metrics(settings)
                made = parts(platform)
                yield await made if inspect.isawaitable(made) else made

        serve(serving)


def serve(serving: Serving) -> None:
    """The one way to run long-lived parts (`clinic up`, `api`, `relay`, `project`, the
    workers): settings, logging and keys first (`run`); SIGINT or SIGTERM, even while
    `serving` starts them, stops every part gracefully; each part is restarted if it
    crashes; what `serving` opened is closed once they all stopped."""

    async def main(settings: Settings) -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        async with serving(settings) as parts:
            await supervise(dict(parts), stop)

    run(main)


def run(main: Callable[[Settings], Coroutine[object, object, None]]) -> None:
    """Settings and keys checked first: without keys nothing starts (there is no default)."""
    settings = get_settings()
    configure_logging(settings.log_level, process=settings.process_name)
    try:
        settings.keyrings()
    except (MissingSecrets, UnsafeSecrets) as error:
        errors.print(f"[red]Sonrisa will not start:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main(settings))


def serve_metrics(settings: Settings) -> None:
    """Prometheus metrics on their own port and address, apart from the public API."""
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info("serving metrics", url=f"http://{settings.metrics_host}:{settings.metrics_port}")
