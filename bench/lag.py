"""(c) End-to-end lag: from the HTTP 201 of RegisterPatient to the patient being in the
PostgreSQL patient directory, at a steady rate, through the real relay, RabbitMQ and
projectors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from dataclasses import dataclass, field
from itertools import count
from uuid import UUID

import httpx

from bench import cpu
from bench.harness import Harness, Sizes
from bench.report import Row, value_at_most
from bench.workload import percentile, registration_body

POLL_SECONDS = 0.002
WARM_UP_SECONDS = 1.0
DRAIN_SECONDS = 15.0
STARTUP_SECONDS = 60.0
IN_FLIGHT = 32


@dataclass
class _Probe:
    """One poller for every outstanding id: a single indexed query every ~2 ms."""

    harness: Harness
    outstanding: dict[UUID, float] = field(default_factory=dict)
    lags: list[float] = field(default_factory=list)
    posts: list[float] = field(default_factory=list)
    record: bool = True
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    async def poll(self, stop: asyncio.Event) -> None:
        pool = self.harness.platform.pool
        while not stop.is_set():
            if self.outstanding:
                asked = time.perf_counter()
                rows = await pool.fetch(
                    "SELECT aggregate_id FROM patient_directory "
                    "WHERE aggregate_id = ANY($1::uuid[]) AND version >= 1",
                    list(self.outstanding),
                )
                # Visible in the snapshot taken at `asked`: it committed before then.
                for row in rows:
                    answered = self.outstanding.pop(row["aggregate_id"])
                    if self.record:
                        self.lags.append(asked - answered)
                if not self.outstanding:
                    self.drained.set()
            await asyncio.sleep(POLL_SECONDS)

    async def register(self, client: httpx.AsyncClient, n: int) -> None:
        sent = time.perf_counter()
        response = await client.post("/api/patients", json=registration_body(n))
        answered = time.perf_counter()
        if response.status_code != 201:
            raise RuntimeError(f"register answered {response.status_code}: {response.text}")
        self.outstanding[UUID(response.json()["id"])] = answered
        self.drained.clear()
        if self.record:
            self.posts.append(answered - sent)


async def _steady(
    probe: _Probe, client: httpx.AsyncClient, numbers: count[int], rate: float, seconds: float
) -> float:
    """Open loop: a request every 1/rate s whatever the previous ones are doing, as long as
    fewer than IN_FLIGHT are unanswered (past that a client queue would only measure httpx);
    returns the rate actually sent."""
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(IN_FLIGHT)
    requests: list[asyncio.Task[None]] = []

    async def one(n: int) -> None:
        try:
            await probe.register(client, n)
        finally:
            slots.release()

    total = round(rate * seconds)
    start = loop.time()
    for i in range(total):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await slots.acquire()
        requests.append(asyncio.create_task(one(next(numbers))))
    sent = loop.time() - start
    await asyncio.gather(*requests)
    return total / max(sent, (total - 1) / rate)


async def _settle(probe: _Probe) -> int:
    """Wait for what is still on its way; how many never showed up."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(probe.drained.wait(), timeout=DRAIN_SECONDS)
    return len(probe.outstanding)


class _Pipeline:
    """The relay and every projector: `clinic relay` and `clinic project` processes, as
    docker-compose deploys them, or asyncio tasks beside the API, as `clinic up` runs them."""

    def __init__(self, harness: Harness, *, in_process: bool) -> None:
        self.harness = harness
        self.in_process = in_process
        self.stop = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    async def start(self) -> None:
        platform = self.harness.platform
        if self.in_process:
            parts = [platform.relay().run(self.stop)]
            parts += [platform.consumer(name).run(self.stop) for name in platform.projectors]
            self.tasks = [asyncio.create_task(part) for part in parts]
            return
        self.harness.log_file.flush()
        self.processes = {
            "relay": await self.harness.spawn("relay"),
            "projectors": await self.harness.spawn("project"),
        }

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far: this process (API, load, probe and maybe the pipeline), parts."""
        used = {"api": cpu.seconds(os.getpid())}
        used.update({name: cpu.seconds(p.pid) for name, p in self.processes.items()})
        return used

    async def close(self) -> None:
        self.stop.set()
        if self.tasks:
            await asyncio.wait_for(asyncio.gather(*self.tasks), timeout=30)
        for process in self.processes.values():
            await self.harness.reap(process)

    def exited(self) -> str | None:
        for name, process in self.processes.items():
            if process.returncode is not None:
                return f"`clinic` {name} exited with {process.returncode}"
        return None


async def _first_through(
    probe: _Probe, pipeline: _Pipeline, client: httpx.AsyncClient, numbers: count[int]
) -> None:
    """One registration all the way to the directory: the pipeline is up."""
    await probe.register(client, next(numbers))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_SECONDS
    while probe.outstanding:
        if (problem := pipeline.exited()) or loop.time() > deadline:
            log = pipeline.harness.log_path
            raise RuntimeError(f"{problem or 'the relay and projectors did not start'}; see {log}")
        await asyncio.sleep(0.05)


async def run(harness: Harness, sizes: Sizes, *, in_process: bool) -> tuple[list[Row], str]:
    pipeline = _Pipeline(harness, in_process=in_process)
    probe = _Probe(harness, record=False)
    stop = asyncio.Event()
    poller = asyncio.create_task(probe.poll(stop))
    numbers = count(30_000_000)
    try:
        await pipeline.start()
        async with harness.client(IN_FLIGHT) as client:
            await _first_through(probe, pipeline, client, numbers)
            await _steady(probe, client, numbers, sizes.lag_rate, WARM_UP_SECONDS)
            if await _settle(probe):
                raise RuntimeError("warm-up registrations never reached the patient directory")
            probe.record = True
            before, started = pipeline.cpu(), time.perf_counter()
            sent = await _steady(probe, client, numbers, sizes.lag_rate, sizes.lag_seconds)
            missing = await _settle(probe)
            after, elapsed = pipeline.cpu(), time.perf_counter() - started
    finally:
        stop.set()
        (polled,) = await asyncio.gather(poller, return_exceptions=True)
        await pipeline.close()
    if isinstance(polled, BaseException):
        raise polled
    lags_ms = [lag * 1000 for lag in probe.lags]
    posts_ms = [post * 1000 for post in probe.posts]
    where = (
        "relay + projectors as tasks beside the API (clinic up)"
        if in_process
        else "`clinic relay` + `clinic project` processes (docker-compose)"
    )
    how = (
        f"{len(lags_ms)} registrations at {sent:.0f}/s (asked {sizes.lag_rate:.0f}/s, at most "
        f"{IN_FLIGHT} in flight) for {sizes.lag_seconds:.0f} s; {where}"
    )
    rows = [
        Row(
            "(c) lag 201 → patient_directory, p50",
            percentile(lags_ms, 0.50),
            unit="ms",
            detail=how,
        ),
        Row(
            "(c) lag 201 → patient_directory, p99",
            percentile(lags_ms, 0.99),
            unit="ms",
            target="≤ 100 ms",
            met=value_at_most(100),
            detail=f"max {max(lags_ms):.0f} ms; one probe query for all outstanding ids every "
            f"{POLL_SECONDS * 1000:.0f} ms",
        ),
    ]
    share = ", ".join(
        f"{name} {100 * (after[name] - before[name]) / elapsed:.0f}%" for name in after
    )
    note = (
        f"(c) POST /api/patients latency at {sent:.0f}/s: "
        f"p50 {percentile(posts_ms, 0.5):.1f} ms, p99 {percentile(posts_ms, 0.99):.1f} ms; "
        f"CPU of one core: {share}"
        + (f"; {missing} registrations NEVER reached the directory" if missing else "")
    )
    return rows, note
