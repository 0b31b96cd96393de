"""A load generator in its own process: POSTs registrations the way many browsers would.

Run by (a) so the HTTP client does not share the API's interpreter (and its GIL):
    python -m bench.load BASE_URL TOKEN FIRST COUNT CONCURRENCY
Prints the seconds from the first request to the last answer, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import httpx

from bench.workload import drive, registration_body


async def main(base_url: str, token: str, first: int, count: int, concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=30.0
    ) as client:

        async def one(n: int) -> None:
            response = await client.post("/api/patients", json=registration_body(first + n))
            if response.status_code != 201:
                failures.append(f"{response.status_code}: {response.text[:200]}")

        started = time.perf_counter()
        await drive(count, concurrency, one)
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "failures": failures[:5], "failed": len(failures)}))


if __name__ == "__main__":
    url, token, first, count, concurrency = sys.argv[1:6]
    asyncio.run(main(url, token, int(first), int(count), int(concurrency)))
