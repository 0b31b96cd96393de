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

from bench.workload import registration_body


def request_bytes(host: str, token: str, n: int) -> bytes:
    body = json.dumps(registration_body(n)).encode()
    head = (
        f"POST /api/patients HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _status(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one response; its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


async def main(base_url: str, token: str, first: int, count: int, concurrency: int) -> None:
    url = urlsplit(base_url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    requests = [request_bytes(f"{host}:{port}", token, first + n) for n in range(count)]
    pending = iter(requests)
    failures: list[str] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for request in pending:
                writer.write(request)
                status, body = await _status(reader)
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
