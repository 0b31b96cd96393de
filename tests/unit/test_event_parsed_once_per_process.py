"""Each consumer of a process receives an event in a message of its own; the body is
parsed once per process, and a body that is not an event is refused every time."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pydantic import ValidationError

from bus.consumer import parse
from infra.eventstore import Envelope


def _body() -> bytes:
    envelope = Envelope(
        event_id=uuid4(),
        context="patients",
        event_type="PatientRegistered",
        aggregate_type="Patient",
        aggregate_id=uuid4(),
        version=1,
        notification_id=7,
        timestamp=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        meta={"correlation_id": "corr-1"},
        payload={"given_name": "Lucía"},
    )
    return envelope.model_dump_json().encode()


def test_one_patient_event_reaching_four_read_models_is_parsed_once() -> None:
    parse.cache_clear()
    body = _body()
    envelopes = [parse(bytes(body)) for _ in range(4)]  # four messages, equal bodies
    assert all(e is envelopes[0] for e in envelopes)
    assert parse.cache_info().misses == 1
    assert envelopes[0].payload == {"given_name": "Lucía"}


def test_a_body_that_is_not_an_event_is_refused_each_time_it_comes() -> None:
    for _ in range(2):
        with pytest.raises(ValidationError):
            parse(b'{"event_type": "PatientRegistered"}')
