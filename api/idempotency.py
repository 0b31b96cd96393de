"""`Idempotency-Key` on writes: a retry returns the first answer instead of writing again.

Pure ASGI, inside `RequestContext`: the key is scoped to the signed-in staff member (or to
"anonymous"), the request is fingerprinted (method, path, query, body), and the first
answer is kept with the key, unless it is a 503 or a 429 (which say nothing was done: the
retry runs again). A retry gets the kept answer with
`Idempotent-Replayed: true`; the same key for another request is refused (422); a retry
while the first is still running waits for it; if the first never answers (its process
died), the retry runs again, which the command layer's `RequestClaim` makes safe.
Answers that carry secrets (tokens, TOTP set-up) are never kept.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable
from typing import Any
from uuid import UUID

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import services_of
from api.permissions import AccessIntent, Actor, bearer
from api.problems import problem_response
from commands.base import REQUEST_KEY
from infra.db import UNAVAILABLE
from infra.logs import get_logger
from security.idempotency import (
    Answer,
    IdempotencyKeys,
    InProgress,
    Mismatch,
    Replay,
    fingerprint,
)
from security.sessions import TokenRefused

log = get_logger("api.idempotency")
HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Safe methods (RFC 9110) change nothing, so they have nothing to repeat; every other one may.
_SAFE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Their answers hold tokens or secrets, which must not be stored.
_NEVER_KEPT = frozenset(
    {
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/auth/logout",
        "/api/auth/totp/setup",
        "/api/calendar-feeds",  # the answer holds the feed's secret URL
    }
)
_KEPT_HEADERS = frozenset(
    {"content-type", "etag", "location", "sonrisa-consistency-token", "retry-after"}
)
WAIT_FOR_FIRST = 5.0  # seconds a retry waits for the first request with its key
_UNEXPECTED = Answer(
    500,
    [("content-type", "application/problem+json")],
    b'{"type":"https://sonrisa.dev/problems/internal-error","title":"Something went wrong '
    b'on our side","status":500,"detail":"the first request with this Idempotency-Key '
    b'failed; it may or may not have saved: reload before you try again with a new key"}',
    None,
)


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = Headers(scope=scope).get(HEADER) if scope["type"] == "http" else None
        if key is None or scope["method"] in _SAFE or scope["path"] in _NEVER_KEPT:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if not _KEY.match(key):
            await _problem(
                request,
                scope,
                receive,
                send,
                400,
                "invalid-idempotency-key",
                "Idempotency-Key is not valid",
                "send 1 to 255 printable ASCII characters, e.g. a UUID",
            )
            return
        services = services_of(request)
        keys: IdempotencyKeys = services.idempotency
        body = await _read_body(receive)
        request_print = fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b""), body
        )
        try:
            # Checking the token may read the sessions table: while PostgreSQL is out of
            # reach that is "try again" like the claim, never a 500 that ends the retries.
            actor = await _actor(request)
            owner = str(actor.staff_id) if actor else "anonymous"
            claim = await keys.claim(owner, key, request_print)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + WAIT_FOR_FIRST
            while isinstance(claim, InProgress) and loop.time() < deadline:
                await asyncio.sleep(0.1)
                claim = await keys.claim(owner, key, request_print)
        except UNAVAILABLE:
            unavailable = problem_response(
                request,
                503,
                "store-unavailable",
                "Temporarily unavailable",
                "the request could not be checked against earlier tries; nothing was saved, "
                "try again with the same Idempotency-Key",
            )
            unavailable.headers["Retry-After"] = "1"
            await unavailable(scope, receive, send)
            return
        if isinstance(claim, Mismatch):
            await _problem(
                request,
                scope,
                receive,
                send,
                422,
                "idempotency-key-reused",
                "This Idempotency-Key was used for another request",
                "use a new key for a new request; reuse a key only to retry",
            )
        elif isinstance(claim, Replay):
            await _replay(claim.answer, scope, send, actor)
        else:
            # Claimed; or still "in progress" after the wait because the process that ran
            # the first try died. Running it again is safe: the command finds the first
            # try's RequestClaim if that committed, and answers as that try did.
            await self._first(scope, body, send, keys, owner, key)

    async def _first(
        self, scope: Scope, body: bytes, send: Send, keys: IdempotencyKeys, owner: str, key: str
    ) -> None:
        status, headers, chunks = 500, [], []
        answered = False

        async def capture(message: Message) -> None:
            nonlocal status, headers, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in _KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                answered = not message.get("more_body", False)
            await send(message)

        carrying = REQUEST_KEY.set((owner, key))
        try:
            await self.app(scope, _replaying(body), capture)
        except Exception:
            # The app answered and only handing the answer out failed (its access entry could
            # not be written, say): a retry gets that answer. Otherwise it may have written
            # before it failed, and a retry must not write again.
            kept = Answer(status, headers, b"".join(chunks), _plain(scope)) if answered else None
            await _settle(keys.keep(owner, key, kept or _UNEXPECTED))
            raise
        except BaseException:  # cancelled (shutdown, client gone): no answer was given
            await _settle(keys.release(owner, key))
            raise
        finally:
            REQUEST_KEY.reset(carrying)
        if status in (429, 503):  # "nothing was done, try again": the retry must run again
            await _settle(keys.release(owner, key))
            return
        await _settle(
            keys.keep(owner, key, Answer(status, headers, b"".join(chunks), _plain(scope)))
        )


async def _settle(step: Awaitable[None]) -> None:
    """Note what became of a key; if PostgreSQL is out of reach the key stays "in progress",
    and a retry, after waiting for it, runs again: the command's RequestClaim then answers
    as the first try was answered, so nothing is written twice."""
    try:
        await step
    except UNAVAILABLE:
        log.warning("idempotency key not settled", error="store unavailable")


async def _actor(request: Request) -> Actor | None:
    token = bearer(request)
    if token is None:
        return None
    try:
        services = services_of(request)
        claims = await services.tokens.verify(token)
    except TokenRefused:
        return None
    return Actor(
        claims, request.state.correlation_id, request.state.request_id, services.permissions
    )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def _plain(scope: Scope) -> dict[str, Any] | None:
    """The request's access-log intent, to log its replays the same way."""
    access: AccessIntent | None = scope.get("state", {}).get("access")
    if access is None:
        return None
    return {
        "action": access.action,
        "patient_id": str(access.patient_id) if access.patient_id else None,
        "details": access.details,
    }


async def _replay(answer: Answer, scope: Scope, send: Send, actor: Actor | None) -> None:
    """The first answer again; the access log records that it was handed out once more."""
    state = scope.setdefault("state", {})
    if answer.access is not None:
        patient = answer.access["patient_id"]
        state["access"] = AccessIntent(
            f"{answer.access['action']} (replayed)",
            UUID(patient) if patient else None,
            dict(answer.access["details"]),
        )
        if actor is not None:
            state["actor"] = actor
    start: Message = {
        "type": "http.response.start",
        "status": answer.status,
        "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers],
    }
    MutableHeaders(scope=start)[REPLAYED] = "true"
    await send(start)
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def _problem(
    request: Request,
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    kind: str,
    title: str,
    detail: str,
) -> None:
    await problem_response(request, status, kind, title, detail)(scope, receive, send)
