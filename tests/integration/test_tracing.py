"""Traces over OTLP (infra/tracing.py): a registration's HTTP request, the event it wrote as the
relay published it, and each read model's consumption of that event arrive at a collector as
one trace, each span below the one before; with no endpoint set, nothing is recorded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import uuid4

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from clinic.parts import http_app
from clinic.platform import Platform
from infra.tracing import Tracing, trace_id_of
from tests.conftest import SignIn, eventually, running
from tests.e2e.test_patients_api import PATIENT

# Two read models fed by the patients' events: the directory (PostgreSQL), the book's view.
READ_MODELS = ("patient_directory", "scheduling_patients")


class Collector:
    """An OTLP/HTTP traces receiver on a free port: what it was sent, span by span."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        received = self.spans

        class Receive(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        received.extend(scope.spans)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def named(self, prefix: str) -> list[Any]:
        return [s for s in self.spans if s.name.startswith(prefix)]


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    serving = threading.Thread(target=collector.server.serve_forever, daemon=True)
    serving.start()
    yield collector
    collector.server.shutdown()
    collector.server.server_close()


async def test_a_registration_is_one_trace_from_the_request_to_each_read_model(
    platform: Platform, collector: Collector, sign_in: SignIn
) -> None:
    headers = await sign_in("receptionist")
    platform.tracing = Tracing(collector.url, "test")
    try:
        consumers = [platform.consumer(n).run for n in READ_MODELS]
        async with running(platform.relay().run, *consumers):
            transport = httpx.ASGITransport(app=http_app(platform))
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                correlation = f"trace-{uuid4().hex}"
                written = await http.post(
                    "/api/patients",
                    json=PATIENT,
                    headers={**headers, "X-Correlation-Id": correlation},
                )
                assert written.status_code == 201

            async def consumed() -> bool:
                await asyncio.to_thread(platform.tracing.provider.force_flush)  # type: ignore[union-attr]
                return len(collector.named("consume")) >= 2

            await eventually(consumed, what="both read models' spans at the collector")
    finally:
        await asyncio.to_thread(platform.tracing.shutdown)
        platform.tracing = Tracing(None)

    trace = trace_id_of(correlation).to_bytes(16, "big")
    (request,) = [s for s in collector.named("POST /api/patients") if s.trace_id == trace]
    (event,) = [s for s in collector.named("publish patients.") if s.trace_id == trace]
    consumptions = [s for s in collector.named("consume") if s.trace_id == trace]
    assert request.parent_span_id == b""  # the trace starts with the request
    assert event.parent_span_id == request.span_id
    assert {s.parent_span_id for s in consumptions} == {event.span_id}
    assert {s.name for s in consumptions} == {
        f"consume {platform.settings.queue_name(n)}" for n in READ_MODELS
    }


def test_without_an_endpoint_nothing_is_recorded() -> None:
    tracing = Tracing(None)
    with tracing.request("GET", "c-1", "r-1") as span:
        assert not span.is_recording()
    assert tracing.provider is None
