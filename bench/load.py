"""A lean load generator in its own process: POSTs registrations over keep-alive HTTP/1.1.

Run by (a) so the client neither shares the API's interpreter (and GIL) nor
spends much of the machine's two cores: requests are prepared bytes written on
raw asyncio streams, the way a cheap C load tool would.
    python -m bench.load BASE_URL TOKEN FIRST COUNT CONCURRENCY
Prints the seconds from the first request to the last answer, as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

from bench.replay import read_answer, request_bytes
from bench.workload import registration_body


def registration_request(host: str, token: str, n: int) -> bytes:
    return request_bytes(host, token, "POST", "/api/patients", registration_body(n))


async def main(base_url: str, token: str, first: int, count: int, concurrency: int) -> None:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    requests = [registration_request(f"{host}:{port}", token, first + n) for n in range(count)]
    pending = iter(requests)
    failures: list[str] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in pending:
                writer.write(request)
                status, body = await read_answer(reader)
                if status != 201:
                    failures.append(f"{status}: {body[:200]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "failures": failures[:5], "failed": len(failures)}))


if __name__ == "__main__":
    url, token, first, count, concurrency = sys.argv[1:6]
    asyncio.run(main(url, token, int(first), int(count), int(concurrency)))
