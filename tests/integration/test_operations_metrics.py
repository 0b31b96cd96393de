"""What an operator's alerts read (deploy/monitoring/rules/sonrisa.yml): how far the relay
and each read model are behind the event store, how many sign-ins were refused and why, and
whether the access log's chain still holds, as the audit worker last found it."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY

from clinic.platform import Platform
from projections.base import ProjectionLag
from security.access_log import AccessLogCheck
from tests.conftest import eventually, running
from tests.e2e.test_keys import _access
from tests.integration.helpers import registered_patient


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_relay_says_how_many_events_it_has_not_yet_published(
    platform: Platform,
) -> None:
    for n in range(3):
        registered_patient(platform, n)
    written = (await platform.reader.heads())["patients"]
    relay = platform.relay()

    assert (await relay.report_lag())["patients"] == written > 0
    assert _sample("sonrisa_relay_lag_events", context="patients") == written

    async with running(relay.run):

        async def published() -> bool:
            return (await relay.report_lag())["patients"] == 0

        await eventually(published, what="the relay to publish every patient event")
    assert _sample("sonrisa_relay_lag_events", context="patients") == 0


async def test_a_read_model_says_how_many_events_it_has_not_yet_applied(
    platform: Platform,
) -> None:
    directory = platform.projectors["patient_directory"]
    lag = ProjectionLag([directory], platform.reader)
    registered_patient(platform)
    heads = await platform.reader.heads()
    behind = sum(heads[c] for c in directory.projection.contexts)

    assert (await lag.measure_once()) == {"patient_directory": behind}
    assert behind > 0
    assert _sample("sonrisa_projection_lag_events", projection="patient_directory") == behind

    async with running(platform.relay().run, platform.consumer("patient_directory").run):

        async def applied() -> bool:
            return (await lag.measure_once())["patient_directory"] == 0

        await eventually(applied, what="the directory to apply the registration")
    assert _sample("sonrisa_projection_lag_events", projection="patient_directory") == 0


async def test_the_audit_worker_reports_an_intact_access_log_and_then_a_changed_entry(
    platform: Platform,
) -> None:
    for n in range(3):
        await platform.access_log.append(_access(n))
    check = AccessLogCheck(platform.access_log, seconds=3600)
    failures = _sample("sonrisa_access_log_verification_failures_total")

    assert await check.check_once() is None
    assert _sample("sonrisa_access_log_verified_entries") == 3
    verified_at = _sample("sonrisa_access_log_last_verified_timestamp_seconds")
    assert verified_at > 0

    # Someone with the database's password makes a read look like an admin's.
    await platform.pool.execute("UPDATE patient_access_log SET actor_role = 'admin' WHERE seq = 2")
    broken = await check.check_once()

    assert broken is not None
    assert broken.seq == 2
    assert _sample("sonrisa_access_log_verification_failures_total") == failures + 1
    # The last good walk stays the last good walk: "not verified for two hours" then fires too.
    assert _sample("sonrisa_access_log_last_verified_timestamp_seconds") == verified_at


async def test_refused_sign_ins_are_counted_by_what_was_wrong(
    anonymous: httpx.AsyncClient,
) -> None:
    before = _sample("sonrisa_sign_in_failures_total", reason="credentials")
    answer = await anonymous.post(
        "/api/auth/login", json={"email": "nobody@clinic.example", "password": "wrong" * 4}
    )
    assert answer.status_code == 401
    assert _sample("sonrisa_sign_in_failures_total", reason="credentials") == before + 1
