"""A package's GS1 barcode as a handheld scanner types it (GS1-128 or DataMatrix element
strings, with or without the FNC1 group separator), read by biip: the GTIN (01), the lot (10),
the expiry (17) and the serial (21). An implant's UDI is such a string too (MDR 2017/745,
art. 27). Shared: the inventory reads deliveries with it, the treatments context implants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from biip import ParseConfig, ParseError, parse
from biip.gtin import Gtin

from domain.shared import InvalidValue, check_text

GROUP_SEPARATOR = "\x1d"  # FNC1, as a scanner types it
LONGEST = 200  # a DataMatrix on a package holds well under this
SEPARATORS = ParseConfig(separator_chars=("\x1d", "|"))  # FNC1 as typed, or as shown


@dataclass(frozen=True, slots=True)
class Scan:
    gtin: str
    lot: str | None
    expiry: date | None
    serial: str | None
    text: str  # as scanned, group separators shown as "|" (text kept anywhere is printable)


def read_scan(text: str, today: date, field: str = "scan") -> Scan:
    """The parts of a scanned GS1 string, or InvalidValue naming the part at fault."""
    if len(text) > LONGEST:
        raise InvalidValue(f"{field} is at most {LONGEST} characters", field=field)
    raw = text.strip().removeprefix("]d2").removeprefix("]C1").removeprefix("]Q3")
    check_text(raw.replace("\x1d", ""), field)
    try:
        result = parse(raw, config=SEPARATORS)
    except ParseError as error:
        raise InvalidValue(f"{field} is not a GS1 barcode: {error}", field=field) from None
    message = result.gs1_message
    if message is None:
        raise InvalidValue(
            f"{field} is not a GS1 barcode: {result.gs1_message_error or 'no element strings'}",
            field=field,
        )
    parts = {es.ai.ai: es for es in message.element_strings}
    gtin_part = parts.get("01")
    if gtin_part is None:
        raise InvalidValue(f"{field} has no GTIN (01)", field=f"{field}.gtin")
    if gtin_part.gtin is None:
        raise InvalidValue(
            f"{field}'s GTIN (01) is wrong: {gtin_part.gtin_error or 'not a GTIN'}",
            field=f"{field}.gtin",
        )
    expiry_part = parts.get("17")
    expiry = expiry_part.date if expiry_part is not None else None
    if expiry_part is not None and expiry is None:
        raise InvalidValue(f"{field}'s expiry (17) is not a date", field=f"{field}.expiry")
    if expiry is not None and expiry < today:
        raise InvalidValue(
            f"{field}'s expiry (17) {expiry} is in the past: this package is expired",
            field=f"{field}.expiry",
        )
    lot, serial = parts.get("10"), parts.get("21")
    return Scan(
        gtin=gtin_part.gtin.value.zfill(14),
        lot=lot.value if lot is not None else None,
        expiry=expiry,
        serial=serial.value if serial is not None else None,
        text=raw.replace("\x1d", "|"),
    )


def valid_gtin(text: str, field: str = "gtin") -> str:
    """A GTIN (8, 12, 13 or 14 digits) with a right check digit, as 14 digits."""
    try:
        return Gtin.parse(text).value.zfill(14)
    except ParseError as error:
        raise InvalidValue(f"{field} is wrong: {error}", field=field) from None


def udi_in(text: str | None, on: date) -> Scan | None:
    """A recorded lot that is a scanned UDI (an implant's GS1 string), read as of the day it
    was recorded; None for plain text, which is a lot number as written."""
    if not text or not text.lstrip("]").startswith(("01", "d201")):
        return None
    try:
        return read_scan(text, on, "udi")
    except InvalidValue:
        return None
