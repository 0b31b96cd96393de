"""One ASGI middleware for every request: correlation id, size limit, logs, metrics, access log.

The size limit holds for the body as it streams in, whether or not it declares its length.

Pure ASGI rather than `BaseHTTPMiddleware`: no extra task per request, and the
patient-data access entry is written before the last byte of the response
leaves, so no one receives patient data whose access was not logged.
"""

from __future__ import annotations

import re
import time
from collections import deque
from urllib.parse import unquote_plus

import structlog
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import new_request_id, services_of
from api.permissions import AccessIntent, Actor
from api.problems import problem_response
from domain.shared import unsafe_character
from infra.logs import get_logger
from infra.metrics import HTTP_REQUESTS
from infra.settings import MAX_TARGET_LENGTH
from infra.tracing import Tracing
from security.access_log import Access

log = get_logger("api")
_CORRELATION = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _unsafe_target(scope: Scope) -> str | None:
    """A character no text may hold, in the path or the (decoded) query string."""
    query = unquote_plus(scope.get("query_string", b"").decode("latin-1"), errors="replace")
    return unsafe_character(scope.get("path", "")) or unsafe_character(query)


def _target_length(scope: Scope) -> int:
    """The length of the address as sent: path, then `?` and the query string if any."""
    query = scope.get("query_string", b"")
    return len(scope.get("raw_path") or scope.get("path", "")) + (len(query) + 1 if query else 0)


def _replay(messages: deque[Message], receive: Receive) -> Receive:
    """A `receive` that gives the body already read, then whatever comes next (a disconnect)."""

    async def replay() -> Message:
        return messages.popleft() if messages else await receive()

    return replay


def _outcome(status: int) -> str:
    if status < 400:
        return "done"
    return "refused" if status in (401, 403) else "failed"


# Every answer is hardened; a page that needs more (the web app, /docs) states its own policy.
DEFAULT_POLICY = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
# Sent only over TLS (directly, or from a trusted proxy that said so: uvicorn then sets the
# scheme): a browser that learns it over plain HTTP must ignore it anyway.
HSTS = "max-age=31536000; includeSubDomains"


def _harden(headers: MutableHeaders, *, https: bool) -> None:
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Content-Security-Policy", DEFAULT_POLICY)
    if https:
        headers.setdefault("Strict-Transport-Security", HSTS)


class RequestContext:
    def __init__(
        self, app: ASGIApp, max_request_bytes: int, tracing: Tracing | None = None
    ) -> None:
        self.app = app
        self.max_request_bytes = max_request_bytes
        self.tracing = tracing or Tracing(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        supplied = request.headers.get("x-correlation-id", "")
        correlation_id = supplied if _CORRELATION.match(supplied) else new_request_id()
        request.state.correlation_id = correlation_id
        request.state.request_id = new_request_id()
        started = time.perf_counter()
        status = 500

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Correlation-Id"] = correlation_id
                _harden(headers, https=scope.get("scheme") == "https")
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await self._log_access(request, status)
            await send(message)

        with (
            structlog.contextvars.bound_contextvars(
                correlation_id=correlation_id, request_id=request.state.request_id
            ),
            self.tracing.request(request.method, correlation_id, request.state.request_id) as span,
        ):
            try:
                unsafe = _unsafe_target(scope)
                if unsafe is not None:
                    response = problem_response(
                        request,
                        400,
                        "invalid-characters",
                        "The address holds a character that is not allowed",
                        f"the path or query contains {unsafe}: control characters and "
                        "bidirectional overrides are refused everywhere",
                    )
                    await response(scope, receive, send_with_context)
                elif _target_length(scope) > MAX_TARGET_LENGTH:
                    response = problem_response(
                        request,
                        400,
                        "address-too-long",
                        "The address is too long",
                        f"send at most {MAX_TARGET_LENGTH} characters of path and query",
                    )
                    await response(scope, receive, send_with_context)
                elif self._too_large(request):
                    await self._refuse_too_large(request, receive, send_with_context)
                else:
                    body = await self._read_body(receive)
                    if body is None:
                        await self._refuse_too_large(request, receive, send_with_context)
                    else:
                        await self.app(scope, _replay(body, receive), send_with_context)
            finally:
                path = getattr(scope.get("route"), "path", "unmatched")
                elapsed = time.perf_counter() - started
                HTTP_REQUESTS.labels(request.method, path, str(status)).observe(elapsed)
                span.update_name(f"{request.method} {path}")
                span.set_attributes(
                    {
                        "http.request.method": request.method,
                        "http.route": path,
                        "http.response.status_code": status,
                    }
                )
                # The route template, never the query string: searches contain patients' names.
                log.info(
                    "request",
                    method=request.method,
                    route=path,
                    status=status,
                    ms=round(elapsed * 1000, 2),
                )

    async def _read_body(self, receive: Receive) -> deque[Message] | None:
        """The request's body messages, counted as they arrive (a chunked body declares no
        length); None as soon as they pass the limit. Nothing more is read then: the 413
        goes out at once, and the server drops the rest of the body as it arrives (closing
        instead would reset the connection and lose the answer)."""
        messages: deque[Message] = deque()
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            size += len(message.get("body", b""))
            if size > self.max_request_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _refuse_too_large(self, request: Request, receive: Receive, send: Send) -> None:
        response = problem_response(
            request,
            413,
            "payload-too-large",
            "The request is too large",
            f"send at most {self.max_request_bytes} bytes",
        )
        await response(request.scope, receive, send)

    def _too_large(self, request: Request) -> bool:
        length = request.headers.get("content-length")
        if length is None:
            return False
        return not length.isdigit() or int(length) > self.max_request_bytes

    async def _log_access(self, request: Request, status: int) -> None:
        intent: AccessIntent | None = getattr(request.state, "access", None)
        if intent is None:
            return
        actor: Actor | None = getattr(request.state, "actor", None)
        route = getattr(request.scope.get("route"), "path", request.url.path)
        access = Access(
            actor_id=str(actor.staff_id) if actor else None,
            actor_role="+".join(sorted(actor.roles)) if actor else None,
            action=intent.action,
            patient_id=intent.patient_id,
            route=f"{request.method} {route}",
            outcome=_outcome(status),
            status=status,
            correlation_id=request.state.correlation_id,
            source_address=request.client.host if request.client else None,
            reason=actor.break_glass_reason if actor else None,
            details=intent.details,
        )
        try:
            await services_of(request).access_log.append(access)
        except Exception:
            # Withhold the body: patient data must not leave without its access entry.
            log.exception(
                "access log entry not written; response withheld",
                action=intent.action,
                status=status,
            )
            raise
