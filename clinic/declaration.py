"""What a bounded context declares about itself, once: its Application, read models, what it
gives the HTTP layer, routers and permissions, workers, settings, set-up, tables and demo step.

The registry lists the declarations; the wiring, the app, `clinic migrate`, `clinic up`, the
relay's queues and `clinic projections` are derived from them (ADR 13). Nothing here names a
context: a context's own module under `clinic/contexts/` fills a `Context` in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import APIRouter
from pydantic_settings import BaseSettings

from api.permissions import Grants
from bus.consumer import BatchHandler
from clinic.supervisor import Part
from commands.base import ClinicApplication
from projections.base import Projection

if TYPE_CHECKING:
    from clinic.console import CommandLine
    from clinic.demo import DemoStep, Phase
    from clinic.platform import Platform


class Migratable(Protocol):
    async def migrate(self) -> None: ...


@dataclass(frozen=True)
class Reaction:
    """A consumer of events that is not a read model (a worker's ear on the bus): one durable
    queue bound to `binding_keys`, its handler made from the wired platform."""

    name: str
    binding_keys: tuple[str, ...]
    handler: Callable[[Platform], BatchHandler]


@dataclass(frozen=True)
class Worker:
    """A long-running part of a context, run by `clinic worker NAME` and as a process of its
    own under `clinic up`: its reactions to events and any other loops (a dispatcher)."""

    name: str
    help: str
    reactions: tuple[Reaction, ...] = ()
    loops: Callable[[Platform], Mapping[str, Part]] = lambda _: {}
    # Also `clinic NAME`, as well as `clinic worker NAME` (not where NAME is a command group).
    alias: bool = True


@dataclass(frozen=True)
class Context:
    """One bounded context, declared once.

    - `application`: its command side (an eventsourcing Application), if it has one;
      `set_up` configures it from settings and keys once the platform is open.
    - `read_models`: its projections; each becomes a projector and a queue.
    - `provides`: what the HTTP layer (and workers) get from it besides the Application,
      usually its query objects, each made from the wired platform and found by its type.
    - `routers` and `grants`: its HTTP routes and which roles may do its actions.
    - `workers`: its long-running parts beyond projectors.
    - `settings`: its own settings class (environment variables with the `CLINIC_` prefix).
    - `tables`: tables of its own outside the event store and read models (made by migrate).
    - `cli`: commands of its own, added to the `clinic` command line.
    - `demo`: its step of `clinic demo-data`, run in the registry's order.
    """

    name: str
    application: type[ClinicApplication] | None = None
    set_up: Callable[[Any, Platform], None] | None = None
    read_models: tuple[Projection, ...] = ()
    provides: tuple[Callable[[Platform], object], ...] = ()
    routers: tuple[APIRouter, ...] = ()
    grants: Grants = field(default_factory=dict)
    workers: tuple[Worker, ...] = ()
    settings: type[BaseSettings] | None = None
    tables: tuple[Callable[[Platform], Migratable], ...] = ()
    cli: Callable[[CommandLine], None] | None = None
    demo: tuple[tuple[Phase, DemoStep], ...] = ()
