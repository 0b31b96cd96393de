"""`clinic report production` gives the clinic its production in Spanish or English: each
day named, the counts and the fees in euros as the language writes them, and the totals."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime

from clinic.platform import Platform
from commands.treatments import RecordTreatment, Treatments
from infra.settings import Settings
from projections.treatments import TreatmentQueries
from tests.conftest import eventually
from tests.integration.helpers import clinician, registered_patient
from tests.integration.test_relay_crash import CLINIC, clinic_env

TUESDAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday in Madrid too
FILLINGS = 21  # at 50.00 € each: 1,050.00 €, an amount with a thousands separator


def _record(platform: Platform) -> str:
    """A real dentist's fillings, one for each of as many registered patients; the dentist."""
    meta = clinician(platform, "dentist")
    for tooth in range(FILLINGS):
        body = RecordTreatment(
            patient_id=registered_patient(platform, tooth),
            code="FILL-1",
            tooth=(11, 16, 26, 36, 46)[tooth % 5],
            surfaces="O" if tooth % 5 else "I",
            performed_at=TUESDAY,
        )
        platform.application(Treatments).record(body, meta)
    return meta.actor_id


def _report(settings: Settings, language: str) -> str:
    done = subprocess.run(
        [CLINIC, "report", "production", "--from", "2026-12-01", "--to", "2026-12-01",
         "--language", language],
        env=clinic_env(settings, COLUMNS="160"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_the_production_report_reads_in_spanish_and_in_english(
    platform: Platform, settings: Settings, pipeline: None
) -> None:
    dentist = await asyncio.to_thread(_record, platform)

    async def projected() -> bool:
        rows = await platform.get(TreatmentQueries).production(TUESDAY.date(), TUESDAY.date())
        return [row["treatments"] for row in rows] == [FILLINGS]

    await eventually(projected, what="the fillings in the production report")

    spanish = await asyncio.to_thread(_report, settings, "es")
    assert "martes, 1 de diciembre de 2026" in spanish
    assert "1.050,00\u00a0€" in spanish
    assert "Honorarios" in spanish
    english = await asyncio.to_thread(_report, settings, "en")
    assert "Tuesday, 1 December 2026" in english
    assert "€1,050.00" in english
    assert dentist in english
