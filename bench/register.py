"""(a) RegisterPatient over real HTTP vs the bare `Application.save` of the same aggregate."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import httpx

from bench.harness import Harness, Sizes
from bench.report import Row, ratio_at_least
from bench.workload import drive, new_patient, registration, registration_body

WARM_UP = 100


class _Http:
    """POST /api/patients through uvicorn, the way a front desk's browser does."""

    def __init__(self, client: httpx.AsyncClient, numbers: count[int]) -> None:
        self.client = client
        self.numbers = numbers

    async def one(self, _: int) -> None:
        response = await self.client.post(
            "/api/patients", json=registration_body(next(self.numbers))
        )
        if response.status_code != 201:
            raise RuntimeError(f"register answered {response.status_code}: {response.text}")


class _Save:
    """`Patient.register(...)` and `platform.patients.save(patient)`, in a thread each."""

    def __init__(self, harness: Harness, executor: ThreadPoolExecutor, numbers: count[int]):
        self.harness = harness
        self.executor = executor
        self.numbers = numbers

    def _save(self, n: int) -> None:
        platform = self.harness.platform
        platform.patients.save(new_patient(platform, registration(n)))

    async def one(self, _: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.executor, self._save, next(self.numbers))


async def run(harness: Harness, sizes: Sizes) -> Row:
    """Alternate rounds of both sides, same patients per side, same concurrency."""
    per_round = max(1, sizes.register // sizes.rounds)
    # The API numbers patients from 1, the baseline from 10 million: never the same person.
    http_numbers, save_numbers = count(1), count(10_000_000)
    seconds = {"http": 0.0, "save": 0.0}
    with ThreadPoolExecutor(sizes.concurrency, thread_name_prefix="bench-save") as executor:
        async with harness.client(sizes.concurrency) as client:
            sides = {
                "http": _Http(client, http_numbers).one,
                "save": _Save(harness, executor, save_numbers).one,
            }
            for one in sides.values():
                await drive(WARM_UP, sizes.concurrency, one)
            for round_ in range(sizes.rounds):
                order = ("http", "save") if round_ % 2 == 0 else ("save", "http")
                for side in order:
                    seconds[side] += await drive(per_round, sizes.concurrency, sides[side])
    total = per_round * sizes.rounds
    return Row(
        "(a) RegisterPatient, commands/s",
        total / seconds["http"],
        total / seconds["save"],
        target="ratio ≥ 0.5",
        met=ratio_at_least(0.5),
        detail=(
            f"{total} POST /api/patients via uvicorn+httpx vs {total} Patient.register + "
            f"Application.save in threads; {sizes.concurrency} in flight each"
        ),
    )
