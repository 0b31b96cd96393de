"""Overload is answered, not queued without end: past a bounded number of commands in flight
in this process, a write gets 503 problem+json with Retry-After at once, before anything
of it is stored (only its body, bounded by `max_request_bytes`, was read). A client retries
it later, with the same Idempotency-Key if it sent one; nothing of it was written.

Reads are not counted: they do not queue for the command threads, and a receptionist's
screen should keep answering while a morning import saturates the writes.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem_response
from infra.logs import get_logger
from infra.metrics import COMMANDS_REFUSED

log = get_logger("api")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRY_AFTER_SECONDS = 1


class Admission:
    def __init__(self, app: ASGIApp, max_in_flight: int) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            COMMANDS_REFUSED.inc()
            log.warning("command refused: too many in flight", in_flight=self.in_flight)
            answer = problem_response(
                Request(scope),
                503,
                "overloaded",
                "Too many requests in progress",
                f"nothing was saved; try again in {RETRY_AFTER_SECONDS} s "
                "(with the same Idempotency-Key, if you sent one)",
            )
            answer.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
            await answer(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
