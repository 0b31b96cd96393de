"""A patients export's columns and rows read as `RegisterPatient` commands, or refused with
reasons the front desk can act on, named by the file's own column headers. Pure: the
command's own validation and the domain's rules decide, as they do for the API.

Reasons never quote a value: they name the line and the column, so a summary or a log
holding them holds no patient's data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from clinic.importing.sheet import Line, NotASheet, Sheet, normal, read_sheet
from commands.patients import RegisterPatient
from domain.patients import valid_birth_date, valid_email, valid_national_id, valid_phone
from domain.shared import DomainError

# What a column may give, and how the desk calls it in a message.
FIELDS = {
    "given_name": "given name",
    "family_name": "family name (or first surname)",
    "second_family_name": "second surname",
    "birth_date": "date of birth",
    "sex": "sex",
    "national_id": "national id (DNI or NIE)",
    "phone": "phone",
    "mobile": "mobile phone",
    "email": "email",
    "address": "street address",
    "address_line2": "second address line",
    "postal_code": "postcode",
    "city": "city",
    "region": "province",
    "country": "country",
    "language": "language",
    "skip": "nothing (the column is left out)",
}
REQUIRED = ("given_name", "family_name", "birth_date")
# Common headers, compared as `normal` writes them (no accents, case or punctuation).
SPANISH = {
    "given_name": ("nombre", "nombres", "nombre de pila"),
    "family_name": ("apellidos", "apellido", "primer apellido", "apellido 1", "apellido1",
                    "1er apellido", "1o apellido"),
    "second_family_name": ("segundo apellido", "apellido 2", "apellido2", "2o apellido"),
    "birth_date": ("fecha de nacimiento", "fecha nacimiento", "f nacimiento", "f nac",
                   "fecha nac", "fec nac", "nacimiento"),
    "sex": ("sexo", "genero"),
    "national_id": ("dni", "nie", "nif", "dni nie", "nif nie", "dni nif", "documento",
                    "documento de identidad", "n documento"),
    "phone": ("telefono", "tel", "tfno", "telefono fijo", "telefono 1"),
    "mobile": ("movil", "telefono movil", "celular", "tel movil"),
    "email": ("correo", "correo electronico", "e mail", "email", "mail"),
    "address": ("direccion", "domicilio", "calle", "direccion 1"),
    "address_line2": ("direccion 2", "piso", "piso puerta"),
    "postal_code": ("codigo postal", "cp", "c p", "cod postal"),
    "city": ("ciudad", "localidad", "poblacion", "municipio"),
    "region": ("provincia", "comunidad"),
    "country": ("pais",),
    "language": ("idioma", "lengua"),
}  # fmt: skip
ENGLISH = {
    "given_name": ("first name", "firstname", "given name", "given names", "forename"),
    "family_name": ("last name", "lastname", "surname", "surnames", "family name"),
    "second_family_name": ("second surname", "second last name"),
    "birth_date": ("date of birth", "birth date", "birthdate", "dob", "d o b", "born"),
    "sex": ("sex", "gender"),
    "national_id": ("national id", "national id number", "id number", "id card"),
    "phone": ("phone", "telephone", "phone number", "home phone", "landline"),
    "mobile": ("mobile", "mobile phone", "cell", "cell phone", "mobile number"),
    "email": ("email address", "e mail address"),
    "address": ("address", "street", "address 1", "address line 1", "street address"),
    "address_line2": ("address 2", "address line 2"),
    "postal_code": ("postcode", "post code", "postal code", "zip", "zip code"),
    "city": ("city", "town"),
    "region": ("province", "region", "county", "state"),
    "country": ("country",),
    "language": ("language", "preferred language"),
}  # fmt: skip
HEADERS = {alias: (field, spanish) for spanish, table in ((False, ENGLISH), (True, SPANISH))
           for field, aliases in table.items() for alias in aliases}  # fmt: skip

# A single letter means one thing in a Spanish export (M de mujer) and another in an English
# one (M for male): the letters follow the language most of the file's headers are in.
SEXES = {
    "female": ("mujer", "femenino", "female", "woman", "fem"),
    "male": ("hombre", "varon", "masculino", "male", "man", "masc"),
    "other": ("otro", "otra", "other", "x"),
    "unknown": ("desconocido", "no consta", "ns", "unknown", "not known"),
}
LETTERS = {True: {"m": "female", "f": "female", "h": "male", "v": "male"},
           False: {"m": "male", "f": "female", "u": "unknown"}}  # fmt: skip
LANGUAGES = {"es": "es", "espanol": "es", "castellano": "es", "spanish": "es",
             "en": "en", "ingles": "en", "english": "en"}  # fmt: skip
COUNTRIES = {"espana": "ES", "spain": "ES"}
# Fields of the domain's messages, as they name them, and the column that gave each.
DOMAIN_FIELDS = {"given name": "given_name", "family name": "family_name",
                 "address line 1": "address", "address line 2": "address_line2",
                 "address city": "city", "address postal code": "postal_code",
                 "address region": "region", "address country": "country"}  # fmt: skip
COMMAND_FIELDS = {"line1": "address", "line2": "address_line2"}
DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
YEAR_FIRST = re.compile(r"(\d{4})([/.-])(\d{1,2})\2(\d{1,2})")
SHORT_YEAR = re.compile(r"\d{1,2}([/.-])\d{1,2}\1\d{2}")
MIDNIGHT = re.compile(r"[ T]0?0:00(:00(\.0+)?)?$")  # spreadsheets add it to a plain date


class RowRefused(ValueError):
    def __init__(self, reasons: Sequence[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = tuple(reasons)


@dataclass(frozen=True, slots=True)
class Columns:
    """Which column of the file gives which field; `spanish` when most headers are."""

    headers: tuple[str, ...]
    index: Mapping[str, int]
    spanish: bool
    ignored: tuple[str, ...]

    def name(self, field: str) -> str:
        """How a reason names the column that gave `field` (both, for two surnames)."""
        if field == "family_name" and "second_family_name" in self.index:
            return f"{self._quoted('family_name')} and {self._quoted('second_family_name')}"
        return self._quoted(field) if field in self.index else f"the {FIELDS.get(field, field)}"

    def _quoted(self, field: str) -> str:
        return f'"{self.headers[self.index[field]]}"'


@dataclass(frozen=True, slots=True)
class Refused:
    line: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reading:
    """A file read: each good row's command by its line, each bad row's reasons."""

    columns: Columns
    encoding: str
    delimiter: str
    good: tuple[tuple[int, RegisterPatient], ...]
    refused: tuple[Refused, ...]


def parse_mapping(options: Iterable[str]) -> dict[str, str]:
    """`--map "Header=field"` options, by the header as `normal` writes it."""
    mapping: dict[str, str] = {}
    for option in options:
        header, sep, field = option.rpartition("=")
        field = field.strip().removeprefix("address.")
        field = COMMAND_FIELDS.get(field, field)
        if not sep or not header.strip():
            raise ValueError(f'write --map as "Header=field", not "{option}"')
        if field not in FIELDS:
            raise ValueError(f'"{field}" is not a field; use one of {", ".join(FIELDS)}')
        mapping[normal(header)] = field
    return mapping


def columns_of(headers: Sequence[str], mapping: Mapping[str, str]) -> Columns:
    """The file's columns read by `--map` first, then by the common headers; NotASheet when
    the header is not one or lacks a field every patient has."""
    normals = [normal(h) for h in headers]
    if absent := sorted(mapping.keys() - set(normals)):
        raise NotASheet(f'--map names a column "{absent[0]}" that the file does not have')
    index: dict[str, int] = {}
    spanish = english = 0
    ignored: list[str] = []
    for at, key in enumerate(normals):
        field = mapping.get(key) or HEADERS.get(key, ("", False))[0]
        if key not in mapping and field in mapping.values():
            field = "skip"  # --map chose another column for it
        elif key in HEADERS and key not in mapping:
            spanish, english = (spanish + 1, english) if HEADERS[key][1] else (spanish, english + 1)
        if not field or field == "skip":
            ignored += [headers[at]] if headers[at] else []
            continue
        if field in index:
            raise NotASheet(
                f'the columns "{headers[index[field]]}" and "{headers[at]}" both give the '
                f'{FIELDS[field]}: leave one out with --map "{headers[at]}=skip"'
            )
        index[field] = at
    if not index:
        raise NotASheet(
            "its first line is not a header of columns Sonrisa knows (such as Nombre; "
            "Apellidos; Fecha de nacimiento, or First name, Last name, Date of birth): name "
            'your columns with --map "Header=field"'
        )
    for field in REQUIRED:
        if field not in index:
            raise NotASheet(
                f"no column gives the {FIELDS[field]}, which every patient has: name it "
                f'with --map "Your header={field}"'
            )
    return Columns(tuple(headers), index, spanish >= english, tuple(ignored))


def read_patients(data: bytes, mapping: Mapping[str, str], today: date) -> Reading:
    """The whole file read; NotASheet before any row when the file itself cannot be."""
    sheet: Sheet = read_sheet(data, lambda cell: normal(cell) in HEADERS or normal(cell) in mapping)
    columns = columns_of(sheet.headers, mapping)
    good: list[tuple[int, RegisterPatient]] = []
    refused: list[Refused] = []
    for line in sheet.lines:
        try:
            good.append((line.number, patient_of(line, columns, today)))
        except RowRefused as error:
            refused.append(Refused(line.number, error.reasons))
    return Reading(columns, sheet.encoding, sheet.delimiter, tuple(good), tuple(refused))


def patient_of(line: Line, columns: Columns, today: date) -> RegisterPatient:
    """The row as the command the front desk would send, checked as the API checks it."""
    if len(line.cells) > len(columns.headers) and any(
        c.strip() for c in line.cells[len(columns.headers) :]
    ):
        raise RowRefused([
            f"it has {len(line.cells)} values where the header has {len(columns.headers)} "
            "columns: a value holding the delimiter needs quotes around it"
        ])  # fmt: skip
    cell = {
        field: line.cells[at].strip() if at < len(line.cells) else ""
        for field, at in columns.index.items()
    }
    reasons: list[str] = []
    body = _body(cell, columns, reasons)
    failed = {r.split(":", 1)[0] for r in reasons}
    try:
        command = RegisterPatient.model_validate(body)
    except ValidationError as error:
        for problem in error.errors(include_input=False, include_url=False):
            reason = _reason(problem, columns)
            if reason.split(":", 1)[0] not in failed:
                reasons.append(reason)
        raise RowRefused(reasons) from None
    if reasons:
        raise RowRefused(reasons)
    _check_rules(command, columns, today)
    return command


def _check_rules(command: RegisterPatient, columns: Columns, today: date) -> None:
    """The domain's rules, as registering applies them; each value's own first, so that a
    row with several mistakes names them all at once."""
    checks: tuple[Callable[[], object], ...] = (
        lambda: valid_birth_date(command.birth_date, today),
        lambda: valid_national_id(command.national_id),
        lambda: valid_phone(command.phone),
        lambda: valid_email(command.email),
        lambda: command.demographics(today),
        command.contact,
    )
    reasons: dict[str, str] = {}
    for check in checks:
        try:
            check()
        except DomainError as error:
            field = DOMAIN_FIELDS.get(error.field or "", error.field or "")
            reasons.setdefault(field, f"{columns.name(field)}: {error}")
    if reasons:
        raise RowRefused(list(reasons.values()))


def _body(cell: Mapping[str, str], columns: Columns, reasons: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        k: cell[k] for k in ("given_name", "national_id", "email") if cell.get(k)
    }
    family = " ".join(cell[k] for k in ("family_name", "second_family_name") if cell.get(k))
    if family:
        body["family_name"] = family
    if phone := cell.get("mobile") or cell.get("phone"):
        body["phone"] = phone
    for field, read in (("birth_date", read_day), ("sex", read_sex), ("language", read_language)):
        if cell.get(field):
            try:
                body[field] = read(cell[field], columns.spanish)
            except ValueError as error:
                reasons.append(f"{columns.name(field)}: {error}")
    body.setdefault("sex", "unknown")
    address = {
        key: cell[field]
        for key, field in (("line1", "address"), ("line2", "address_line2"),
                           ("postal_code", "postal_code"), ("city", "city"), ("region", "region"))
        if cell.get(field)
    }  # fmt: skip
    if country := cell.get("country"):
        address["country"] = COUNTRIES.get(normal(country), country.upper())
    if address.keys() - {"country"}:
        body["address"] = address
    return body


def _reason(problem: Mapping[str, Any], columns: Columns) -> str:
    location = [str(part) for part in problem["loc"]]
    field = location[-1] if location[0] == "address" and len(location) > 1 else location[0]
    field = COMMAND_FIELDS.get(field, field)
    if problem["type"] == "missing":
        if field in columns.index:
            return f"{columns.name(field)}: is empty, and every patient needs it"
        return f"{columns.name(field)}: is missing (an address needs its street, city and postcode)"
    message = str(problem["msg"]).removeprefix("Value error, ")
    return f"{columns.name(field)}: {message}"


def read_day(text: str, spanish: bool = True) -> str:
    """A day written dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy or yyyy-mm-dd, as ISO text; a
    ValueError saying how to write it when it is not one."""
    text = MIDNIGHT.sub("", text.strip())
    if match := DAY_FIRST.fullmatch(text):
        day, month, year = int(match[1]), int(match[3]), int(match[4])
    elif match := YEAR_FIRST.fullmatch(text):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    elif SHORT_YEAR.fullmatch(text):
        raise ValueError("write the year in full (1985, not 85)")
    else:
        raise ValueError("not a date: write it as dd/mm/yyyy or yyyy-mm-dd")
    if not 1 <= month <= 12:
        raise ValueError(f"there is no month {month}: dates are read day first, as dd/mm/yyyy")
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise ValueError("not a day of the calendar (read as dd/mm/yyyy)") from None


def read_sex(text: str, spanish: bool) -> str:
    key = normal(text)
    for sex, words in SEXES.items():
        if key in words:
            return sex
    if key in LETTERS[spanish]:
        return LETTERS[spanish][key]
    raise ValueError("write mujer, hombre, otro or desconocido (or female, male, other, unknown)")


def read_language(text: str, spanish: bool = True) -> str:
    if normal(text) not in LANGUAGES:
        raise ValueError("write es or en (español or english)")
    return LANGUAGES[normal(text)]
