"""What a patient or a report's reader reads is formatted by Babel from the CLDR: day and
month names, the 24-hour clock and the separators of Spain and Britain, euros where each
puts them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from typer.testing import CliRunner

from clinic.cli import app
from clinic.contexts.treatments import production_table
from infra.locale import clock, day, language_of, money, number

MADRID = ZoneInfo("Europe/Madrid")


def test_a_day_is_named_in_spanish_and_english() -> None:
    assert day(date(2026, 12, 8), "es") == "martes, 8 de diciembre de 2026"
    assert day(date(2026, 12, 8), "en") == "Tuesday, 8 December 2026"
    assert day(date(2027, 8, 1), "es") == "domingo, 1 de agosto de 2027"
    assert day(date(2027, 8, 1), "en") == "Sunday, 1 August 2027"


def test_an_instant_falls_on_the_day_of_the_clinics_calendar() -> None:
    new_year_in_madrid = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert day(new_year_in_madrid, "es", MADRID) == "viernes, 1 de enero de 2027"
    assert clock(new_year_in_madrid, MADRID, "es") == "0:30"
    assert clock(new_year_in_madrid, MADRID, "en") == "00:30"
    with pytest.raises(ValueError, match="zone"):
        day(new_year_in_madrid, "es")


def test_the_clock_is_24_hours_in_both_languages_across_the_change_to_summer_time() -> None:
    before, after = (datetime(2027, 3, d, 15, 45, tzinfo=UTC) for d in (27, 29))
    assert (clock(before, MADRID, "es"), clock(after, MADRID, "es")) == ("16:45", "17:45")
    assert (clock(before, MADRID, "en"), clock(after, MADRID, "en")) == ("16:45", "17:45")


def test_an_amount_in_euros_has_each_languages_separators_and_symbol() -> None:
    assert money(Decimal("1234.5"), "es") == "1.234,50\u00a0€"
    assert money(Decimal("1234.5"), "en") == "€1,234.50"
    assert money(Decimal("45"), "es") == "45,00\u00a0€"
    assert money(Decimal("0.456"), "en") == "€0.46"


def test_a_count_has_each_languages_separators() -> None:
    assert number(Decimal("12345.5"), "es") == "12.345,5"
    assert number(Decimal("12345.5"), "en") == "12,345.5"


def test_a_language_the_clinic_does_not_write_in_reads_as_spanish() -> None:
    assert language_of("fr") == "es"
    assert language_of("en") == "en"
    assert day(date(2026, 12, 8), "fr") == "martes, 8 de diciembre de 2026"
    assert money(Decimal("1"), "de") == "1,00\u00a0€"


def test_the_production_report_names_each_day_and_totals_counts_and_fees_in_the_language() -> None:
    rows = [
        {"day": "2027-03-26", "provider_id": "a", "treatments": 1200, "fees": "600.00"},
        {"day": "2027-03-29", "provider_id": "b", "treatments": 34, "fees": "34.50"},
    ]
    for language, friday, total, fees in (
        ("es", "viernes, 26 de marzo de 2027", "1.234", "634,50\u00a0€"),
        ("en", "Friday, 26 March 2027", "1,234", "€634.50"),
    ):
        console = Console(record=True, width=160)
        console.print(production_table(rows, language))
        lines = console.export_text().splitlines()
        assert any(friday in line for line in lines)
        (totals,) = [line for line in lines if "Total" in line]
        assert total in totals
        assert fees in totals


@pytest.mark.parametrize(
    ("days", "language", "says"),
    [
        (("2026-12-02", "2026-12-01"), "es", "on or after --from"),
        (("2026-12-01",) * 2, "fr", "es, en"),
    ],
)
def test_the_production_report_refuses_days_backwards_and_a_language_it_cannot_write(
    days: tuple[str, str], language: str, says: str
) -> None:
    arguments = ["report", "production", "--from", days[0], "--to", days[1]]
    refused = CliRunner().invoke(app, [*arguments, "--language", language])
    assert refused.exit_code == 2
    assert says in refused.output
