"""(x) `clinic import patients` of a CSV export (10,000 rows in a full run, Spanish headers,
`;`, Windows-1252): rows per second from the file's bytes to every patient registered once,
beside the bare `Application.save` of the same patients in chunks; and the same file imported
again, when every row is already there."""

from __future__ import annotations

import asyncio
import time

from bench.harness import Harness, Sizes, run_alone
from bench.report import Row
from clinic.importing.patients import read_patients
from clinic.importing.registering import Outcome, import_patients
from commands.base import clinic_today
from commands.patients import Patients
from domain.patients import DNI_LETTERS, Patient
from domain.shared import Meta, Role

HEADER = (
    "Nombre;Primer apellido;Segundo apellido;F. Nacimiento;Sexo;DNI;Móvil;Correo;Dirección;"
    "Código Postal;Localidad\r\n"
)
GIVEN = ("Lucía", "José", "María", "Íñigo", "Begoña", "Raúl", "Concepción", "Andrés")
FAMILY = ("García", "Núñez", "Muñoz", "Gómez", "Ibáñez", "Martín", "Sánchez", "Peña")
META = Meta("bench", Role.ADMIN.value, "bench", "bench")
CHUNK = 250


def export(rows: int, first: int = 0) -> bytes:
    """A believable export of `rows` different patients, as a Spanish Windows system writes
    it."""
    lines = [HEADER]
    for n in range(first, first + rows):
        dni = 30_000_000 + n
        lines.append(
            f"{GIVEN[n % 8]};{FAMILY[n % 8]} {n};{FAMILY[(n // 8) % 8]};"
            f"{1 + n % 28:02d}/{1 + n % 12:02d}/{1940 + n % 70};{'MH'[n % 2]};"
            f"{dni}{DNI_LETTERS[dni % 23]};6{n:08d};paciente{n}@example.org;"
            f"Calle de Alcalá {n % 300};28009;Madrid\r\n"
        )
    return "".join(lines).encode("cp1252")


async def _import(harness: Harness, data: bytes) -> tuple[float, Outcome]:
    started = time.perf_counter()
    reading = read_patients(data, {}, clinic_today())
    outcome = await import_patients(harness.platform, reading, dry_run=False, advance=lambda: None)
    return time.perf_counter() - started, outcome


def _saved(harness: Harness, data: bytes) -> float:
    """The plainest way: the same patients built and saved straight, CHUNK per transaction."""
    started = time.perf_counter()
    patients = harness.platform.application(Patients)
    good = [c for _, c in read_patients(data, {}, clinic_today()).good]
    for at in range(0, len(good), CHUNK):
        patients.save(*(
            Patient.register(c.demographics(patients.today()), c.contact(), META)
            for c in good[at : at + CHUNK]
        ))  # fmt: skip
    return time.perf_counter() - started


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    rows = sizes.import_rows
    data = export(rows)
    seconds, first = await _import(harness, data)
    again, second = await _import(harness, data)
    bare = await asyncio.to_thread(_saved, harness, export(rows, first=rows))
    if len(first.imported) != rows or len(second.already) != rows:
        raise RuntimeError(
            f"imported {len(first.imported)} of {rows}, then found {len(second.already)} there"
        )
    return [
        Row(
            f"(x) import of {rows:,} patients from CSV, rows/s",
            rows / seconds,
            rows / bare,
            target=f"{rows:,} in < 60 s",
            met=lambda row: rows / row.sonrisa < 60,
            detail=f"clinic import patients: {seconds:.1f} s, each row its own transaction "
            f"with its claim and access-log entry, vs Patient.register + save, {CHUNK} a "
            "transaction",
        ),
        Row(
            f"(x) the same {rows:,} rows again, rows/s",
            rows / again,
            detail=f"{again:.1f} s; every row found already there, nothing written",
        ),
    ]


if __name__ == "__main__":  # `python -m bench.importing [--quick]`: these two alone
    run_alone(run, "Sonrisa benchmarks: import", "sonrisa_bench_import")
