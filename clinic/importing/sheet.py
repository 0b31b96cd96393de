"""A CSV export as another system writes it: its bytes decoded (UTF-8 with or without a BOM,
UTF-16 as Excel's "Unicode text", else Windows-1252 as Spanish Windows exports are), its
delimiter found, its rows numbered by the line of the file they start on. Pure."""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

DELIMITERS = (",", ";", "\t")
# What a file that is not CSV text often is; said by name, so the desk knows what to do.
SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or a ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)
SAVE_AS = "save it from the spreadsheet as CSV (UTF-8) and import that file"


class NotASheet(ValueError):
    """The file is not a CSV export that can be read; nothing was imported from it."""


@dataclass(frozen=True, slots=True)
class Line:
    """One record of the file and the line of the file it starts on (the header is line 1
    when it is the first line)."""

    number: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sheet:
    headers: tuple[str, ...]
    lines: tuple[Line, ...]
    encoding: str
    delimiter: str


def normal(text: str) -> str:
    """Text as headers and codes are compared: without accents, case or punctuation
    ("F. Nacimiento" is "f nacimiento", "Teléfono" is "telefono", "2º apellido" is
    "2o apellido")."""
    plain = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def decode(data: bytes) -> tuple[str, str]:
    """The file's text and the encoding it was read in; NotASheet when it is no text."""
    for signature, what in SIGNATURES:
        if data.startswith(signature):
            raise NotASheet(f"it is {what}, not a CSV file: {SAVE_AS}")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _text(data.decode("utf-16")), "UTF-16"
        except UnicodeDecodeError:
            raise NotASheet("it starts as UTF-16 text but is not: " + SAVE_AS) from None
    if b"\x00" in data:
        raise NotASheet(f"it is a binary file, not CSV text: {SAVE_AS}")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return _text(data.decode("utf-8-sig")), "UTF-8"
        except UnicodeDecodeError:
            raise NotASheet("it starts as UTF-8 text but is not: " + SAVE_AS) from None
    for encoding, name in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
        try:
            return _text(data.decode(encoding)), name
        except UnicodeDecodeError:
            continue
    return _text(data.decode("latin-1")), "Latin-1"  # every byte is a Latin-1 character


def _text(text: str) -> str:
    if not text.strip():
        raise NotASheet("the file is empty")
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
        raise NotASheet(f"it holds control characters, as a binary file does: {SAVE_AS}")
    return text


def read_sheet(data: bytes, known: Callable[[str], bool]) -> Sheet:
    """The file's header and records. The delimiter is the one of `,` `;` and tab that splits
    the header into the most columns `known` recognises (then into the most columns)."""
    text, encoding = decode(data)
    first = next(line for line in text.splitlines() if line.strip())

    def fit(delimiter: str) -> tuple[int, int]:
        cells = next(csv.reader([first], delimiter=delimiter))
        return sum(known(cell) for cell in cells), len(cells)

    delimiter = max(DELIMITERS, key=fit)
    records = _records(text, delimiter)
    header = records[0]
    return Sheet(
        headers=tuple(cell.strip() for cell in header.cells),
        lines=tuple(records[1:]),
        encoding=encoding,
        delimiter=delimiter,
    )


def _records(text: str, delimiter: str) -> list[Line]:
    """Every record that is not blank, numbered by the line it starts on (a quoted value may
    run over several lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[Line] = []
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return records
        except csv.Error as error:
            raise NotASheet(f"line {start} cannot be read as CSV: {error}") from None
        if any(cell.strip() for cell in cells):
            records.append(Line(start, tuple(cells)))
