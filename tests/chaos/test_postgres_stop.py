"""PostgreSQL stopped under writes: every answer is delivered and tells the truth.

A real stop of a cluster the test starts itself (`pg_ctl stop -m fast`, the port closed),
not terminated connections. Registrations flow with and without an Idempotency-Key, signed
in, through a real `clinic up`. While the server is away each write is answered 503
problem+json with Retry-After (a write whose commit went unconfirmed says so with its own
type), never 500 and never a dropped connection; the access-log entries of those answers
wait on disk and reach the chain when the server is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from clinic.platform import Platform
from infra.settings import Settings
from security.sessions import Claims
from tests.chaos.harness import SECONDS, ClinicUp, Writer, judge, started
from tests.chaos.own_postgres import OwnPostgres
from tests.chaos.test_faults import _settled
from tests.conftest import eventually, opened
from tests.integration.helpers import staff_account


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    async with started(OwnPostgres()) as server:
        yield server


@pytest.fixture
async def stoppable(
    settings: Settings, own_postgres: OwnPostgres, tmp_path: Path
) -> AsyncIterator[Platform]:
    """A platform whose PostgreSQL is `own_postgres`; its broker names and Mongo database
    are its own too."""
    run = uuid4().hex[:8]
    own = settings.model_copy(
        update={
            "database_url": f"{own_postgres.url}/sonrisa_stop",
            "mongo_database": f"sonrisa_stop_{run}",
            "exchange": f"clinic.events.stop.{run}",
            "queue_prefix": f"stop.{run}.",
            "access_log_held_dir": tmp_path / "held",
        }
    )
    async with opened(own) as platform:
        yield platform
        await platform.mongo_client.drop_database(own.mongo_database)


async def _signed_in(platform: Platform, role: str) -> dict[str, str]:
    staff_id = await asyncio.to_thread(staff_account, platform, role)
    pair = await platform.tokens.start_session(Claims(staff_id, uuid4(), (role,), "Recepción"))
    return {"Authorization": f"Bearer {pair.access_token}"}


async def test_every_write_during_a_postgresql_stop_gets_a_delivered_truthful_answer(
    stoppable: Platform, own_postgres: OwnPostgres, tmp_path: Path
) -> None:
    platform = stoppable
    up = ClinicUp(platform.settings, tmp_path)
    up.start()
    try:
        await up.ready()
        headers = await _signed_in(platform, "receptionist")
        keyed = Writer(up.base, headers, uuid4().hex[:8], rate=15)
        plain = Writer(up.base, headers, uuid4().hex[:8], keyed=False, rate=15)
        writing = [asyncio.create_task(w.run_until_stopped()) for w in (keyed, plain)]
        await asyncio.sleep(SECONDS)
        await asyncio.to_thread(own_postgres.stop)
        # Longer than a session stays trusted without a look at PostgreSQL (2 s): the token
        # check itself meets the outage.
        await asyncio.sleep(max(SECONDS, 3.0))
        await asyncio.to_thread(own_postgres.start)
        await asyncio.sleep(SECONDS)
        for w in (keyed, plain):
            w.stop()
        await asyncio.gather(*writing)

        for name, w in (("keyed", keyed), ("unkeyed", plain)):
            tally = w.tally
            print(f"\n{name}: {len(tally.acknowledged)} acknowledged, 503s {tally.unavailable}")
            assert tally.unanswered == 0, f"{name}: answers were withheld (connection dropped)"
            assert tally.failed == {}, f"{name}: writes answered other than 201 or 503"
            assert tally.malformed_503 == 0, f"{name}: a 503 without problem+json, Retry-After"
            assert sum(tally.unavailable.values()) > 0, f"{name}: the outage was never met"

        # Every answer that passed the route's guard (all unkeyed ones but those refused for
        # load before anything was done) and every 201 has its entry in the chain once
        # PostgreSQL is back: those held on disk meanwhile too.
        expected = {c for c, kind in plain.tally.correlations.items() if kind != "overloaded"}
        expected |= {c for c, kind in keyed.tally.correlations.items() if kind == "201"}

        async def all_logged() -> bool:
            rows = await platform.pool.fetch(
                "SELECT correlation_id FROM patient_access_log WHERE correlation_id = ANY($1)",
                list(expected),
            )
            return {r["correlation_id"] for r in rows} >= expected

        await eventually(all_logged, within=30, what="every answer's access-log entry")
        held = await platform.pool.fetchval(
            "SELECT count(*) FROM patient_access_log WHERE details ? 'held_since'"
        )
        assert held > 0, "no entry waited on disk: the outage did not reach the access log"
        checked, broken = await platform.access_log.verify()
        assert broken is None, f"the access-log chain broke at {broken}"
        assert checked >= len(expected)

        # The event store is the judge: nothing acknowledged is missing, nothing answered
        # "not saved" was saved, and an unkeyed retry after "nothing was saved" wrote once.
        await _settled(platform, up, keyed)
        verdict = await judge(platform, plain)
        assert verdict.lost == []
        assert verdict.answered_as_failed_but_committed == []
        assert verdict.duplicated == [], "an unkeyed write answered 'nothing was saved' was saved"
    finally:
        up.stop()
