"""The patient-data access log: append-only, every entry HMAC-chained to the one before.

Each entry's MAC covers its content and the previous entry's MAC, keyed with a
secret that is not in the database, so an edit, a removal or an insertion made
with SQL alone breaks the chain at that entry. A head row (written in the same
transaction as each append) catches the removal of the newest entries. Each entry names the
key that MACed it (`key_id`), so the key can be rotated: `verify` checks every entry with its
own key, as long as that key is still in the keyring.

While PostgreSQL cannot be reached, entries are held on local disk (`HeldEntries`, written
and fsynced before the answer they describe leaves), and written into the chain, oldest
first, as soon as the store takes them again: an answer is never withheld for want of its
entry, and an entry is never silently lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

from infra.db import UNAVAILABLE, OwnTables
from infra.keys import Keyring
from infra.logs import get_logger
from infra.metrics import (
    ACCESS_LOG_LAST_VERIFIED,
    ACCESS_LOG_VERIFICATION_FAILURES,
    ACCESS_LOG_VERIFIED_ENTRIES,
)

APPEND_LOCK = 0x41_43_43_45_53_53  # serialises appends so the chain has one order
GENESIS = "0" * 64
DRAIN_EVERY = 1.0  # seconds between tries to write held entries while the store is away


log = get_logger("security.access_log")
# What makes a walk of the chain wait for the next turn rather than end the audit worker.
_NOT_NOW: tuple[type[Exception], ...] = (*UNAVAILABLE, asyncpg.PostgresError)


@dataclass(frozen=True, slots=True)
class Access:
    """One read or write of patient data, as the API saw it."""

    actor_id: str | None
    actor_role: str | None
    action: str
    patient_id: UUID | None
    route: str
    outcome: str
    status: int
    correlation_id: str
    source_address: str | None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class HeldEntries:
    """Entries PostgreSQL could not take, one JSON line each, in a file per process under
    `folder`, fsynced before `hold` returns. Any process may write any file's entries into
    the log (a dead process's too); a file is locked while it is held to or written out. An
    entry written out just before a crash, and its file not yet emptied, is written again:
    the log then says so twice (same `held_id`), never never."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # Host and process: in containers every API is pid 1, and replicas may share a volume.
        self.own = folder / f"held-{socket.gethostname()}-{os.getpid()}.jsonl"

    def hold(self, accesses: Sequence[Access]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        since = datetime.now(UTC).isoformat()
        lines = "".join(
            json.dumps(
                {
                    **asdict(a),
                    "patient_id": str(a.patient_id) if a.patient_id else None,
                    "details": {**a.details, "held_since": since, "held_id": os.urandom(8).hex()},
                },
                default=str,
            )
            + "\n"
            for a in accesses
        )
        fd = os.open(self.own, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, lines.encode())
            os.fsync(fd)
        finally:
            os.close(fd)  # closing releases the lock

    def waiting(self) -> list[Path]:
        """Files that hold entries, oldest first."""
        try:
            files = [p for p in self.folder.glob("held-*.jsonl") if p.stat().st_size > 0]
        except FileNotFoundError:
            return []
        return sorted(files, key=lambda p: p.stat().st_mtime)

    @staticmethod
    def take(path: Path) -> tuple[int, list[Access]]:
        """Lock the file and read its entries; `empty` (or closing the fd) unlocks it."""
        fd = os.open(path, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "r", encoding="utf-8") as text:
            rows = [json.loads(line) for line in text if line.strip()]
        accesses = [
            Access(**{**row, "patient_id": UUID(row["patient_id"]) if row["patient_id"] else None})
            for row in rows
        ]
        return fd, accesses

    @staticmethod
    def empty(fd: int, *, written: bool) -> None:
        try:
            if written:
                os.ftruncate(fd, 0)
                os.fsync(fd)
        finally:
            os.close(fd)


def _canonical(seq: int, at: datetime, access: Access, key_id: str | None) -> bytes:
    content: dict[str, Any] = {
        "actor_id": access.actor_id,
        "actor_role": access.actor_role,
        "action": access.action,
        "patient_id": str(access.patient_id) if access.patient_id else None,
        "route": access.route,
        "outcome": access.outcome,
        "status": access.status,
        "correlation_id": access.correlation_id,
        "source_address": access.source_address,
        "reason": access.reason,
        "details": access.details,
        "seq": seq,
        "at": at.isoformat(),
    }
    if key_id is not None:  # entries written before keys had ids have no key_id
        content["key_id"] = key_id
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def mac(
    key: bytes, prev_mac: str, seq: int, at: datetime, access: Access, key_id: str | None
) -> str:
    return hmac.new(
        key, prev_mac.encode() + _canonical(seq, at, access, key_id), hashlib.sha256
    ).hexdigest()


@dataclass(frozen=True, slots=True)
class Break:
    seq: int
    problem: str


class AccessLog(OwnTables):
    """Appends through one writer task: concurrent requests share a transaction, in order.

    Each caller waits until its own entry is committed, so a response never goes
    out for an access that was not logged; the chain lock is taken once per batch.
    """

    DDL = """
        CREATE TABLE IF NOT EXISTS patient_access_log (
            seq bigint PRIMARY KEY,
            at timestamptz NOT NULL,
            actor_id text,
            actor_role text,
            action text NOT NULL,
            patient_id uuid,
            route text NOT NULL,
            outcome text NOT NULL,
            status integer NOT NULL,
            correlation_id text NOT NULL,
            source_address text,
            reason text,
            details jsonb NOT NULL DEFAULT '{}',
            prev_mac text NOT NULL,
            mac text NOT NULL
        );
        CREATE INDEX IF NOT EXISTS patient_access_log_patient
            ON patient_access_log (patient_id, seq);
        CREATE INDEX IF NOT EXISTS patient_access_log_actor ON patient_access_log (actor_id, seq);
        ALTER TABLE patient_access_log ADD COLUMN IF NOT EXISTS key_id text;
        CREATE TABLE IF NOT EXISTS patient_access_log_head (
            id boolean PRIMARY KEY DEFAULT true CHECK (id),
            seq bigint NOT NULL,
            mac text NOT NULL
        );
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        keys: Keyring,
        batch_size: int = 200,
        held: HeldEntries | None = None,
    ) -> None:
        self.pool = pool
        self.keys = keys
        self.batch_size = batch_size
        self.held = held
        self._holding = False  # this process has entries waiting on disk
        self._next_look = 0.0  # when to look for other processes' held entries again
        self._queue: asyncio.Queue[tuple[Access, asyncio.Future[int | None]]] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Future[int | None]] = set()

    async def append(self, access: Access) -> int | None:
        """Append and wait until the entry is committed: its sequence number; or, while the
        store cannot be reached, until it is held on disk: None."""
        return await self.enqueue(access)

    def enqueue(self, access: Access) -> asyncio.Future[int | None]:
        """Queue the entry for the writer; the future completes once it is committed."""
        if self._writer is None or self._writer.done():
            self._queue = asyncio.Queue()
            self._writer = asyncio.create_task(self._write_batches(self._queue))
        assert self._queue is not None
        done: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending.add(done)
        done.add_done_callback(self._pending.discard)
        self._queue.put_nowait((access, done))
        return done

    async def close(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._pending:
            await asyncio.wait(list(self._pending), timeout=10)
        with contextlib.suppress(*UNAVAILABLE):
            await self._write_held()  # what waits on disk, if the store is back
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    async def _write_batches(
        self, queue: asyncio.Queue[tuple[Access, asyncio.Future[int | None]]]
    ) -> None:
        while True:
            try:
                first = await asyncio.wait_for(queue.get(), timeout=DRAIN_EVERY)
            except TimeoutError:
                with contextlib.suppress(*UNAVAILABLE):
                    await self._write_held()
                continue
            batch = [first]
            while not queue.empty() and len(batch) < self.batch_size:
                batch.append(queue.get_nowait())
            accesses = [access for access, _ in batch]
            results: list[int | None]
            try:
                await self._write_held()  # the older entries first, so the chain keeps order
                results = list(await self._append_with_retries(accesses))
            except UNAVAILABLE as error:
                if self.held is None:
                    _fail(batch, error)
                    continue
                try:
                    await asyncio.to_thread(self.held.hold, accesses)
                    self._holding = True
                except OSError as disk_error:
                    _fail(batch, disk_error)
                    continue
                results = [None] * len(batch)
            except Exception as error:
                _fail(batch, error)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)

    async def _write_held(self) -> int:
        """Write held entries into the chain, file by file; how many were written."""
        if self.held is None:
            return 0
        # The folder is looked at when this process held entries, else once in DRAIN_EVERY
        # (another process's, a dead one's): not on every batch of the hot path.
        now = asyncio.get_running_loop().time()
        if not self._holding and now < self._next_look:
            return 0
        self._next_look = now + DRAIN_EVERY
        written = 0
        for path in await asyncio.to_thread(self.held.waiting):
            try:
                fd, accesses = await asyncio.to_thread(self.held.take, path)
            except FileNotFoundError:
                continue
            done = False
            try:
                for start in range(0, len(accesses), self.batch_size):
                    await self._append_all(accesses[start : start + self.batch_size])
                done = True
                written += len(accesses)
            finally:
                await asyncio.to_thread(self.held.empty, fd, written=done)
        self._holding = False
        return written

    async def _append_with_retries(self, accesses: list[Access]) -> list[int]:
        """A dropped connection is tried again on another: the entries must be written, or
        held on disk (when there is a place for them), or the responses they describe are
        withheld. (An append whose commit was answered by a dying connection may be written
        twice; the log then says so twice, never never.)"""
        for wait in (0.05, 0.2) if self.held is not None else (0.05, 0.2, 0.5, 1.0):
            try:
                return await self._append_all(accesses)
            except UNAVAILABLE:
                await asyncio.sleep(wait)
        return await self._append_all(accesses)

    async def _append_all(self, accesses: list[Access]) -> list[int]:
        async with self.pool.acquire() as conn, conn.transaction():
            head = await conn.fetchrow(
                "SELECT h.seq, h.mac, clock_timestamp() AS now "
                "FROM (SELECT pg_advisory_xact_lock($1)) AS locked "
                "LEFT JOIN patient_access_log_head h ON true",
                APPEND_LOCK,
            )
            assert head is not None
            seq = head["seq"] or 0
            prev = head["mac"] or GENESIS
            at: datetime = head["now"]
            rows = []
            key_id = self.keys.current_id
            for access in accesses:
                seq += 1
                entry_mac = mac(self.keys.current, prev, seq, at, access, key_id)
                rows.append(
                    (
                        seq,
                        at,
                        access.actor_id,
                        access.actor_role,
                        access.action,
                        access.patient_id,
                        access.route,
                        access.outcome,
                        access.status,
                        access.correlation_id,
                        access.source_address,
                        access.reason,
                        access.details,
                        prev,
                        entry_mac,
                        key_id,
                    )
                )
                prev = entry_mac
            await conn.executemany(
                "INSERT INTO patient_access_log (seq, at, actor_id, actor_role, action, "
                "patient_id, route, outcome, status, correlation_id, source_address, reason, "
                "details, prev_mac, mac, key_id) "
                "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
                rows,
            )
            await conn.execute(
                "INSERT INTO patient_access_log_head (id, seq, mac) VALUES (true, $1, $2) "
                "ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, mac = EXCLUDED.mac",
                seq,
                prev,
            )
        return [row[0] for row in rows]

    async def verify(self) -> tuple[int, Break | None]:
        """Walk the chain; (entries checked, the first break or None)."""
        prev, expected_seq, count = GENESIS, 1, 0
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            async for row in conn.cursor("SELECT * FROM patient_access_log ORDER BY seq"):
                seq = row["seq"]
                if seq != expected_seq:
                    return count, Break(expected_seq, f"entry {expected_seq} is missing")
                if row["prev_mac"] != prev:
                    return count, Break(seq, f"entry {seq} does not follow entry {seq - 1}")
                problem = self._inauthentic(row, prev)
                if problem is not None:
                    return count, Break(seq, f"entry {seq} {problem}")
                prev, expected_seq, count = row["mac"], seq + 1, count + 1
            head = await conn.fetchrow("SELECT seq, mac FROM patient_access_log_head")
        if head is not None and (head["seq"] != count or head["mac"] != prev):
            return count, Break(count + 1, f"entries after {count} were removed")
        return count, None

    def _inauthentic(self, row: asyncpg.Record, prev: str) -> str | None:
        """Why the entry's MAC does not hold, or None when it does."""
        kid: str | None = row["key_id"]
        if kid is None:
            # Written before keys had ids: by one of the keys still held, if it is genuine.
            candidates = list(self.keys.keys.values())
        elif (key := self.keys.get(kid)) is not None:
            candidates = [key]
        else:
            return (
                f"was MACed with key {kid}, which is not in the audit keyring: add it to "
                "CLINIC_AUDIT_PREVIOUS_KEYS to verify it"
            )
        access = _access(row)
        for key in candidates:
            expected = mac(key, prev, row["seq"], row["at"], access, kid)
            if hmac.compare_digest(row["mac"], expected):
                return None
        return "is not authentic: changed or inserted"

    async def search(
        self,
        *,
        patient_id: UUID | None,
        actor: str | None,
        since: datetime | None,
        until: datetime | None,
        after_seq: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        rows: Sequence[asyncpg.Record] = await self.pool.fetch(
            "SELECT seq, at, actor_id, actor_role, action, patient_id, route, outcome, status, "
            "correlation_id, source_address, reason, details FROM patient_access_log "
            "WHERE seq > $1 AND ($2::uuid IS NULL OR patient_id = $2 "
            "OR details->'patient_ids' ? $2::text) "
            "AND ($3::text IS NULL OR actor_id = $3) "
            "AND ($4::timestamptz IS NULL OR at >= $4) AND ($5::timestamptz IS NULL OR at < $5) "
            "ORDER BY seq LIMIT $6",
            after_seq,
            patient_id,
            actor,
            since,
            until,
            limit,
        )
        return [
            {
                **dict(r),
                "at": r["at"].isoformat(),
                "patient_id": str(r["patient_id"]) if r["patient_id"] else None,
            }
            for r in rows
        ]


def _fail(batch: list[tuple[Access, asyncio.Future[int | None]]], error: Exception) -> None:
    for _, done in batch:
        if not done.done():
            done.set_exception(error)


def _access(row: asyncpg.Record) -> Access:
    return Access(
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        action=row["action"],
        patient_id=row["patient_id"],
        route=row["route"],
        outcome=row["outcome"],
        status=row["status"],
        correlation_id=row["correlation_id"],
        source_address=row["source_address"],
        reason=row["reason"],
        details=row["details"],
    )


class AccessLogCheck:
    """The audit worker's loop: walks the access log's chain every `seconds` and says in
    /metrics what it found, so that a changed, removed or inserted entry raises an alert
    (SonrisaAccessLogVerificationFailed) and so does a check that stopped running
    (SonrisaAccessLogNotVerified)."""

    def __init__(self, access_log: AccessLog, seconds: float) -> None:
        self.access_log = access_log
        self.seconds = seconds

    async def check_once(self) -> Break | None:
        checked, broken = await self.access_log.verify()
        if broken is not None:
            ACCESS_LOG_VERIFICATION_FAILURES.inc()
            log.error("access log tampered", first_bad_entry=broken.seq, problem=broken.problem)
            return broken
        ACCESS_LOG_VERIFIED_ENTRIES.set(checked)
        ACCESS_LOG_LAST_VERIFIED.set(datetime.now(UTC).timestamp())
        log.info("access log intact", entries=checked)
        return None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.check_once()
            except _NOT_NOW as error:  # walked again next time
                log.warning("access log not checked", error=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.seconds)
