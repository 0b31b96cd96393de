"""Overload is answered, not queued without end: past the bounded number of commands in
flight, a write gets 503 problem+json with Retry-After at once, nothing of it is stored, and
the same request retried later (same Idempotency-Key) is written exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from uuid import uuid4

import httpx
from anyio import to_thread

from api.app import create_app
from clinic.platform import Platform
from infra.settings import Settings
from tests.conftest import SignIn
from tests.e2e.test_idempotent_commands import keyed, registrations
from tests.e2e.test_patients_api import PATIENT

LIMIT = 4
SENT = 10


async def test_writes_past_the_limit_get_503_with_retry_after_and_are_written_once_on_retry(
    platform: Platform, settings: Settings, sign_in: SignIn
) -> None:
    bounded = settings.model_copy(update={"max_commands_in_flight": LIMIT})
    app = create_app(bounded, platform.routers(), platform.services())
    desk = await sign_in("receptionist")
    keys = [str(uuid4()) for _ in range(SENT)]
    before = await registrations(platform)
    # Every command thread is taken, so admitted commands stay in flight until released.
    threads = to_thread.current_default_thread_limiter()
    holders = [object() for _ in range(int(threads.total_tokens))]
    for holder in holders:
        await threads.acquire_on_behalf_of(holder)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        sent = [
            asyncio.create_task(http.post("/api/patients", json=PATIENT, headers=keyed(desk, k)))
            for k in keys
        ]
        try:
            # The admitted writes cannot finish while the command threads are held, so the
            # writes answered meanwhile are exactly the refused ones.
            async with asyncio.timeout(60):
                while sum(task.done() for task in sent) < SENT - LIMIT:
                    waiting = [task for task in sent if not task.done()]
                    await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            done = {task for task in sent if task.done()}
            pending = [task for task in sent if not task.done()]
            assert len(done) == SENT - LIMIT, "an admitted write finished without a thread"
            refused = [task.result() for task in done]
        finally:
            for holder in holders:
                threads.release_on_behalf_of(holder)
        admitted = [await task for task in pending]

        assert {a.status_code for a in refused} == {503}
        assert all(a.headers["Retry-After"] == "1" for a in refused)
        assert {a.json()["type"] for a in refused} == {"https://sonrisa.dev/problems/overloaded"}
        assert all(a.headers["content-type"] == "application/problem+json" for a in refused)
        assert [a.status_code for a in admitted] == [201] * LIMIT
        assert await registrations(platform) == before + LIMIT, "a refused write was stored"

        retried_keys = [k for k, task in zip(keys, sent, strict=True) if task in done]
        retried = [
            await http.post("/api/patients", json=PATIENT, headers=keyed(desk, k))
            for k in retried_keys
        ]
    assert Counter(a.status_code for a in retried) == {201: SENT - LIMIT}
    assert await registrations(platform) == before + SENT
