"""Registering the patients an import read, each row once however often its file is imported,
and the summary the desk reads afterwards: lines, never names."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from eventsourcing.persistence import InterfaceError, OperationalError
from pydantic import ValidationError
from rich.table import Table

from api.patients import PATIENTS_WRITE
from clinic.importing.patients import Reading, Refused
from clinic.platform import Platform
from commands.base import REQUEST_KEY, StoreUnavailable, request_claim_id
from commands.patients import Patients, RegisterPatient
from domain.shared import DomainError, Meta
from infra.keys import Keyring
from security.access_log import Access

# Idempotency is the platform's own: a command carried out under a request key saves a
# `RequestClaim` (commands/base.py) in the same transaction as its events, and the same key
# never writes twice, the API's Idempotency-Key likewise. An imported row's key is derived
# from its content (its validated command), so the same row in a file imported again, or
# twice in one file, registers one patient. The patients context has no duplicate check of
# its own (a national id need not be unique, nor given). The key is an HMAC keyed from the
# data key, not a bare hash: a claim outlives a patient's erasure, and a bare hash of a row
# could be matched against a guessed row; previous data keys are tried too, so a rotation
# does not import a file again.
SCOPE = "import:patients"
KEY_PURPOSE = b"sonrisa:patient-import"
OPERATOR, ROLE = "cli", "server-operator"  # as `clinic user create` records the server's operator
ROUTE = "clinic import patients"
IN_FLIGHT = 4  # rows being registered at once: the event store's commit is the bottleneck
DRY_RUN = UUID(int=0)  # what a dry run answers for a patient it would have registered


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    command: RegisterPatient
    keys: tuple[str, ...]  # under the current data key first, then under previous ones


@dataclass
class Outcome:
    """What became of each line; `dry_run`: "imported" lines would have been."""

    dry_run: bool
    imported: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    unreached: list[int] = field(default_factory=list)  # the store went away first

    def sort(self) -> None:
        for lines in (self.imported, self.already, self.unreached):
            lines.sort()
        self.refused.sort(key=lambda r: r.line)


def row_secrets(keyring: Keyring) -> list[bytes]:
    previous = [k for kid, k in keyring.keys.items() if kid != keyring.current_id]
    return [hmac.new(k, KEY_PURPOSE, hashlib.sha256).digest() for k in (keyring.current, *previous)]


def row_key(secret: bytes, command: RegisterPatient) -> str:
    return hmac.new(secret, command.model_dump_json().encode(), hashlib.sha256).hexdigest()


def rows_of(reading: Reading, secrets: Sequence[bytes]) -> tuple[list[Row], list[int]]:
    """The rows to register, and the lines that repeat an earlier line of the same file."""
    rows: list[Row] = []
    repeated: list[int] = []
    seen: set[str] = set()
    for line, command in reading.good:
        keys = tuple(row_key(secret, command) for secret in secrets)
        if keys[0] in seen:
            repeated.append(line)
            continue
        seen.add(keys[0])
        rows.append(Row(line, command, keys))
    return rows, repeated


def register_once(patients: Patients, row: Row, meta: Meta, *, dry_run: bool) -> UUID | None:
    """The new patient's id; None when an earlier import registered this row already."""
    if any(patients.exists(request_claim_id(SCOPE, key)) for key in row.keys):
        return None
    if dry_run:
        return DRY_RUN
    # Two imports of one file at once may both find no claim; the claim, saved with the
    # patient, still lets only one of them write (the other is answered with what it wrote).
    claiming = REQUEST_KEY.set((SCOPE, row.keys[0]))
    try:
        return patients.register(row.command, meta).id
    finally:
        REQUEST_KEY.reset(claiming)


async def import_patients(
    platform: Platform, reading: Reading, *, dry_run: bool, advance: Callable[[], None]
) -> Outcome:
    """Register every good row once, a few at a time; each registration is in the access
    log, as the API's are. A store that goes away stops the import: the rows it did not
    reach are named, and running the same file again finishes it."""
    patients = platform.application(Patients)
    rows, repeated = rows_of(reading, row_secrets(platform.keys["data"]))
    outcome = Outcome(dry_run, already=repeated, refused=list(reading.refused))
    for _ in (*repeated, *reading.refused):
        advance()
    correlation = str(uuid4())
    logged: list[asyncio.Future[int | None]] = []
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(row: Row) -> None:
        async with gate:
            meta = Meta(OPERATOR, ROLE, correlation, str(uuid4()))
            try:
                if outcome.unreached:  # the store went away: spare it the rest
                    raise StoreUnavailable("not tried")
                made = await asyncio.to_thread(register_once, patients, row, meta, dry_run=dry_run)
            except (DomainError, ValidationError) as error:
                outcome.refused.append(Refused(row.line, (str(error),)))
            except (StoreUnavailable, OperationalError, InterfaceError):
                outcome.unreached.append(row.line)
            else:
                (outcome.already if made is None else outcome.imported).append(row.line)
                if made is not None and not dry_run:
                    logged.append(platform.access_log.enqueue(_access(made, row, correlation)))
            advance()

    await asyncio.gather(*(one(row) for row in rows))
    await asyncio.gather(*logged)
    outcome.sort()
    return outcome


def _access(patient_id: UUID, row: Row, correlation: str) -> Access:
    return Access(
        actor_id=OPERATOR,
        actor_role=ROLE,
        action=PATIENTS_WRITE,
        patient_id=patient_id,
        route=ROUTE,
        outcome="done",
        status=201,
        correlation_id=correlation,
        source_address=None,
        details={"line": row.line},
    )


def summary(outcome: Outcome, file: str) -> Table:
    """Counts and lines: which rows came in, which were there already, which need work."""
    table = Table("", "rows", "lines", title=f"Import of {file}", title_justify="left")
    done = "to import (dry run)" if outcome.dry_run else "imported"
    table.add_row(done, str(len(outcome.imported)), ranges(outcome.imported))
    table.add_row("already there", str(len(outcome.already)), ranges(outcome.already))
    table.add_row("refused", str(len(outcome.refused)), ranges(r.line for r in outcome.refused))
    if outcome.unreached:
        table.add_row(
            "not reached (store away: run again)",
            str(len(outcome.unreached)),
            ranges(outcome.unreached),
        )
    return table


def refusals(outcome: Outcome) -> Table:
    table = Table("line", "why it was refused", title="Refused rows", title_justify="left")
    for refused in outcome.refused:
        table.add_row(str(refused.line), "\n".join(refused.reasons))
    return table


def ranges(lines: Iterable[int]) -> str:
    """2, 3, 4, 7, 9, 10 as "2-4, 7, 9-10"."""
    runs: list[list[int]] = []
    for line in sorted(lines):
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs) or "—"
