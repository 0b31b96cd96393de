"""`clinic`: the one command line for running, migrating and inspecting Sonrisa."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

import typer
from prometheus_client import start_http_server
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.app import create_app
from clinic.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD, ClinicNotEmpty, create_demo_clinic
from clinic.platform import Platform
from clinic.registry import CONTEXTS
from clinic.supervisor import Part, api_part, event_loop_factory, stop_on_signals, supervise
from commands.base import clinic_today
from commands.identity import AlreadyExists, RegisterStaff
from domain.shared import DomainError, Meta
from infra.keys import (
    PURPOSE,
    MissingSecrets,
    UnsafeSecrets,
    create_secrets_file,
    rotate_in_secrets_file,
)
from infra.logs import configure_logging, get_logger
from infra.mongo import EmbeddedMongo
from infra.settings import Settings, get_settings
from projections.audit import patient_events
from projections.base import Projector, fold_until
from projections.patients import PatientChart

app = typer.Typer(help="Sonrisa, the dental clinic platform.", no_args_is_help=True)
projections_app = typer.Typer(help="Inspect and rebuild read models.", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
audit_app = typer.Typer(
    help="Check the access log; replay a patient's history.", no_args_is_help=True
)
app.add_typer(audit_app, name="audit")
secrets_app = typer.Typer(help="The local secrets file: create it, rotate its keys.")
app.add_typer(secrets_app, name="secrets")
console = Console()
errors = Console(stderr=True)
log = get_logger("clinic")


def _run(main: Callable[[Settings], Coroutine[Any, Any, None]]) -> None:
    settings = get_settings()
    configure_logging(settings.log_level)
    try:
        settings.keyrings()
    except (MissingSecrets, UnsafeSecrets) as error:
        errors.print(f"[red]Sonrisa will not start:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main(settings))


async def _open(settings: Settings, *, mongo: bool = True) -> Platform:
    platform = await Platform.open(settings)
    await platform.migrate(mongo=mongo)
    return platform


def _serve_metrics(settings: Settings) -> None:
    """Prometheus metrics on their own port and address, apart from the public API."""
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info(
            "serving metrics", address=f"http://{settings.metrics_host}:{settings.metrics_port}"
        )


def _consumer_parts(platform: Platform, names: list[str]) -> dict[str, Part]:
    return {f"projector:{n}": platform.consumer(n).run for n in names}


def _reminder_parts(platform: Platform) -> dict[str, Part]:
    """The reminder worker: its consumer of scheduling's events, and its dispatcher."""
    return {
        "reminders:consumer": platform.reminder_consumer().run,
        "reminders:dispatcher": platform.reminder_dispatcher().run,
    }


@app.command()
def reminders() -> None:
    """The reminder worker: schedules reminders from appointment events and sends them."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings, mongo=False)
        _serve_metrics(settings)
        stop = asyncio.Event()
        stop_on_signals(stop)
        try:
            await supervise(_reminder_parts(platform), stop)
        finally:
            await platform.close()

    _run(main)


@app.command()
def migrate() -> None:
    """Create the database, event store tables and read-model schemas (safe to repeat)."""

    async def main(settings: Settings) -> None:
        # Mongo's indexes are made by the processes that project into it (it may be embedded).
        platform = await _open(settings, mongo=False)
        await platform.close()
        console.print("[green]database and schemas are ready[/green]")

    _run(main)


@app.command()
def relay() -> None:
    """Relay events from the event store to RabbitMQ (one leader at a time)."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings, mongo=False)
        _serve_metrics(settings)
        stop = asyncio.Event()
        stop_on_signals(stop)
        try:
            await supervise({"relay": platform.relay().run}, stop)
        finally:
            await platform.close()

    _run(main)


@app.command()
def project(names: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    """Run projectors (all of them when no NAME is given)."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings)
        _serve_metrics(settings)
        stop = asyncio.Event()
        stop_on_signals(stop)
        try:
            await supervise(_consumer_parts(platform, names or list(platform.projectors)), stop)
        finally:
            await platform.close()

    _run(main)


@app.command()
def api() -> None:
    """Serve the HTTP API only."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings)
        _serve_metrics(settings)
        stop = asyncio.Event()
        stop_on_signals(stop)
        try:
            app_ = create_app(settings, platform.services())
            parts = {
                "api": api_part(app_, settings.host, settings.port, settings.trusted_proxy_list()),
                "health": platform.watch_dependencies,
            }
            await supervise(parts, stop)
        finally:
            await platform.close()

    _run(main)


@app.command()
def up() -> None:
    """API, relay, projectors, the reminder worker (and the embedded Mongo server), supervised."""

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
            platform = await _open(settings)
            try:
                for name in await platform.empty_read_models():
                    platform.states.rebuilding(name)
                    parts[f"rebuild:{name}"] = _once(platform, name)
                _serve_metrics(settings)
                parts["api"] = api_part(
                    create_app(settings, platform.services()),
                    settings.host,
                    settings.port,
                    settings.trusted_proxy_list(),
                )
                parts["health"] = platform.watch_dependencies
                parts["relay"] = platform.relay().run
                parts.update(_consumer_parts(platform, list(platform.projectors)))
                parts.update(_reminder_parts(platform))
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

    _run(main)


def _embedded_mongo(settings: Settings) -> EmbeddedMongo | None:
    if settings.mongo_url is not None:
        return None
    return EmbeddedMongo(
        settings.embedded_mongo_python, settings.embedded_mongo_port, settings.embedded_mongo_data
    )


def _once(platform: Platform, name: str) -> Part:
    """A background rebuild: runs once while the rest serves, then waits to be stopped."""

    async def rebuild(stop: asyncio.Event) -> None:
        count = await platform.rebuild(name)
        log.info("rebuilt read model", projection=name, events=count)
        await stop.wait()

    return rebuild


@projections_app.command("rebuild")
def rebuild(name: str) -> None:
    """Rebuild one read model from the event store, with a progress bar."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings)
        try:
            projector = _projector(platform, name)
            total = sum(
                [
                    await platform.reader.max_notification_id(c)
                    for c in projector.projection.contexts
                ]
            )
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console) as progress:
                task = progress.add_task(f"rebuilding {name}", total=total)
                count = await projector.rebuild(lambda n: progress.advance(task, n))
            console.print(f"[green]{name} rebuilt from {count} events[/green]")
        finally:
            await platform.close()

    _run(main)


@projections_app.command("retry")
def retry(
    name: str,
    aggregate: Annotated[
        list[UUID] | None, typer.Option(help="only this aggregate; repeat for several")
    ] = None,
) -> None:
    """Fold stuck aggregates of one read model again from the event store."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings)
        try:
            projector = _projector(platform, name)
            before = await projector.store.stuck()
            left = await projector.retry(aggregate)
        finally:
            await platform.close()
        tried = [i for i in before if aggregate is None or i in aggregate]
        console.print(f"[green]{len(tried) - len(left)} of {len(tried)} freed[/green]")
        for aggregate_id, mark in left.items():
            console.print(
                f"[red]still stuck:[/red] {aggregate_id} at version {mark.version}: "
                f"{escape(mark.error)}"
            )
        if left:
            raise typer.Exit(1)

    _run(main)


def _projector(platform: Platform, name: str) -> Projector:
    if name not in platform.projectors:
        known = ", ".join(sorted(platform.projectors))
        console.print(f"[red]unknown projection {name!r}[/red]; known: {known}")
        raise typer.Exit(2)
    return platform.projectors[name]


@projections_app.command("status")
def status() -> None:
    """Each projection's and the relay's position, and how far behind the event store it is."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings)
        try:
            table = Table("reader", "context", "position", "head", "lag")
            heads = await platform.reader.heads()
            relay = platform.relay()
            for context in CONTEXTS:
                position = await relay.position(context)
                table.add_row(
                    "relay",
                    context,
                    str(position),
                    str(heads[context]),
                    str(heads[context] - position),
                )
            stuck: list[str] = []
            for name, projector in platform.projectors.items():
                positions = await projector.store.status()
                for context in projector.projection.contexts:
                    position = positions.get(context, 0)
                    table.add_row(
                        name,
                        context,
                        str(position),
                        str(heads[context]),
                        str(heads[context] - position),
                    )
                for aggregate_id, mark in (await projector.store.stuck()).items():
                    stuck.append(
                        f"{name}: {aggregate_id} stuck at version {mark.version} "
                        f"({mark.event_type}): {escape(mark.error)}"
                    )
            console.print(table)
            if stuck:
                for line in stuck:
                    console.print(f"[red]{line}[/red]", soft_wrap=True)
                console.print(
                    "[yellow]stuck aggregates wait for `clinic projections retry NAME` "
                    "once the cause is fixed[/yellow]"
                )
            else:
                console.print("[green]no stuck aggregates[/green]")
        finally:
            await platform.close()

    _run(main)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="sign-in email")],
    name: Annotated[str, typer.Option(help="full name")],
    role: Annotated[list[str], typer.Option(help="a role; repeat for several")],
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
) -> None:
    """Create a staff account from the server (the way to make the first admin)."""

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def main(settings: Settings) -> None:
        platform = await _open(settings, mongo=False)
        try:
            command = RegisterStaff(name=name, email=email, roles=role, password=password)
            meta = Meta("cli", "server-operator", str(uuid4()), str(uuid4()))
            first = not await asyncio.to_thread(platform.identity.has_staff)
            result = await asyncio.to_thread(
                platform.identity.register, command, meta, first_admin=first and "admin" in role
            )
        except (DomainError, ValidationError, AlreadyExists) as error:
            console.print(f"[red]not created:[/red] {error}")
            raise typer.Exit(1) from None
        finally:
            await platform.close()
        console.print(f"[green]created staff account {result.id}[/green]")

    _run(main)


@app.command("demo-data")
def demo_data(
    admin_email: Annotated[
        str, typer.Option(help="the demo admin's sign-in email")
    ] = DEMO_ADMIN_EMAIL,
    admin_password: Annotated[
        str, typer.Option(help="the password of every demo account")
    ] = DEMO_PASSWORD,
) -> None:
    """Fill an EMPTY system with a small demo clinic: staff, chairs, patients, a week booked."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings, mongo=False)
        try:
            summary = await asyncio.to_thread(
                create_demo_clinic,
                platform,
                clinic_today(),
                admin_email=admin_email,
                password=admin_password,
            )
        except ClinicNotEmpty as error:
            console.print(f"[red]refused:[/red] {error} (demo data goes only into an empty system)")
            raise typer.Exit(1) from None
        except (DomainError, ValidationError, AlreadyExists) as error:
            console.print(f"[red]no demo data added:[/red] {error}")
            raise typer.Exit(1) from None
        finally:
            await platform.close()
        table = Table("demo clinic", "created", title="Sonrisa demo data")
        week = f"{summary.first_day} to {summary.last_day}"
        closures = ", ".join(f"{day} ({reason})" for day, reason in summary.closures)
        for what, count in (
            ("staff accounts", str(len(summary.staff))),
            ("chairs", str(summary.operatories)),
            ("appointment types", str(summary.appointment_types)),
            ("providers", str(summary.providers)),
            ("closure", closures),
            ("patients", str(summary.patients)),
            ("medical history entries", str(summary.history_entries)),
            ("alerts", str(summary.alerts)),
            ("examinations and treatments", f"{summary.examinations}, {summary.treatments}"),
            ("plans accepted, pending", f"{summary.plans_accepted}, {summary.plans_pending}"),
            (f"appointments, {week}", f"{summary.appointments} ({summary.confirmed} confirmed)"),
        ):
            table.add_row(what, count)
        console.print(table)
        console.print(
            f"Sign in as [bold]{escape(summary.admin_email)}[/bold] with password "
            f"[bold]{escape(admin_password)}[/bold]"
        )
        others = ", ".join(f"{email} ({role})" for _, email, role in summary.staff[1:])
        console.print(f"Other demo accounts, same password: {others}")

    _run(main)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the access log's chain; name the first entry that was changed, removed or added."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings, mongo=False)
        try:
            checked, broken = await platform.access_log.verify()
        finally:
            await platform.close()
        if broken is not None:
            console.print(
                f"[red]access log tampered:[/red] {broken.problem} "
                f"(first bad entry: {broken.seq}; {checked} entries before it are intact)"
            )
            raise typer.Exit(1)
        console.print(f"[green]access log intact: {checked} entries verified[/green]")

    _run(main)


@audit_app.command("patient")
def audit_patient(
    patient_id: UUID,
    as_of: Annotated[
        datetime | None, typer.Option("--as-of", help="ISO time with zone, e.g. 2026-11-26T10:00Z")
    ] = None,
) -> None:
    """Print a patient's events (their record's, and their treatments', examinations' and
    plans'), and the record as it stood at --as-of (or now)."""

    async def main(settings: Settings) -> None:
        platform = await _open(settings)
        try:
            services = platform.services()
            events = await patient_events(
                services.patient_records, services.treatment_records, patient_id
            )
        finally:
            await platform.close()
        if not events:
            console.print(f"[red]patient {patient_id} has no events[/red]")
            raise typer.Exit(1)
        moment = as_of or datetime.now(UTC)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        table = Table("context", "version", "at", "event", "actor", "role")
        for event in events:
            if event.timestamp <= moment:
                table.add_row(
                    event.context,
                    str(event.version),
                    event.timestamp.isoformat(),
                    event.event_type,
                    event.meta.get("actor_id", ""),
                    event.meta.get("actor_role", ""),
                )
        console.print(table)
        record_events = [e for e in events if e.context == "patients"]
        folded = fold_until(PatientChart(), record_events, moment)
        record = {"version": folded.version, **folded.document} if folded else None
        console.print_json(json.dumps(record))

    _run(main)


@secrets_app.command("init")
def secrets_init() -> None:
    """Create the secrets file with random keys, readable by its owner only (kept if it exists)."""
    path = get_settings().secrets_file
    if create_secrets_file(path):
        console.print(f"[green]created {escape(str(path))}[/green] (mode 600; never commit it)")
    else:
        console.print(f"using the secrets in {escape(str(path))}")


@secrets_app.command("rotate")
def secrets_rotate(
    purpose: Annotated[str, typer.Argument(help="jwt, audit, data or links")],
) -> None:
    """A new current key for PURPOSE; the old key keeps verifying what it signed until removed."""
    if purpose not in PURPOSE:
        errors.print(f"[red]unknown purpose {escape(purpose)!r}[/red]; one of {', '.join(PURPOSE)}")
        raise typer.Exit(2)
    path = get_settings().secrets_file
    try:
        new_id = rotate_in_secrets_file(path, purpose)
    except (MissingSecrets, UnsafeSecrets) as error:
        errors.print(f"[red]not rotated:[/red] {escape(str(error))}")
        raise typer.Exit(1) from None
    console.print(
        f"[green]{purpose} now uses key {new_id}[/green]; restart every `clinic` process. "
        "The previous key still verifies until you remove it from the file."
    )
