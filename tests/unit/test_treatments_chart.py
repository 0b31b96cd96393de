"""The odontogram is a pure function of a patient's contributions: folding any sequence of
chart events, delivered in any interleaving and with duplicates, gives the same chart as a
rebuild that reads them in the store's order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.treatments import (
    AmendTreatment,
    FindingIn,
    RecordExamination,
    RecordTreatment,
    Treatments,
    VoidTreatment,
)
from domain.shared import Meta
from domain.treatments import VALID_TEETH, is_anterior
from infra.eventstore import Envelope, EventDecoder
from projections.base import Versioned, fold
from projections.treatments import TreatmentChart, odontogram
from tests.unit.clinic_facts import ClinicFacts

META = Meta(str(uuid4()), "dentist", "corr", "req")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PATIENT = uuid4()


@pytest.fixture
def treatments() -> Iterator[Treatments]:
    app = Treatments(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: START + timedelta(days=1)
    )
    app.refer_with(ClinicFacts(staff={UUID(META.actor_id): frozenset({"dentist"})}))
    yield app
    app.close()


def _surface(tooth: int) -> str:
    return "I" if is_anterior(tooth) else "O"


step = st.one_of(
    st.tuples(st.just("fill"), st.sampled_from(VALID_TEETH)),
    st.tuples(st.just("crown"), st.sampled_from(VALID_TEETH)),
    st.tuples(st.just("extract"), st.sampled_from(VALID_TEETH)),
    st.tuples(st.just("caries"), st.sampled_from(VALID_TEETH)),
    st.tuples(st.just("amend"), st.sampled_from(VALID_TEETH)),
    st.tuples(st.just("void"), st.sampled_from(VALID_TEETH)),
)


def run(app: Treatments, steps: list[tuple[str, int]]) -> None:
    recorded: list[UUID] = []
    for n, (kind, tooth) in enumerate(steps):
        at = START + timedelta(minutes=n)
        if kind == "caries":
            finding = FindingIn(tooth=tooth, condition="caries", surfaces=_surface(tooth))
            app.record_examination(
                RecordExamination(patient_id=PATIENT, examined_at=at, findings=[finding]), META
            )
        elif kind in ("amend", "void") and recorded:
            target = recorded[n % len(recorded)]
            try:
                if kind == "void":
                    app.void(target, VoidTreatment(reason="error"), META, None)
                else:
                    where = {"tooth": tooth, "surfaces": _surface(tooth)}
                    amend = AmendTreatment(**where, fee=Decimal("40.00"), reason="wrong tooth")
                    app.amend(target, amend, META, None)
            except Exception:
                continue
        elif kind in ("fill", "crown", "extract"):
            code = {"fill": "FILL-1", "crown": "CROWN", "extract": "EXT-S"}[kind]
            surfaces = _surface(tooth) if kind == "fill" else ""
            body = RecordTreatment(
                patient_id=PATIENT, code=code, tooth=tooth, surfaces=surfaces, performed_at=at
            )
            recorded.append(app.record(body, META).id)


def envelopes(app: Treatments) -> list[Envelope]:
    decoder = EventDecoder()
    stored = app.recorder.select_notifications(start=1, limit=10_000)
    return [
        decoder.envelope(
            "treatments",
            {
                "originator_id": n.originator_id,
                "originator_version": n.originator_version,
                "topic": n.topic,
                "state": n.state,
                "notification_id": n.id,
            },
        )
        for n in stored
    ]


def chart_of(documents: dict[UUID, Versioned]) -> dict[str, object]:
    contributions = [
        {**v.document, "id": str(k), "version": v.version} for k, v in documents.items()
    ]
    return odontogram(PATIENT, contributions)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(step, max_size=12), st.randoms(use_true_random=False))
def test_any_sequence_of_chart_events_gives_the_same_odontogram_live_and_rebuilt(
    steps: list[tuple[str, int]], shuffler: random.Random
) -> None:
    app = Treatments(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, now=lambda: START + timedelta(days=1)
    )
    app.refer_with(ClinicFacts(staff={UUID(META.actor_id): frozenset({"dentist"})}))
    run(app, steps)
    log = [e for e in envelopes(app) if e.aggregate_type != "RequestClaim"]
    projection = TreatmentChart()

    rebuilt: dict[UUID, Versioned] = {}
    for envelope in log:
        folded = fold(projection, rebuilt.get(envelope.aggregate_id), [envelope])
        if folded is not None:
            rebuilt[envelope.aggregate_id] = folded

    # Live: each aggregate's events in order, aggregates interleaved at random, with repeats.
    order = dict.fromkeys(e.aggregate_id for e in log)
    queues = {a: [e for e in log if e.aggregate_id == a] for a in order}
    delivered: list[Envelope] = []
    while any(queues.values()):
        aggregate = shuffler.choice([a for a, q in queues.items() if q])
        delivered.append(queues[aggregate].pop(0))
        if shuffler.random() < 0.3:
            delivered.append(shuffler.choice(delivered))
    live: dict[UUID, Versioned] = {}
    for envelope in delivered:
        folded = fold(projection, live.get(envelope.aggregate_id), [envelope])
        if folded is not None:
            live[envelope.aggregate_id] = folded

    assert chart_of(live) == chart_of(rebuilt)
    app.close()


def test_a_filling_then_an_extraction_leaves_the_tooth_missing_and_an_implant_replaces_it(
    treatments: Treatments,
) -> None:
    run(treatments, [("caries", 36), ("fill", 36), ("extract", 36)])
    projection = TreatmentChart()
    documents: dict[UUID, Versioned] = {}
    for envelope in envelopes(treatments):
        if envelope.aggregate_type == "RequestClaim":
            continue
        folded = fold(projection, documents.get(envelope.aggregate_id), [envelope])
        assert folded is not None
        documents[envelope.aggregate_id] = folded
    tooth = chart_of(documents)["teeth"]["36"]  # type: ignore[index]
    assert tooth["conditions"] == ["missing"]
    assert tooth["surfaces"] == {}
