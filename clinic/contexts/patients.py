"""The `patients` context, declared: demographics, contact details, medical history and
alerts; the directory (PostgreSQL) and the chart (Mongo)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.table import Table

from api import patients as http
from clinic.console import CommandLine, console
from clinic.declaration import Context
from clinic.demo import Phase
from clinic.demo.patients import register_patients
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


CONTEXT = Context(
    name="patients",
    application=Patients,
    read_models=(PatientDirectory(), PatientChart()),
    provides=(lambda p: PatientQueries(p.pool, p.mongo_db, p.reader, p.states),),
    routers=(http.router,),
    grants=http.GRANTS,
    cli=add_commands,
    demo=((Phase.PATIENTS, register_patients),),
)
