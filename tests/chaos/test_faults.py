"""Faults while writes flow: no acknowledged write is lost, no committed write is answered
as failed, nothing is written twice, the read models equal a rebuild and nothing is stuck.

Each test drives about 40 registrations a second through a real `clinic up` (API, relay,
projectors and the embedded Mongo server) while one fault strikes, then prints how long
the platform took to acknowledge writes again. `make chaos` runs them longer
(`CHAOS_SECONDS`); `make test` runs them short.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pymongo.errors
import pytest

from bus.relay import RELAY_LOCK_KEY
from clinic.platform import Platform, store_for
from infra.eventstore import event_id_for
from infra.mongo import connect
from infra.settings import Settings
from projections.base import DocumentStore
from tests.chaos.harness import SECONDS, ClinicUp, Verdict, Writer, during_writes, judge
from tests.conftest import SignIn, eventually
from tests.integration.helpers import (
    dead_letters,
    envelopes_of,
    publish,
    read_models,
)
from tests.integration.test_event_pipeline import _connections, _drop_connections
from tests.integration.test_relay_crash import start_relay

Fault = Callable[[], Awaitable[None]]


@pytest.fixture
async def clinic_up(
    platform: Platform, settings: Settings, tmp_path: Path
) -> AsyncIterator[ClinicUp]:
    up = ClinicUp(settings, tmp_path)
    up.start()
    try:
        await up.ready()
        yield up
    finally:
        up.stop()


@pytest.fixture
async def writer(clinic_up: ClinicUp, sign_in: SignIn) -> Writer:
    return Writer(clinic_up.base, await sign_in("receptionist"), uuid4().hex[:8])


async def _settled(platform: Platform, clinic_up: ClinicUp, writer: Writer) -> Verdict:
    """Let `clinic up` catch up, judge by the event store, then compare each of its read
    models with a rebuild from the event store."""
    mongo = connect(clinic_up.mongo_url)
    stores = {
        name: store_for(p.projection, platform.pool, mongo[platform.settings.mongo_database])
        for name, p in platform.projectors.items()
    }
    try:
        await eventually(
            lambda: _caught_up(platform, stores), within=120, what="clinic up's read models"
        )
        live = {name: await store.dump() for name, store in stores.items()}
        for name, store in stores.items():
            assert await store.stuck() == {}, f"{name} has stuck aggregates"
    finally:
        await mongo.close()
    clinic_up.stop()
    verdict = await judge(platform, writer)
    assert verdict.acknowledged > 0, "no write was acknowledged at all"
    assert verdict.lost == [], "acknowledged writes are missing from the event store"
    assert verdict.answered_as_failed_but_committed == [], "committed writes answered as failed"
    assert verdict.duplicated == [], "a retried write was written twice"
    for projector in platform.projectors.values():
        await projector.rebuild()
    rebuilt = await read_models(platform)
    for name in stores:
        assert rebuilt[name] == live[name], f"{name} differs from its rebuild"
    return verdict


async def _caught_up(platform: Platform, stores: dict[str, DocumentStore]) -> bool:
    heads = await platform.reader.heads()
    for name, store in stores.items():
        try:
            positions = await store.status()
        except pymongo.errors.ConnectionFailure:
            return False  # the embedded server is still coming back
        for context in platform.projectors[name].projection.contexts:
            if positions.get(context, 0) < heads[context]:
                return False
    return True


def _report(fault: str, writer: Writer, verdict: Verdict, recovery: float) -> None:
    print(
        f"\nchaos: {fault}: {verdict.acknowledged} writes acknowledged, "
        f"{len(writer.tally.failed)} answered as failed, {writer.tally.unanswered} unanswered "
        f"attempts retried, 0 lost, 0 duplicated; recovered in {recovery:.2f} s"
    )


async def test_sigkill_of_clinic_up_and_a_restart(
    platform: Platform, clinic_up: ClinicUp, writer: Writer
) -> None:
    """Its processes end with it (none is left holding the relay's lock or a queue), and
    the restarted platform takes over."""

    async def fault() -> None:
        children = clinic_up.children()
        assert len(children) == 6
        clinic_up.kill()
        writer.mark("restart")

        async def all_ended() -> bool:
            return not any(os.path.exists(f"/proc/{pid}") for pid in children.values())  # noqa: ASYNC240

        await eventually(all_ended, within=30, what="the killed platform's processes to end")
        clinic_up.start()
        await clinic_up.ready()

    await during_writes(writer, fault)
    verdict = await _settled(platform, clinic_up, writer)
    _report("SIGKILL clinic up, restart", writer, verdict, writer.recovery("restart"))


async def test_each_process_of_clinic_up_sigkilled_in_turn(
    platform: Platform, clinic_up: ClinicUp, writer: Writer
) -> None:
    """The API, the relay, the projectors and each worker run as processes of their own;
    each is killed in turn while writes flow and started again by `clinic up`."""
    started = clinic_up.children()
    assert set(started) == {"api-1", "relay", "projector-1", "reminders", "inventory", "audit"}

    async def fault() -> None:
        for name, pid in started.items():
            os.kill(pid, signal.SIGKILL)

            async def started_again(name: str = name, pid: int = pid) -> bool:
                return clinic_up.children().get(name, pid) != pid

            await eventually(started_again, within=60, what=f"{name} started again")
        writer.mark("restart")
        await clinic_up.ready()

    await during_writes(writer, fault)
    verdict = await _settled(platform, clinic_up, writer)
    _report("SIGKILL each process in turn", writer, verdict, writer.recovery("restart"))


async def test_the_apps_postgresql_connections_are_terminated(
    platform: Platform, clinic_up: ClinicUp, writer: Writer
) -> None:
    async def fault() -> None:
        writer.mark("terminated")
        for _ in range(3):  # again, as pools reconnect
            await platform.pool.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await asyncio.sleep(0.3)

    await during_writes(writer, fault)
    verdict = await _settled(platform, clinic_up, writer)
    _report("PostgreSQL connections terminated", writer, verdict, writer.recovery("terminated"))


async def test_the_brokers_connections_are_closed(
    platform: Platform, settings: Settings, clinic_up: ClinicUp, writer: Writer
) -> None:
    ours = (settings.exchange, settings.queue_prefix)

    async def fault() -> None:
        assert await asyncio.to_thread(_drop_connections, *ours) > 0
        writer.mark("dropped")

    await during_writes(writer, fault)
    await eventually(
        lambda: _true(len(_connections(*ours)) >= 1 + len(platform.projectors)),
        what="every part to reconnect",
    )
    verdict = await _settled(platform, clinic_up, writer)
    _report("RabbitMQ connections closed", writer, verdict, writer.recovery("dropped"))


async def test_the_embedded_mongo_server_is_killed(
    platform: Platform, clinic_up: ClinicUp, writer: Writer
) -> None:
    seen: list[int] = []
    patient = str(uuid4())

    async def keep_down(seconds: float) -> None:
        """Kill it, and each new one the supervisor starts, for longer than a read waits
        for a server (2 s): on a quiet machine one restart is quicker than that."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for pid in clinic_up.mongo_pids():
                os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.05)

    async def fault() -> None:
        os.kill(clinic_up.mongo_pid(), signal.SIGKILL)
        writer.mark("killed")
        down = asyncio.create_task(keep_down(4.0))
        async with httpx.AsyncClient(base_url=clinic_up.base, headers=writer.headers) as http:
            # /readyz answers from the last probe, not by waiting for the dead server: it
            # answers (within the client's timeout), and names every dependency.
            ready = await http.get("/readyz", timeout=5)
            assert set(ready.json()["checks"]) >= {"postgresql", "rabbitmq", "mongo"}
            while not down.done():
                read = await http.get(f"/api/patients/{patient}", timeout=10)
                seen.append(read.status_code)
                if read.status_code == 503:
                    assert read.headers["Retry-After"]
                    assert read.headers["content-type"] == "application/problem+json"
                await asyncio.sleep(0.1)
        await down
        await clinic_up.ready(within=60)

    await during_writes(writer, fault)
    assert 500 not in seen, "a chart read answered 500 while Mongo was down"
    assert 503 in seen, "no chart read noticed that Mongo was down"
    verdict = await _settled(platform, clinic_up, writer)
    _report("embedded Mongo server killed", writer, verdict, writer.recovery("killed"))


async def test_the_embedded_mongo_data_file_is_truncated(
    platform: Platform, clinic_up: ClinicUp, writer: Writer, tmp_path: Path
) -> None:
    """A corrupt document store is an outage: the projectors hold their messages (the
    messages are fine), /readyz names the fault, and once the operator has replaced the
    damaged file and restarted, the read models are rebuilt whole."""
    data = tmp_path / "mongo.sqlite3"
    named_after: list[float] = []

    async def fault() -> None:
        # The disk keeps the file's first page and loses the rest, and the server dies with
        # it: the one that comes back cannot open the damaged file. (A server still holding
        # pages in memory notices only when writes reach the lost ones, which made this
        # test's outcome depend on the machine's load.)
        with data.open("r+b") as file:
            file.truncate(4096)
        os.kill(clinic_up.mongo_pid(), signal.SIGKILL)
        writer.mark("truncated")
        truncated = time.monotonic()
        async with httpx.AsyncClient(base_url=clinic_up.base) as http:

            async def named() -> bool:
                # The server cannot open the damaged file (its log says "malformed" at each
                # try), so /readyz says Mongo is not there, and the API is not ready.
                ready = await http.get("/readyz", timeout=10)
                mongo = ready.json()["checks"]["mongo"]
                return ready.status_code == 503 and mongo.startswith(("store fault", "unreachable"))

            await eventually(named, within=60, what="/readyz to name the corrupt store")
            named_after.append(time.monotonic() - truncated)

            async def holding() -> bool:
                # The projector processes' consumers, seen from the API's /readyz.
                checks = (await http.get("/readyz", timeout=10)).json()["checks"]
                return any(
                    k.startswith("consumer ") and v.startswith("store fault")
                    for k, v in checks.items()
                )

            await eventually(holding, within=60, what="/readyz to name the waiting consumers")
        await asyncio.sleep(SECONDS)  # writes flow on; the projectors hold theirs
        clinic_up.stop()
        await asyncio.to_thread(_remove, tmp_path, "mongo.sqlite3*")
        clinic_up.start()
        await clinic_up.ready(within=120)

    await during_writes(writer, fault)
    letters = {name: await dead_letters(platform, name) for name in platform.projectors}
    assert {name: len(found) for name, found in letters.items() if found} == {}, (
        "valid events were dead-lettered for a fault of the store"
    )
    verdict = await _settled(platform, clinic_up, writer)
    print(f"\nchaos: /readyz named the corrupt store {named_after[0]:.2f} s after truncation")
    _report("embedded Mongo data file truncated", writer, verdict, writer.recovery("truncated"))


def _remove(folder: Path, pattern: str) -> None:
    for path in folder.glob(pattern):
        path.unlink()


async def test_poison_and_gap_messages_are_dead_lettered_and_the_rest_flows(
    platform: Platform, clinic_up: ClinicUp, writer: Writer
) -> None:
    async def fault() -> None:
        async def one_acknowledged() -> bool:
            return bool(writer.tally.acknowledged)

        await eventually(one_acknowledged, within=60, what="a first acknowledged write")
        acknowledged = next(iter(writer.tally.acknowledged.values()))
        (registered,) = await envelopes_of(platform, UUID(acknowledged))
        gap = registered.model_copy(
            update={"version": 7, "event_id": event_id_for(registered.aggregate_id, 7)}
        )
        await publish(platform, [gap], raw=[b"\x00not an envelope"])
        writer.mark("poisoned")

    await during_writes(writer, fault)
    verdict = await _settled(platform, clinic_up, writer)
    letters = {name: await dead_letters(platform, name) for name in platform.projectors}
    for name, projection in platform.projectors.items():
        reads_patients = "patients" in projection.projection.contexts
        expected = ["GapNotHealed", "ValidationError"] if reads_patients else []
        assert sorted(str(m.headers["x-error-type"]) for m in letters[name]) == expected, name
    _report("poison and gap messages", writer, verdict, writer.recovery("poisoned"))


async def test_two_relays_and_the_leader_is_killed(
    platform: Platform, settings: Settings, tmp_path: Path, sign_in: SignIn
) -> None:
    leader = start_relay(settings)
    await eventually(lambda: _relay_lock_held(platform), what="the first relay to lead")
    up = ClinicUp(settings, tmp_path)  # its own relay stands by
    up.start()
    try:
        await up.ready()
        writer = Writer(up.base, await sign_in("receptionist"), uuid4().hex[:8])

        async def fault() -> None:
            leader.kill()
            leader.wait()
            writer.mark("leader killed")

        await during_writes(writer, fault)
        killed = writer.marked_at("leader killed")
        await eventually(
            lambda: _relayed(platform), within=60, what="the standing-by relay to take over"
        )
        recovery = time.monotonic() - killed
        verdict = await _settled(platform, up, writer)
    finally:
        up.stop()
        if leader.poll() is None:
            leader.kill()
    _report("two relays, the leader killed", writer, verdict, recovery)


async def _relayed(platform: Platform) -> bool:
    """Every patient event is past the relay (it publishes nothing else in this test)."""
    position = await platform.pool.fetchval(
        "SELECT notification_id FROM bus_relay_position WHERE context = 'patients'"
    )
    return int(position or 0) >= await platform.reader.max_notification_id("patients")


async def _relay_lock_held(platform: Platform) -> bool:
    held = await platform.pool.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = $1 AND objid = $2 AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        RELAY_LOCK_KEY >> 32,
        RELAY_LOCK_KEY & 0xFFFFFFFF,
    )
    return bool(held)


async def _true(value: bool) -> bool:
    return value
