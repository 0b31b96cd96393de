"""The `patients` context, declared: demographics, contact details, medical history and
alerts; the directory (PostgreSQL) and the chart (Mongo)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import patients as http
from api.fhir import patients as fhir
from clinic.console import CommandLine, console, errors
from clinic.declaration import Context
from clinic.demo import Phase
from clinic.demo.patients import register_patients
from clinic.importing.patients import FIELDS, parse_mapping, read_patients
from clinic.importing.registering import import_patients, refusals, summary
from clinic.importing.sheet import NotASheet
from commands.base import clinic_today
from commands.patients import Patients
from projections.audit import PatientHistory, patient_events
from projections.patients import PatientChart, PatientDirectory, PatientQueries

if TYPE_CHECKING:
    from clinic.platform import Platform


def add_commands(cli: CommandLine) -> None:
    audit = cli.group("audit", "Check the access log; replay a patient's history.")

    @audit.command("patient")
    def audit_patient(
        patient_id: UUID,
        as_of: Annotated[
            datetime | None,
            typer.Option("--as-of", help="ISO time with zone, e.g. 2026-11-26T10:00Z"),
        ] = None,
    ) -> None:
        """Print a patient's events (their record's, and every other context's about them),
        and the record as it stood at --as-of (or now)."""

        async def show(platform: Platform) -> None:
            services = platform.services()
            events = await patient_events(services.all_of(PatientHistory), patient_id)
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
            record = await platform.get(PatientQueries).chart_as_of(patient_id, moment)
            console.print_json(json.dumps(record))

        cli.run(show)

    _import_command(cli)


# Typer reads the annotations as text: an f-string inside one would be evaluated there.
MAP_HELP = '"Header=field" for a column the common headers miss; repeatable. Fields: ' + (
    ", ".join(FIELDS)
)


def _import_command(cli: CommandLine) -> None:
    imports = cli.group("import", "Bring records in from another system's export.")

    @imports.command("patients")
    def import_patients_command(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a CSV export")],
        mapping: Annotated[
            list[str] | None,
            typer.Option(
                "--map",
                help=MAP_HELP,
            ),
        ] = None,
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="check every row; import nothing")
        ] = False,
    ) -> None:
        """Register the patients of a CSV export (UTF-8 or Windows-1252; `,` `;` or tab),
        each row once however often the file is imported. Bad rows are reported by line and
        column; the others are imported. Exits 1 when any row was refused."""
        try:
            columns = parse_mapping(mapping or ())
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--map") from None
        try:
            reading = read_patients(file.read_bytes(), columns, clinic_today())
        except NotASheet as error:
            errors.print(f"[red]{escape(file.name)} was not imported:[/red] {escape(str(error))}")
            raise typer.Exit(2) from None

        async def work(platform: Platform) -> None:
            rows = len(reading.good) + len(reading.refused)
            bar = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())  # fmt: skip
            with Progress(*bar, console=console) as progress:
                task = progress.add_task("checking" if dry_run else "importing", total=rows)
                outcome = await import_patients(
                    platform, reading, dry_run=dry_run, advance=lambda: progress.advance(task)
                )
            console.print(summary(outcome, file.name))
            if reading.columns.ignored:
                left = ", ".join(reading.columns.ignored)
                console.print(f"Columns left out: {escape(left)} (--map one to import it)")
            if outcome.refused:
                console.print(refusals(outcome))
            if outcome.refused or outcome.unreached:
                raise typer.Exit(1)

        cli.run(work, mongo=False)


CONTEXT = Context(
    name="patients",
    application=Patients,
    read_models=(PatientDirectory(), PatientChart()),
    provides=(lambda p: PatientQueries(p.pool, p.mongo_db, p.reader, p.states),),
    routers=(http.router, fhir.router),
    grants=http.GRANTS,
    cli=add_commands,
    demo=((Phase.PATIENTS, register_patients),),
)
