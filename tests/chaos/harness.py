"""The chaos harness: `clinic up` as a real process, a steady stream of writes, faults.

A `Writer` registers patients at a steady rate, each with a token in its family name and
the same token as its Idempotency-Key, retrying until it gets an answer (as the web app
does). Afterwards the event store is the judge: every acknowledged write is there, no
write that was answered as failed is there, and no token was written twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

from clinic.platform import Platform
from infra.settings import Settings
from tests.e2e.test_patients_api import PATIENT
from tests.integration.test_relay_crash import CLINIC

SECONDS = float(os.environ.get("CHAOS_SECONDS", "2"))  # of writes on each side of a fault
RATE = 40.0  # writes per second, as the trial that found these faults ran


class OwnServer(Protocol):
    """A server a test starts under a folder of its own (`own_postgres`, `own_rabbitmq`)."""

    def start(self) -> None: ...

    def remove(self) -> None: ...


S = TypeVar("S", bound=OwnServer)


@asynccontextmanager
async def started(server: S) -> AsyncIterator[S]:
    """The server started; stopped and its folder removed afterwards, however it ends."""
    try:
        await asyncio.to_thread(server.start)
        yield server
    finally:
        await asyncio.to_thread(server.remove)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ClinicUp:
    """`clinic up` with the embedded Mongo server keeping its data in `data`."""

    def __init__(self, settings: Settings, data: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **settings.environment()}
        env.pop("CLINIC_MONGO_URL")
        env.update(
            CLINIC_PORT=str(self.port),
            CLINIC_EMBEDDED_MONGO_PORT=str(free_port()),
            CLINIC_EMBEDDED_MONGO_DATA=str(data / "mongo.sqlite3"),
            CLINIC_MONGO_DATABASE=settings.mongo_database,
            # The same processes on every machine, whatever its cores.
            CLINIC_API_PROCESSES="1",
            CLINIC_PROJECTOR_PROCESSES="1",
        )
        self.env = env
        self.mongo_port = int(env["CLINIC_EMBEDDED_MONGO_PORT"])
        self.mongo_url = f"mongodb://127.0.0.1:{self.mongo_port}/?directConnection=true"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data / "clinic-up.log"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [CLINIC, "up"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    async def ready(self, within: float = 60) -> float:
        """Seconds until /readyz says ready."""
        started = time.monotonic()
        async with httpx.AsyncClient(base_url=self.base, timeout=2) as http:
            while time.monotonic() - started < within:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"clinic up was not ready within {within} s; see {self.log}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def children(self) -> dict[str, int]:
        """The processes `clinic up` started, by the names it gave them ("api-1", "relay",
        "projector-1", "reminders", "inventory"), with their pids."""
        assert self.process is not None
        return processes_of(self.process.pid)

    def mongo_pids(self) -> list[int]:
        found = subprocess.run(
            ["pgrep", "-f", f"mongo_wire_server.py --port {self.mongo_port}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return [int(p) for p in found.stdout.split()]

    def mongo_pid(self) -> int:
        pids = self.mongo_pids()
        assert pids, "the embedded Mongo server is not running"
        return pids[0]


def processes_of(parent: int) -> dict[str, int]:
    """The processes `clinic up` (pid `parent`) runs, by the names it gave them: its fork
    server's children, each named after its part (/proc/PID/comm), read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # gone meanwhile
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    servers = {pid for pid, ppid in parents.items() if ppid == parent and _is_fork_server(pid)}
    found: dict[str, int] = {}
    for pid, ppid in parents.items():
        if ppid in servers:
            with contextlib.suppress(OSError):
                found[Path(f"/proc/{pid}/comm").read_text().strip()] = pid
    return found


def _is_fork_server(pid: int) -> bool:
    try:
        return b"multiprocessing.forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@dataclass
class Tally:
    acknowledged: dict[str, str] = field(default_factory=dict)  # token -> patient id
    failed: dict[str, int] = field(default_factory=dict)  # token -> status answered
    unanswered: int = 0  # attempts that got no answer at all (process gone, reset)
    # 503s by problem type; and those that lacked problem+json or Retry-After
    unavailable: dict[str, int] = field(default_factory=dict)
    malformed_503: int = 0
    unknown: set[str] = field(default_factory=set)  # "saved or not is unknown", no key to settle
    # X-Correlation-Id -> "201", or the problem type of the answer
    correlations: dict[str, str] = field(default_factory=dict)
    first_ack_after: dict[str, float] = field(default_factory=dict)  # mark -> monotonic


class Writer:
    """Registers patients at `rate` per second until stopped, retrying each until answered."""

    def __init__(
        self,
        base: str,
        headers: dict[str, str],
        run: str,
        *,
        keyed: bool = True,
        rate: float = RATE,
    ) -> None:
        self.base = base
        self.rate = rate
        self.headers = headers
        self.run = run
        self.keyed = keyed  # each write carries its token as its Idempotency-Key
        self.tally = Tally()
        self._stop = asyncio.Event()
        self._marks: dict[str, float] = {}

    def mark(self, name: str) -> None:
        """Remember now; `recovery(name)` is the time from here to the next acknowledged write."""
        self._marks[name] = time.monotonic()

    def marked_at(self, name: str) -> float:
        return self._marks[name]

    def recovery(self, name: str) -> float:
        acked = self.tally.first_ack_after.get(name)
        assert acked is not None, f"no write was acknowledged after {name}"
        return acked - self._marks[name]

    async def run_until_stopped(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as http:
            writes = []
            n = 0
            while not self._stop.is_set():
                writes.append(asyncio.create_task(self._write(http, f"chaos-{self.run}-{n:05d}")))
                n += 1
                await asyncio.sleep(1 / self.rate)
            await asyncio.gather(*writes)

    def stop(self) -> None:
        self._stop.set()

    async def _write(self, http: httpx.AsyncClient, token: str) -> None:
        body = {**PATIENT, "family_name": f"Caos {token}", "national_id": None}
        headers = {**self.headers, "Idempotency-Key": token} if self.keyed else dict(self.headers)
        deadline = time.monotonic() + 120
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            correlation = headers["X-Correlation-Id"] = f"{token}-{attempt}"
            try:
                answer = await http.post("/api/patients", json=body, headers=headers)
            except httpx.TransportError:
                self.tally.unanswered += 1
                await asyncio.sleep(0.2)
                continue
            self.tally.correlations[correlation] = str(answer.status_code)
            if answer.status_code == 201:
                self.tally.acknowledged[token] = answer.json()["id"]
                now = time.monotonic()
                for mark, at in self._marks.items():
                    if at <= now and mark not in self.tally.first_ack_after:
                        self.tally.first_ack_after[mark] = now
                return
            if answer.status_code == 503:
                kind = self.tally.correlations[correlation] = self._unavailable(answer)
                if kind == "outcome-unknown" and not self.keyed:
                    self.tally.unknown.add(token)  # no key to settle it with: stop here
                    return
                # Nothing was saved (or, with a key, the retry settles it): try again.
                await asyncio.sleep(0.2)
                continue
            self.tally.failed[token] = answer.status_code
            return
        raise AssertionError(f"{token} got no answer in two minutes")

    def _unavailable(self, answer: httpx.Response) -> str:
        """The problem type of a 503, counted; a 503 without problem+json or Retry-After is
        counted as malformed."""
        try:
            kind = str(answer.json()["type"]).rsplit("/", 1)[-1]
        except (ValueError, KeyError):
            kind = "not problem+json"
        if (
            answer.headers.get("content-type") != "application/problem+json"
            or "retry-after" not in answer.headers
        ):
            self.tally.malformed_503 += 1
        self.tally.unavailable[kind] = self.tally.unavailable.get(kind, 0) + 1
        return kind


async def stored_tokens(platform: Platform, run: str) -> dict[str, int]:
    """How many registrations the event store holds for each token of this run."""
    rows = await platform.pool.fetch(
        "SELECT substring(convert_from(state, 'UTF8') from $1) AS token "
        "FROM patients_events WHERE originator_version = 1 AND topic LIKE '%.PatientRegistered' "
        "AND position(convert_to($2, 'UTF8') in state) > 0",
        f"(chaos-{run}-[0-9]+)",
        f"chaos-{run}-",
    )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["token"]] = counts.get(row["token"], 0) + 1
    return counts


@dataclass(frozen=True)
class Verdict:
    acknowledged: int
    lost: list[str]
    answered_as_failed_but_committed: list[tuple[str, int]]
    duplicated: list[str]


async def judge(platform: Platform, writer: Writer) -> Verdict:
    stored = await stored_tokens(platform, writer.run)
    tally = writer.tally
    return Verdict(
        acknowledged=len(tally.acknowledged),
        lost=sorted(t for t in tally.acknowledged if t not in stored),
        answered_as_failed_but_committed=sorted(
            (t, status) for t, status in tally.failed.items() if t in stored
        ),
        duplicated=sorted(t for t, count in stored.items() if count > 1),
    )


async def during_writes(
    writer: Writer, fault: Callable[[], Awaitable[Any]], seconds: float = SECONDS
) -> None:
    """Writes for `seconds`, the fault, writes for `seconds` more."""
    writing = asyncio.create_task(writer.run_until_stopped())
    try:
        await asyncio.sleep(seconds)
        await fault()
        await asyncio.sleep(seconds)
    finally:  # a fault that fails stops the writes too, or they would go on for ever
        writer.stop()
        await writing
