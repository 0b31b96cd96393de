"""`clinic import patients` reads the CSV exports other clinic systems write, in Spanish or
English, and turns each row into the registration the front desk would have typed. Pure:
no store is touched here."""

from __future__ import annotations

from datetime import date

import pytest

from clinic.importing.patients import parse_mapping, read_day, read_patients
from clinic.importing.registering import row_key, rows_of
from clinic.importing.sheet import NotASheet
from domain.patients import DNI_LETTERS

TODAY = date(2026, 12, 6)
DNI = "50123456" + DNI_LETTERS[50123456 % 23]
WRONG_LETTER = DNI_LETTERS[(50123456 + 1) % 23]
SPANISH = (
    "Nombre;Primer apellido;Segundo apellido;F. Nacimiento;Sexo;DNI;Móvil;Correo;Dirección;"
    "Código Postal;Localidad;Observaciones\r\n"
    f"Rocío;Núñez;Carrasco;17/04/1961;M;{DNI};612 345 678;rocio@example.com;"
    "Calle de Alcalá, 120;28009;Madrid;prefiere tardes\r\n"
)
ENGLISH = (
    "First name,Last name,Date of birth,Gender,Phone,Email\n"
    "Oliver,Smith,1979-11-02,M,+44 7911 123456,oliver@example.co.uk\n"
)


def test_a_spanish_windows_export_with_semicolons_becomes_a_registration() -> None:
    reading = read_patients(SPANISH.encode("cp1252"), {}, TODAY)

    assert reading.encoding == "Windows-1252"
    assert reading.delimiter == ";"
    assert reading.refused == ()
    [(line, patient)] = reading.good
    assert line == 2
    assert (patient.given_name, patient.family_name) == ("Rocío", "Núñez Carrasco")
    assert (patient.birth_date, patient.sex) == (date(1961, 4, 17), "female")  # M de mujer
    assert (patient.national_id, patient.phone) == (DNI, "612 345 678")
    assert patient.address is not None
    assert (patient.address.line1, patient.address.postal_code, patient.address.city) == (
        "Calle de Alcalá, 120",
        "28009",
        "Madrid",
    )
    assert reading.columns.ignored == ("Observaciones",)


def test_an_english_export_with_a_bom_reads_m_as_male_and_iso_dates() -> None:
    reading = read_patients(b"\xef\xbb\xbf" + ENGLISH.encode(), {}, TODAY)

    assert (reading.encoding, reading.delimiter) == ("UTF-8", ",")
    [(_, patient)] = reading.good
    assert (patient.given_name, patient.family_name) == ("Oliver", "Smith")
    assert (patient.birth_date, patient.sex) == (date(1979, 11, 2), "male")
    assert patient.email == "oliver@example.co.uk"


def test_a_tab_separated_export_is_read_by_its_tabs() -> None:
    text = "Nombre\tApellidos\tFecha de nacimiento\nAna\tGil Sanz\t01-02-1990\n"

    [(_, patient)] = read_patients(text.encode(), {}, TODAY).good

    assert (patient.family_name, patient.birth_date) == ("Gil Sanz", date(1990, 2, 1))


def test_headers_match_without_minding_case_accents_or_punctuation() -> None:
    text = "NOMBRE,APELLIDOS,FECHA NACIMIENTO,TELEFONO\nLuis,Pérez,02/03/1955,915 123 456\n"

    [(_, patient)] = read_patients(text.encode(), {}, TODAY).good

    assert (patient.given_name, patient.phone) == ("Luis", "915 123 456")


def test_map_names_a_column_the_common_headers_miss() -> None:
    text = "Nom. paciente;Apellidos;Nacido el;Historia\nEva;Ruiz;03/03/1970;H-1\n"
    mapping = parse_mapping(["Nom. paciente=given_name", "Nacido el=birth_date"])

    reading = read_patients(text.encode(), mapping, TODAY)

    [(_, patient)] = reading.good
    assert (patient.given_name, patient.birth_date) == ("Eva", date(1970, 3, 3))
    assert reading.columns.ignored == ("Historia",)


def test_map_refuses_a_field_a_patient_does_not_have() -> None:
    with pytest.raises(ValueError, match="not a field"):
        parse_mapping(["Historia=clinical_history"])


@pytest.mark.parametrize(
    "written",
    ["05/03/1980", "5/3/1980", "05-03-1980", "05.03.1980", "1980-03-05", "05/03/1980 0:00"],
)
def test_a_birth_date_is_read_day_first_or_in_iso(written: str) -> None:
    assert read_day(written) == "1980-03-05"


@pytest.mark.parametrize(
    ("written", "advice"),
    [
        ("31/02/1980", "not a day of the calendar"),
        ("03/25/1980", "no month 25"),
        ("05/03/80", "year in full"),
        ("ayer", "dd/mm/yyyy"),
    ],
)
def test_a_date_that_is_not_one_says_how_to_write_it(written: str, advice: str) -> None:
    with pytest.raises(ValueError, match=advice):
        read_day(written)


def test_a_bad_row_is_refused_by_its_line_and_column_and_the_others_are_kept() -> None:
    text = (
        "Nombre;Apellidos;Fecha de nacimiento;DNI;Notas\n"
        'Ana;Gil Sanz;01/02/1990;;"dos\nlíneas"\n'  # a quoted value over lines 2 and 3
        "Luis;Pérez;30/02/1955;;\n"
        f"Eva;Ruiz;03/03/1970;{DNI[:-1]}{WRONG_LETTER};\n"
        ";Sin Nombre;03/03/1970;;\n"
    )

    reading = read_patients(text.encode(), {}, TODAY)

    assert [line for line, _ in reading.good] == [2]
    assert [(r.line, r.reasons) for r in reading.refused] == [
        (4, ('"Fecha de nacimiento": not a day of the calendar (read as dd/mm/yyyy)',)),
        (5, ('"DNI": national id control letter does not match its number',)),
        (6, ('"Nombre": is empty, and every patient needs it',)),
    ]


def test_a_refusal_names_the_column_never_the_value() -> None:
    text = "Nombre,Apellidos,Fecha de nacimiento,Email\nAna,Gil,01/02/1990,ana-at-gil.es\n"

    [refused] = read_patients(text.encode(), {}, TODAY).refused

    assert refused.reasons[0].startswith('"Email": ')
    assert "ana-at-gil" not in " ".join(refused.reasons)


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00workbook", "Excel workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (b"", "empty"),
        (b"hello, world\nthis is a letter\n", "not a header of columns"),
        (b"Nombre;Apellidos\nAna;Gil\n", "no column gives the date of birth"),
    ],
)
def test_a_file_that_is_not_a_patients_csv_is_refused_before_any_row(
    data: bytes, said: str
) -> None:
    with pytest.raises(NotASheet, match=said):
        read_patients(data, {}, TODAY)


def test_a_row_repeated_in_the_file_is_registered_once() -> None:
    text = "Nombre,Apellidos,Fecha de nacimiento\nAna,Gil,01/02/1990\n Ana , Gil ,1990-02-01\n"

    rows, repeated = rows_of(read_patients(text.encode(), {}, TODAY), [b"k" * 32])

    assert ([row.line for row in rows], repeated) == ([2], [3])


def test_a_rows_key_depends_on_the_clinics_secret() -> None:
    [(_, patient)] = read_patients(ENGLISH.encode(), {}, TODAY).good

    assert row_key(b"a" * 32, patient) != row_key(b"b" * 32, patient)
    assert row_key(b"a" * 32, patient) == row_key(b"a" * 32, patient)


def test_a_row_with_several_mistakes_names_each_of_them() -> None:
    text = (
        "Nombre;Apellidos;Fecha de nacimiento;DNI;Teléfono\n"
        f"Ana;Gil;01/02/2090;{DNI[:-1]}{WRONG_LETTER};123\n"
    )

    [refused] = read_patients(text.encode(), {}, TODAY).refused

    assert [reason.split(":")[0] for reason in refused.reasons] == [
        '"Fecha de nacimiento"',
        '"DNI"',
        '"Teléfono"',
    ]


def test_map_chooses_between_two_columns_that_would_give_the_same_field() -> None:
    text = "Nombre,Nombre de pila,Apellidos,Fecha de nacimiento\nA. Gil,Ana,Gil,01/02/1990\n"

    with pytest.raises(NotASheet, match="both give the given name"):
        read_patients(text.encode(), {}, TODAY)
    reading = read_patients(text.encode(), parse_mapping(["Nombre de pila=given_name"]), TODAY)

    assert [patient.given_name for _, patient in reading.good] == ["Ana"]


def test_excels_unicode_text_export_in_utf16_with_tabs_is_read() -> None:
    text = "Nombre\tApellidos\tFecha de nacimiento\r\nÍñigo\tMuñoz\t02/02/1982\r\n"

    reading = read_patients(text.encode("utf-16"), {}, TODAY)

    assert (reading.encoding, reading.delimiter) == ("UTF-16", "\t")
    assert [patient.given_name for _, patient in reading.good] == ["Íñigo"]
