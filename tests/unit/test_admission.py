"""Admission counts writes only: while the commands in flight fill the limit, a further write is
refused with 503 and Retry-After, and reads are still answered."""

from __future__ import annotations

import asyncio

import httpx
from starlette.types import Receive, Scope, Send

from api.admission import Admission


class HeldWrites:
    """An app whose writes stay in flight until released; reads answer at once."""

    def __init__(self, filled_at: int) -> None:
        self.release = asyncio.Event()
        self.filled = asyncio.Event()
        self.filled_at = filled_at
        self.writes_started = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET":
            self.writes_started += 1
            if self.writes_started == self.filled_at:
                self.filled.set()
            await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def test_reads_are_answered_while_writes_fill_the_limit() -> None:
    inner = HeldWrites(filled_at=2)
    admission = Admission(inner, max_in_flight=2)
    transport = httpx.ASGITransport(app=admission)
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        held = [asyncio.create_task(http.post("/api/patients", json={})) for _ in range(2)]
        async with asyncio.timeout(30):
            await inner.filled.wait()

        refused = await http.post("/api/patients", json={})
        read = await http.get("/api/patients")
        deleted = await http.delete("/api/appointments/1")

        inner.release.set()
        written = [await task for task in held]
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "https://sonrisa.dev/problems/overloaded"
    assert deleted.status_code == 503
    assert read.status_code == 200
    assert [w.status_code for w in written] == [200, 200]
    assert inner.writes_started == 2, "a refused write reached the application"
    assert admission.in_flight == 0


async def test_a_write_that_fails_leaves_the_limit() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("the store is gone")

    admission = Admission(failing, max_in_flight=1)
    transport = httpx.ASGITransport(app=admission, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        for _ in range(3):
            await http.post("/api/patients", json={})
    assert admission.in_flight == 0
