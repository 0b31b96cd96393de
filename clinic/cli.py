"""`clinic`: the one command line for running, migrating and inspecting Sonrisa.

The commands are made from the declared contexts (`make_cli`): every read model can be
rebuilt, every worker run, and each context adds commands of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Annotated
from uuid import UUID

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bus.dead_letters import dead_letters, replay
from clinic import registry
from clinic.console import CommandLine, console, errors
from clinic.declaration import Context
from clinic.demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_PASSWORD,
    ClinicNotEmpty,
    DemoRefused,
    DemoSummary,
)
from clinic.demo import create_demo_clinic as create_demo
from clinic.parts import api_parts, projector_parts, up
from clinic.platform import Platform
from commands.base import clinic_today
from domain.shared import DomainError
from infra.keys import PURPOSE, MissingSecrets, UnsafeSecrets, create_secrets_file
from infra.keys import rotate_in_secrets_file as rotate_key
from infra.settings import get_settings
from projections.base import Projector

OneProcess = Annotated[bool, typer.Option(help="run every part as a task of this one process")]


def make_cli(contexts: Sequence[Context]) -> typer.Typer:
    """The `clinic` command line over these contexts."""
    root = typer.Typer(help="Sonrisa, the dental clinic platform.", no_args_is_help=True)
    cli = CommandLine(tuple(contexts), root)
    _running(cli)
    _projections(cli)
    _operations(cli)
    for context in contexts:
        if context.cli is not None:
            context.cli(cli)
    return root


def _running(cli: CommandLine) -> None:
    root = cli.root

    @root.command("up")
    def up_command(one_process: OneProcess = False) -> None:
        """The whole platform: the API, the relay, the projectors and each worker as
        processes of their own, supervised (and the embedded Mongo server when no
        CLINIC_MONGO_URL is set). CLINIC_API_PROCESSES and CLINIC_PROJECTOR_PROCESSES set
        how many; by default half the machine's cores each."""
        up(cli, one_process=one_process, entry=run_child)

    @root.command()
    def api() -> None:
        """Serve the HTTP API only (no projection work)."""
        cli.serve(api_parts)

    @root.command()
    def relay() -> None:
        """Relay events from the event store to RabbitMQ (one leader at a time)."""
        cli.serve(lambda p: {"relay": p.relay().run}, mongo=False)

    @root.command()
    def project(names: Annotated[list[str] | None, typer.Argument()] = None) -> None:
        """Run projectors (all of them when no NAME is given); each is rebuilt first, while
        readers get 503, if it is empty or its last rebuild did not finish."""
        for name in names or ():
            if name not in cli.read_models():
                known = ", ".join(cli.read_models())
                errors.print(f"[red]unknown projection {escape(name)!r}[/red]; known: {known}")
                raise typer.Exit(2)
        cli.serve(lambda p: projector_parts(p, names or list(p.projectors)))

    @root.command()
    def worker(name: str) -> None:
        """Run one worker: its reactions to events and its loops."""
        workers = {w.name: w for c in cli.contexts for w in c.workers}
        if name not in workers:
            errors.print(f"[red]unknown worker {escape(name)!r}[/red]; one of {', '.join(workers)}")
            raise typer.Exit(2)
        cli.serve(lambda p: p.worker_parts(name), mongo=False)

    for context in cli.contexts:
        for declared in (w for w in context.workers if w.alias):
            root.command(
                declared.name, help=f"{declared.help} (the same as `worker {declared.name}`)"
            )(_worker_command(cli, declared.name))

    @root.command()
    def migrate() -> None:
        """Create the database, event store tables and read-model schemas (safe to repeat)."""

        async def done(_: Platform) -> None:
            console.print("[green]database and schemas are ready[/green]")

        # Mongo's indexes are made by the processes that project into it (it may be embedded).
        cli.run(done, mongo=False)


def _worker_command(cli: CommandLine, name: str) -> Callable[[], None]:
    def run_worker() -> None:
        cli.serve(lambda p: p.worker_parts(name), mongo=False)

    return run_worker


def _projections(cli: CommandLine) -> None:
    group = cli.group("projections", "Inspect and rebuild read models.")

    @group.command("rebuild")
    def rebuild(name: str) -> None:
        """Rebuild one read model from the event store, with a progress bar."""

        async def work(platform: Platform) -> None:
            projector = _projector(platform, name)
            contexts = projector.projection.contexts
            total = sum([await platform.reader.max_notification_id(c) for c in contexts])
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

        cli.run(work)

    @group.command("retry")
    def retry(
        name: str,
        aggregate: Annotated[
            list[UUID] | None, typer.Option(help="only this aggregate; repeat for several")
        ] = None,
    ) -> None:
        """Fold stuck aggregates of one read model again from the event store."""

        async def work(platform: Platform) -> None:
            projector = _projector(platform, name)
            before = await projector.store.stuck()
            left = await projector.retry(aggregate)
            tried = [i for i in before if aggregate is None or i in aggregate]
            console.print(f"[green]{len(tried) - len(left)} of {len(tried)} freed[/green]")
            for aggregate_id, mark in left.items():
                console.print(
                    f"[red]still stuck:[/red] {aggregate_id} at version {mark.version}: "
                    f"{escape(mark.error)}"
                )
            if left:
                raise typer.Exit(1)

        cli.run(work)

    dlq = typer.Typer(help="A consumer's dead-letter queue.", no_args_is_help=True)
    group.add_typer(dlq, name="dlq")

    @dlq.command("replay")
    def replay_dead_letters(
        name: Annotated[str, typer.Argument(help="a projection or a reaction")],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="list the messages, put nothing back")
        ] = False,
    ) -> None:
        """Put a consumer's dead-lettered messages back on its queue (once the cause is
        fixed); `--dry-run` lists them first."""

        async def work(platform: Platform) -> None:
            consumers = sorted([*platform.projectors, *platform.reactions()])
            if name not in consumers:
                console.print(
                    f"[red]unknown consumer {name!r}[/red]; known: {', '.join(consumers)}"
                )
                raise typer.Exit(2)
            queue = platform.settings.queue_name(name)
            url = platform.settings.rabbitmq_url
            letters = await (dead_letters(url, queue) if dry_run else replay(url, queue))
            table = Table("message", "event", "error", "failed at")
            for letter in letters:
                table.add_row(
                    letter.message_id,
                    letter.routing_key,
                    escape(f"{letter.error_type}: {letter.error[:200]}"),
                    letter.failed_at,
                )
            console.print(table)
            verb = "would be put back" if dry_run else "put back"
            console.print(f"[green]{len(letters)} message(s) {verb} on {queue}[/green]")

        cli.run(work, mongo=False, migrate=False)

    @group.command("status")
    def status() -> None:
        """Each projection's and the relay's position, and how far behind the event store it is."""
        cli.run(_status)


def _projector(platform: Platform, name: str) -> Projector:
    if name not in platform.projectors:
        known = ", ".join(sorted(platform.projectors))
        console.print(f"[red]unknown projection {name!r}[/red]; known: {known}")
        raise typer.Exit(2)
    return platform.projectors[name]


async def _status(platform: Platform) -> None:
    table = Table("reader", "context", "position", "head", "lag")
    heads = await platform.reader.heads()
    relay = platform.relay()

    def row(reader: str, context: str, position: int) -> None:
        head = heads[context]
        table.add_row(reader, context, str(position), str(head), str(head - position))

    for context in heads:
        row("relay", context, await relay.position(context))
    stuck: list[str] = []
    for name, projector in platform.projectors.items():
        positions = await projector.store.status()
        for context in projector.projection.contexts:
            row(name, context, positions.get(context, 0))
        for aggregate_id, mark in (await projector.store.stuck()).items():
            stuck.append(
                f"{name}: {aggregate_id} stuck at version {mark.version} "
                f"({mark.event_type}): {escape(mark.error)}"
            )
    console.print(table)
    for line in stuck:
        console.print(f"[red]{line}[/red]", soft_wrap=True)
    if stuck:
        console.print(
            "[yellow]stuck aggregates wait for `clinic projections retry NAME` "
            "once the cause is fixed[/yellow]"
        )
    else:
        console.print("[green]no stuck aggregates[/green]")


def _operations(cli: CommandLine) -> None:
    root = cli.root

    @root.command("demo-data")
    def demo_data(
        admin_email: Annotated[
            str, typer.Option(help="the demo admin's sign-in email")
        ] = DEMO_ADMIN_EMAIL,
        admin_password: Annotated[
            str, typer.Option(help="the password of every demo account")
        ] = DEMO_PASSWORD,
    ) -> None:
        """Fill an EMPTY system with a small demo clinic: staff, chairs, patients, a week booked."""

        async def work(platform: Platform) -> None:
            try:
                summary = await asyncio.to_thread(
                    create_demo,
                    platform,
                    clinic_today(),
                    admin_email=admin_email,
                    password=admin_password,
                )
            except ClinicNotEmpty as error:
                console.print(
                    f"[red]refused:[/red] {error} (demo data goes only into an empty system)"
                )
                raise typer.Exit(1) from None
            except (DomainError, ValidationError, DemoRefused) as error:
                console.print(f"[red]no demo data added:[/red] {error}")
                raise typer.Exit(1) from None
            _print_demo(summary, admin_password)

        cli.run(work, mongo=False)

    audit = cli.group("audit", "Check the access log; replay a patient's history.")

    @audit.command("verify")
    def audit_verify() -> None:
        """Check the access log's chain; name the first entry that was changed, removed or added."""

        async def work(platform: Platform) -> None:
            checked, broken = await platform.access_log.verify()
            if broken is not None:
                console.print(
                    f"[red]access log tampered:[/red] {broken.problem} "
                    f"(first bad entry: {broken.seq}; {checked} entries before it are intact)"
                )
                raise typer.Exit(1)
            console.print(f"[green]access log intact: {checked} entries verified[/green]")

        cli.run(work, mongo=False)

    secrets = cli.group("secrets", "The local secrets file: create it, rotate its keys.")

    @secrets.command("init")
    def secrets_init() -> None:
        """Create the secrets file with random keys, readable by its owner only (kept if it
        exists)."""
        path = get_settings().secrets_file
        if create_secrets_file(path):
            console.print(f"[green]created {escape(str(path))}[/green] (mode 600; never commit it)")
        else:
            console.print(f"using the secrets in {escape(str(path))}")

    @secrets.command("rotate")
    def secrets_rotate(
        purpose: Annotated[str, typer.Argument(help="jwt, audit, data or links")],
    ) -> None:
        """A new current key for PURPOSE; the old key keeps verifying what it signed until
        removed."""
        if purpose not in PURPOSE:
            errors.print(
                f"[red]unknown purpose {escape(purpose)!r}[/red]; one of {', '.join(PURPOSE)}"
            )
            raise typer.Exit(2)
        path = get_settings().secrets_file
        try:
            new_id = rotate_key(path, purpose)
        except (MissingSecrets, UnsafeSecrets) as error:
            errors.print(f"[red]not rotated:[/red] {escape(str(error))}")
            raise typer.Exit(1) from None
        console.print(
            f"[green]{purpose} now uses key {new_id}[/green]; restart every `clinic` process. "
            "The previous key still verifies until you remove it from the file."
        )


def _print_demo(summary: DemoSummary, password: str) -> None:
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
        ("stock items, lots received", f"{summary.items}, {summary.lots}"),
        (f"appointments, {week}", f"{summary.appointments} ({summary.confirmed} confirmed)"),
    ):
        table.add_row(what, count)
    console.print(table)
    console.print(
        f"Sign in as [bold]{escape(summary.admin_email)}[/bold] with password "
        f"[bold]{escape(password)}[/bold]"
    )
    others = ", ".join(f"{email} ({role})" for _, email, role in summary.staff[1:])
    console.print(f"Other demo accounts, same password: {others}")


app = make_cli(registry.CONTEXTS)


def run_child(args: Sequence[str]) -> None:
    """A process of `clinic up`, forked with the platform already imported: `clinic ARGS`."""
    app(args=list(args), prog_name="clinic")
