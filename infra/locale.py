"""Dates, times, amounts and counts as a person reads them, in Spanish or English.

Babel formats them from the Unicode CLDR data (ADR 22): Spanish as in Spain (`es_ES`),
English as in Britain (`en_GB`), both on a 24-hour clock. A language is its two-letter code,
the values of the patient's `Language`; any other reads as Spanish, the clinic's own. Nothing
here knows a context: the reminders and the reports pass in the language and the zone.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal

LOCALES = {"es": Locale.parse("es_ES"), "en": Locale.parse("en_GB")}
DEFAULT_LANGUAGE = "es"
CURRENCY = "EUR"


def language_of(code: str) -> str:
    """The language a text is written in: this one if the clinic writes in it, else Spanish."""
    return code if code in LOCALES else DEFAULT_LANGUAGE


def _locale(language: str) -> Locale:
    return LOCALES[language_of(language)]


def day(value: date | datetime, language: str, zone: ZoneInfo | None = None) -> str:
    """`jueves, 3 de diciembre de 2026` / `Thursday, 3 December 2026`; an instant is read as
    the day it is on the `zone`'s calendar."""
    if isinstance(value, datetime):
        if zone is None:
            raise ValueError("an instant needs a zone to fall on a day")
        value = value.astimezone(zone).date()
    return format_date(value, "full", locale=_locale(language))


def clock(moment: datetime, zone: ZoneInfo, language: str) -> str:
    """The time on the `zone`'s clock: `9:05` in Spanish, `09:05` in English, 24 hours both."""
    return format_time(moment, "short", tzinfo=zone, locale=_locale(language))


def money(amount: Decimal, language: str) -> str:
    """An amount in euros: `1.234,50 €` in Spanish, `€1,234.50` in English."""
    return format_currency(amount, CURRENCY, locale=_locale(language))


def number(value: int | Decimal, language: str) -> str:
    """A count or a quantity with the language's separators: `1.234` / `1,234`."""
    return format_decimal(value, locale=_locale(language))
