"""(a) RegisterPatient over real HTTP vs the bare `Application.save` of the same aggregate."""

from __future__ import annotations

import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from itertools import count

from bench.harness import Harness, Sizes
from bench.report import Row, ratio_at_least
from bench.workload import drive, new_patient, registration
from commands.patients import Patients

WARM_UP = 100


class _Http:
    """POST /api/patients through uvicorn from a client process of its own, as browsers do."""

    def __init__(self, harness: Harness, numbers: count[int], concurrency: int) -> None:
        self.harness = harness
        self.numbers = numbers
        self.concurrency = concurrency

    async def batch(self, size: int) -> float:
        first = next(self.numbers)
        for _ in range(size - 1):
            next(self.numbers)
        token = self.harness.headers["Authorization"].removeprefix("Bearer ")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.load",
            self.harness.base_url,
            token,
            str(first),
            str(size),
            str(self.concurrency),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await process.communicate()
        result = json.loads(out)
        if result["failed"]:
            raise RuntimeError(f"{result['failed']} registrations failed: {result['failures']}")
        return float(result["seconds"])


class _Save:
    """`Patient.register(...)` and the Application's `save(patient)`, in a thread each."""

    def __init__(self, harness: Harness, executor: ThreadPoolExecutor, numbers: count[int]):
        self.harness = harness
        self.executor = executor
        self.numbers = numbers

    def _save(self, n: int) -> None:
        platform = self.harness.platform
        platform.application(Patients).save(new_patient(platform, registration(n)))

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
        http = _Http(harness, http_numbers, sizes.concurrency)
        save = _Save(harness, executor, save_numbers).one
        await http.batch(WARM_UP)
        await drive(WARM_UP, sizes.concurrency, save)
        for round_ in range(sizes.rounds):
            order = ("http", "save") if round_ % 2 == 0 else ("save", "http")
            for side in order:
                if side == "http":
                    seconds[side] += await http.batch(per_round)
                else:
                    seconds[side] += await drive(per_round, sizes.concurrency, save)
    total = per_round * sizes.rounds
    return Row(
        "(a) RegisterPatient, commands/s",
        total / seconds["http"],
        total / seconds["save"],
        target="ratio ≥ 0.5",
        met=ratio_at_least(0.5),
        detail=(
            f"{total} POST /api/patients via uvicorn, keep-alive client in its own process, vs "
            f"{total} Patient.register + "
            f"Application.save in threads; {sizes.concurrency} in flight each"
        ),
    )
