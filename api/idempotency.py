"""`Idempotency-Key` on writes: a retry returns the first answer instead of writing again.

Pure ASGI, inside `RequestContext`: the key is scoped to the signed-in staff member (or to
"anonymous"), the request is fingerprinted (method, path, query, body), and the first
answer below 500 is kept with the key. A retry gets that answer with
`Idempotent-Replayed: true`; the same key for another request is refused (422); a retry
while the first is still running waits for it, then gets 409 if it is still running.
Answers that carry secrets (tokens, TOTP set-up) are never kept.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from uuid import UUID

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import services_of
from api.permissions import AccessIntent, Actor, bearer
from api.problems import problem_response
from security.idempotency import (
    Answer,
    Claimed,
    IdempotencyKeys,
    InProgress,
    Mismatch,
    Replay,
    fingerprint,
)
from security.sessions import TokenRefused

HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Their answers hold tokens or secrets, which must not be stored.
_NEVER_KEPT = frozenset(
    {"/api/auth/login", "/api/auth/refresh", "/api/auth/logout", "/api/auth/totp/setup"}
)
_KEPT_HEADERS = frozenset(
    {"content-type", "etag", "location", "sonrisa-consistency-token", "retry-after"}
)
WAIT_FOR_FIRST = 5.0  # seconds a retry waits for the first request with its key


class Idempotency:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = Headers(scope=scope).get(HEADER) if scope["type"] == "http" else None
        if key is None or scope["method"] not in _WRITES or scope["path"] in _NEVER_KEPT:
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
        actor = await _actor(request)
        owner = str(actor.staff_id) if actor else "anonymous"
        body = await _read_body(receive)
        request_print = fingerprint(
            scope["method"], scope["path"], scope.get("query_string", b""), body
        )
        claim = await keys.claim(owner, key, request_print)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_FIRST
        while isinstance(claim, InProgress) and loop.time() < deadline:
            await asyncio.sleep(0.1)
            claim = await keys.claim(owner, key, request_print)
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
        elif isinstance(claim, InProgress):
            problem = problem_response(
                request,
                409,
                "request-in-progress",
                "The first request is still running",
                "wait a moment and retry with the same Idempotency-Key",
            )
            problem.headers["Retry-After"] = "1"
            await problem(scope, receive, send)
        elif isinstance(claim, Replay):
            await _replay(claim.answer, scope, send, actor)
        else:
            assert isinstance(claim, Claimed)
            await self._first(scope, body, send, keys, owner, key)

    async def _first(
        self, scope: Scope, body: bytes, send: Send, keys: IdempotencyKeys, owner: str, key: str
    ) -> None:
        status, headers, chunks = 500, [], []

        async def capture(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in _KEPT_HEADERS
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replaying(body), capture)
        except BaseException:
            await keys.release(owner, key)
            raise
        if status >= 500:
            await keys.release(owner, key)
            return
        access: AccessIntent | None = scope.get("state", {}).get("access")
        await keys.keep(owner, key, Answer(status, headers, b"".join(chunks), _plain(access)))


async def _actor(request: Request) -> Actor | None:
    token = bearer(request)
    if token is None:
        return None
    try:
        claims = await services_of(request).tokens.verify(token)
    except TokenRefused:
        return None
    return Actor(claims, request.state.correlation_id, request.state.request_id)


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


def _plain(access: AccessIntent | None) -> dict[str, Any] | None:
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
