"""(v) 300 registrations at once: how long each waited, and whether any failed."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from bench.harness import Harness, Sizes
from bench.report import Row
from bench.workload import percentile, registration


async def run(harness: Harness, sizes: Sizes) -> list[Row]:
    latencies: list[float] = []
    failures: dict[str, int] = {}

    async def register(http: httpx.AsyncClient, n: int) -> None:
        body = registration(90_000_000 + n).model_dump(mode="json")
        started = time.perf_counter()
        try:
            answer = await http.post("/api/patients", json=body)
            outcome = str(answer.status_code)
        except httpx.TransportError as error:
            outcome = type(error).__name__
        latencies.append((time.perf_counter() - started) * 1000)
        if outcome != "201":
            failures[outcome] = failures.get(outcome, 0) + 1

    async with harness.client(sizes.burst) as http:
        await asyncio.gather(*(register(http, n) for n in range(sizes.burst)))
    failed = ", ".join(f"{count} x {kind}" for kind, count in sorted(failures.items())) or "none"
    detail = f"{sizes.burst} POST /api/patients at once, one connection each; non-2xx: {failed}"
    return [
        Row(
            f"(v) {sizes.burst} registrations at once, p50",
            percentile(latencies, 0.50),
            unit="ms",
            detail=detail,
        ),
        Row(
            f"(v) {sizes.burst} registrations at once, p99",
            percentile(latencies, 0.99),
            unit="ms",
            detail=f"max {max(latencies):.0f} ms, mean {statistics.mean(latencies):.0f} ms",
        ),
    ]
