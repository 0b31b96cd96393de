"""Runs the parts of `clinic up` side by side, restarts one that crashes, stops all on a signal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
from collections.abc import Awaitable, Callable, Sequence

import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.problems import MEDIA_TYPE, PROBLEM_BASE
from bus.connection import backoff
from infra.logs import get_logger

Part = Callable[[asyncio.Event], Awaitable[None]]
log = get_logger("infra.supervisor")
PART_RESTART_CAP = 2.0  # seconds, at most, before a crashed part runs again


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop where it is installed (it comes with uvicorn[standard]), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop
    return uvloop.new_event_loop


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


async def _keep_running(name: str, part: Part, stop: asyncio.Event) -> None:
    """Run the part until `stop`; a crash restarts it after a short, jittered wait (capped
    at PART_RESTART_CAP, so a part that crashed for want of the broker is back within
    seconds of its return, not half a minute)."""
    crashes = 0
    while not stop.is_set():
        try:
            await part(stop)
        except Exception:
            crashes += 1
            wait = backoff(crashes, cap=PART_RESTART_CAP)
            log.exception("part crashed; restarting", part=name, backoff=round(wait, 2))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
        else:
            crashes = 0
    log.info("part stopped", part=name)


async def supervise(parts: dict[str, Part], stop: asyncio.Event) -> None:
    await asyncio.gather(*(_keep_running(name, part, stop) for name, part in parts.items()))


def api_part(
    app: FastAPI,
    host: str,
    port: int,
    trusted_proxies: Sequence[str] = (),
    *,
    reuse_port: bool = False,
) -> Part:
    """Serve the API with uvicorn. Forwarded headers are believed only from `trusted_proxies`
    (uvicorn would otherwise believe any process on this machine). With `reuse_port`, several
    API processes listen on one port and the kernel spreads connections among them."""

    async def serve(stop: asyncio.Event) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            server_header=False,
            http=ProblemHttpProtocol,
            proxy_headers=bool(trusted_proxies),
            forwarded_allow_ips=list(trusted_proxies),
        )
        server = uvicorn.Server(config)
        # The supervisor owns SIGINT/SIGTERM and tells uvicorn through `stop`.
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]

        async def watch() -> None:
            await stop.wait()
            server.should_exit = True

        watcher = asyncio.create_task(watch())
        sockets = [_shared_socket(host, port)] if reuse_port else None
        try:
            await server.serve(sockets=sockets)
        finally:
            watcher.cancel()

    return serve


def _shared_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    shared = socket.socket(family, socket.SOCK_STREAM)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    shared.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    shared.bind((host, port))
    shared.set_inheritable(True)
    return shared


class ProblemHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, answering a request it cannot parse (a raw byte where the
    address allows none) as the API answers every refusal: 400 problem+json, not plain text."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps(
            {
                "type": f"{PROBLEM_BASE}malformed-request",
                "title": "The request is not valid HTTP",
                "status": 400,
                "detail": f"{msg} Encode the address as RFC 3986 says (percent-encoding).",
                "instance": "",
                "correlation_id": None,
            }
        ).encode()
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head += [
            f"content-type: {MEDIA_TYPE}\r\n".encode(),
            f"content-length: {len(body)}\r\n".encode(),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
