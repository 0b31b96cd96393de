"""`clinic import patients FILE.csv` as a clinic switching to Sonrisa runs it, against the real
event store: good rows come in once however often the file is imported, bad rows are named
by line, and a file that is no CSV export changes nothing."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from clinic.platform import Platform
from domain.patients import DNI_LETTERS
from infra.settings import Settings
from tests.integration.test_demo_data import CLINIC
from tests.integration.test_relay_crash import clinic_env

HEADER = "Nombre;Primer apellido;Segundo apellido;Fecha de nacimiento;Sexo;DNI;Teléfono\n"
LUCIA = f"Lucía;Martín;Sanz;02/03/1958;M;50123456{DNI_LETTERS[50123456 % 23]};612 345 678\n"
ALVARO = "Álvaro;Gómez;Ruiz;1990-11-30;H;;915 123 456\n"
GOOD = LUCIA + ALVARO
BAD_DATE = "Marta;Ortega;Gil;31/02/1975;M;;\n"


async def _registered(platform: Platform) -> int:
    return int(
        await platform.pool.fetchval(
            "SELECT count(*) FROM patients_events WHERE topic LIKE '%Patient.PatientRegistered'"
        )
    )


async def _events(platform: Platform) -> int:
    return int(await platform.pool.fetchval("SELECT count(*) FROM patients_events"))


def _import(settings: Settings, file: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLINIC, "import", "patients", str(file), *options],
        env={**clinic_env(settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _rows(printed: str) -> list[list[str]]:
    """The cells of every table row the command printed."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in printed.splitlines()
        if line.startswith("│")
    ]


def _export(folder: Path, text: str) -> Path:
    file = folder / "pacientes.csv"
    file.write_bytes(text.encode("cp1252"))  # as a Spanish Windows system writes it
    return file


async def test_a_bad_date_is_reported_on_its_line_and_the_good_rows_are_imported(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    file = _export(tmp_path, HEADER + LUCIA + BAD_DATE + ALVARO)

    done = await asyncio.to_thread(_import, settings, file)

    assert done.returncode == 1, done.stderr
    reason = '"Fecha de nacimiento": not a day of the calendar (read as dd/mm/yyyy)'
    assert ["3", reason] in _rows(done.stdout), done.stdout
    assert await _registered(platform) == 2


async def test_the_summary_names_lines_never_patients(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    done = await asyncio.to_thread(_import, settings, _export(tmp_path, HEADER + GOOD + BAD_DATE))

    said = done.stdout + done.stderr
    assert "imported" in said
    assert not {"Lucía", "Martín", "Marta", "Ortega", "612 345 678", "50123456"} & set(
        said.replace(";", " ").split()
    )


async def test_importing_the_same_file_twice_registers_each_patient_once(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    file = _export(tmp_path, HEADER + GOOD)

    first = await asyncio.to_thread(_import, settings, file)
    again = await asyncio.to_thread(_import, settings, file)

    assert (first.returncode, again.returncode) == (0, 0), first.stdout + again.stdout
    assert ["already there", "2", "2-3"] in _rows(again.stdout), again.stdout
    assert await _registered(platform) == 2


async def test_a_file_that_is_not_csv_is_refused_with_a_clear_message_and_nothing_is_written(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    workbook = tmp_path / "pacientes.csv"
    workbook.write_bytes(b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml")

    done = await asyncio.to_thread(_import, settings, workbook)

    assert done.returncode == 2
    assert "pacientes.csv was not imported: it is an Excel workbook" in done.stderr
    assert await _events(platform) == 0


async def test_a_dry_run_checks_every_row_and_writes_nothing(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    done = await asyncio.to_thread(
        _import, settings, _export(tmp_path, HEADER + GOOD + BAD_DATE), "--dry-run"
    )

    assert done.returncode == 1
    assert ["to import (dry run)", "2", "2-3"] in _rows(done.stdout), done.stdout
    assert await _events(platform) == 0
