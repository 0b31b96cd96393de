"""A lean HTTP/1.1 client in its own process: replays prepared requests over keep-alive
connections and reports every answer's status, problem kind and latency.

Run by (e) and (f) for the reason `bench.load` exists: the client must neither share the
API's interpreter (and event loop) nor spend much of the machine's two cores, so requests
are prepared bytes written on raw asyncio streams.
    python -m bench.replay < SPEC
SPEC is JSON: {"base_url", "token", "concurrency", "requests": [[method, path, body|null]]}.
Prints JSON: "seconds" from the first request to the last answer, "answers" as
[status, problem kind ("" for a 2xx), seconds] in request order, and "sample", the first
answer's body.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit


def request_bytes(host: str, token: str, method: str, path: str, body: Any) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
    if body is None:
        return (head + "\r\n").encode()
    data = json.dumps(body).encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one response (uvicorn always sends Content-Length here); its status and body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


def _kind(status: int, body: bytes) -> str:
    if status < 400:
        return ""
    try:
        return str(json.loads(body).get("type", "")).rsplit("/", 1)[-1] or str(status)
    except ValueError:
        return str(status)


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    url = urlsplit(spec["base_url"])
    host, port = url.hostname or "127.0.0.1", url.port or 80
    prepared = [
        request_bytes(f"{host}:{port}", spec["token"], method, path, body)
        for method, path, body in spec["requests"]
    ]
    answers: list[list[Any]] = [[0, "", 0.0] for _ in prepared]
    sample: list[str] = []
    pending = iter(enumerate(prepared))
    concurrency = min(int(spec["concurrency"]), len(prepared))
    streams = [await asyncio.open_connection(host, port) for _ in range(concurrency)]

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for index, request in pending:
            sent = time.perf_counter()
            writer.write(request)
            status, body = await read_answer(reader)
            answers[index] = [status, _kind(status, body), time.perf_counter() - sent]
            if index == 0:
                sample.append(body.decode(errors="replace"))

    started = time.perf_counter()
    try:
        await asyncio.gather(*(connection(reader, writer) for reader, writer in streams))
        seconds = time.perf_counter() - started
    finally:
        for _, writer in streams:
            writer.close()
    return {"seconds": seconds, "answers": answers, "sample": sample[0] if sample else ""}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
