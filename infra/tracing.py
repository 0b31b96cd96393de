"""OpenTelemetry traces, from an HTTP request through its events, the bus and each projector
or worker that consumed them, exported over OTLP/HTTP when `CLINIC_OTLP_ENDPOINT` is set and
off otherwise (a no-op tracer: nothing is recorded, nothing is sent).

No span context travels in the event store, so the ids are derived where each part can
derive them alone, from what every event already carries (invariant 6):
- the trace is the correlation id (`trace_id_of`), as the relay's `traceparent` header says;
- a request's span is its request id, which its events keep as their causation id;
- an event's span is its event id (the `traceparent` on its message); an event a worker
  wrote in reaction to another names that event as its cause, so it hangs below it;
- a consumer's span is a child of the event it consumed, read from the message's header.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from uuid import UUID

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    INVALID_SPAN,
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    TraceFlags,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# The ids the next span must take, when derived rather than random (trace id, span id).
_CHOSEN: ContextVar[tuple[int | None, int | None]] = ContextVar("chosen", default=(None, None))
_PROPAGATOR = TraceContextTextMapPropagator()


def trace_id_of(correlation_id: str) -> int:
    return int(hashlib.sha256(correlation_id.encode()).hexdigest()[:32], 16)


def span_id_of(cause: str) -> int:
    """The span of what caused an event: the event it reacted to (its id), or the request."""
    try:
        return int(UUID(cause).hex[:16], 16)
    except ValueError:
        return int(hashlib.sha256(cause.encode()).hexdigest()[:16], 16)


def traceparent(correlation_id: str, event_id: UUID) -> str:
    """W3C trace context of an event's message: the trace is the correlation id, the span
    is the event."""
    return f"00-{trace_id_of(correlation_id):032x}-{event_id.hex[:16]}-01"


class _Derived(IdGenerator):
    """Random ids, unless the span being started was given its own (`_CHOSEN`)."""

    def generate_span_id(self) -> int:
        chosen = _CHOSEN.get()[1]
        return chosen if chosen is not None else random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        chosen = _CHOSEN.get()[0]
        return chosen if chosen is not None else random.getrandbits(128) or 1


class Tracing:
    """The platform's tracer: exporting to `endpoint` (an OTLP/HTTP traces URL such as
    http://collector:4318/v1/traces), or a no-op one when there is none."""

    def __init__(self, endpoint: str | None, process: str = "sonrisa") -> None:
        self.provider: TracerProvider | None = None
        self.tracer: trace.Tracer = trace.NoOpTracer()
        if endpoint:
            resource = Resource.create({"service.name": "sonrisa", "service.instance.id": process})
            self.provider = TracerProvider(resource=resource, id_generator=_Derived())
            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint)))
            self.tracer = self.provider.get_tracer("sonrisa")

    def _started(
        self,
        name: str,
        kind: SpanKind,
        *,
        parent: SpanContext | None,
        trace_id: int | None = None,
        span_id: int | None = None,
    ) -> AbstractContextManager[Span]:
        # Off, a span costs nothing: no context, no ids, no header parsed (every message and
        # request passes here).
        if self.provider is None:
            return nullcontext(INVALID_SPAN)
        return self._recorded(name, kind, parent, trace_id, span_id)

    @contextmanager
    def _recorded(
        self,
        name: str,
        kind: SpanKind,
        parent: SpanContext | None,
        trace_id: int | None,
        span_id: int | None,
    ) -> Iterator[Span]:
        # A parent named, or none at all: never whatever span happens to be current.
        context = trace.set_span_in_context(
            NonRecordingSpan(parent) if parent else INVALID_SPAN, Context()
        )
        chosen = _CHOSEN.set((trace_id, span_id))
        try:
            span = self.tracer.start_span(name, context=context, kind=kind)
        finally:
            _CHOSEN.reset(chosen)
        with trace.use_span(span, end_on_exit=True):
            yield span

    def request(
        self, method: str, correlation_id: str, request_id: str
    ) -> AbstractContextManager[Span]:
        """An HTTP request's span, the root of its correlation's trace."""
        return self._started(
            f"HTTP {method}",
            SpanKind.SERVER,
            parent=None,
            trace_id=trace_id_of(correlation_id),
            span_id=span_id_of(request_id),
        )

    def event(
        self, name: str, correlation_id: str, causation_id: str, event_id: UUID
    ) -> AbstractContextManager[Span]:
        """An event's publication, below the request or the event that caused it."""
        trace_id = trace_id_of(correlation_id)
        parent = (
            SpanContext(trace_id, span_id_of(causation_id), True, TraceFlags(1))
            if causation_id
            else None
        )
        return self._started(
            name,
            SpanKind.PRODUCER,
            parent=parent,
            trace_id=trace_id,
            span_id=int(event_id.hex[:16], 16),
        )

    def consumed(self, name: str, traceparent: str | None) -> AbstractContextManager[Span]:
        """A consumer's work on one message, below the event it carried."""
        if self.provider is None:
            return nullcontext(INVALID_SPAN)
        carried = trace.get_current_span(_PROPAGATOR.extract({"traceparent": traceparent or ""}))
        parent = carried.get_span_context()
        return self._started(name, SpanKind.CONSUMER, parent=parent if parent.is_valid else None)

    def shutdown(self) -> None:
        """Sends what is still buffered, then stops."""
        if self.provider is not None:
            self.provider.shutdown()
