"""The `treatments` context, declared: the catalogue, treatments, examinations and plans; the
composed tooth chart (Mongo) and the cross-patient list and production report (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Column, Table

from api import implant_cards
from api import treatments as http
from api.fhir import treatments as fhir
from clinic.console import CommandLine, console
from clinic.declaration import Context
from clinic.demo import Phase
from clinic.demo.treatments import chart_and_plan
from commands.treatments import Treatments
from commands.visits import ClinicalReferences
from infra.locale import DEFAULT_LANGUAGE, LOCALES, day, language_of, money, number
from projections.base import Document
from projections.treatments import (
    ClinicZoneSeen,
    TreatmentChart,
    TreatmentList,
    TreatmentQueries,
)

if TYPE_CHECKING:
    from clinic.platform import Platform

DAY = ["%Y-%m-%d"]
_HEADINGS = {
    "es": ("Producción", "Día", "Profesional", "Tratamientos", "Honorarios", "Total"),
    "en": ("Production", "Day", "Provider", "Treatments", "Fees", "Total"),
}


def production_table(rows: Sequence[Document], language: str) -> Table:
    """The production report as the clinic reads it: each day named, the counts and the
    euros as the language writes them (Babel), and the totals."""
    language = language_of(language)
    title, *headings, total = _HEADINGS[language]
    right = [Column(heading, justify="right") for heading in headings[2:]]
    table = Table(*headings[:2], *right, title=title)
    for row in rows:
        table.add_row(
            day(date.fromisoformat(row["day"]), language),
            row["provider_id"],
            number(row["treatments"], language),
            money(Decimal(row["fees"]), language),
        )
    table.add_section()
    table.add_row(
        total,
        "",
        number(sum(row["treatments"] for row in rows), language),
        money(sum((Decimal(row["fees"]) for row in rows), Decimal(0)), language),
    )
    return table


def add_commands(cli: CommandLine) -> None:
    reports = cli.group("report", "Reports for the clinic's staff, in Spanish or English.")

    @reports.command("production")
    def production(
        since: Annotated[datetime, typer.Option("--from", formats=DAY, help="first day")],
        until: Annotated[datetime, typer.Option("--to", formats=DAY, help="last day")],
        language: Annotated[str, typer.Option(help=" or ".join(LOCALES))] = DEFAULT_LANGUAGE,
    ) -> None:
        """Treatments done and their fees per clinic day and provider, voided ones left out."""
        if until < since:
            raise typer.BadParameter("--to is on or after --from")
        if language not in LOCALES:
            raise typer.BadParameter(f"--language is one of {', '.join(LOCALES)}")

        async def show(platform: Platform) -> None:
            rows = await platform.get(TreatmentQueries).production(since.date(), until.date())
            console.print(production_table(rows, language))

        cli.run(show, mongo=False)


CONTEXT = Context(
    name="treatments",
    application=Treatments,
    set_up=lambda treatments, platform: treatments.refer_with(ClinicalReferences.of(platform)),
    read_models=(TreatmentChart(), TreatmentList(), ClinicZoneSeen()),
    provides=(lambda p: TreatmentQueries(p.pool, p.mongo_db, p.reader, p.states),),
    routers=(http.router, implant_cards.router, fhir.router),
    grants=http.GRANTS,
    cli=add_commands,
    demo=((Phase.CLINICAL, chart_and_plan),),
)
