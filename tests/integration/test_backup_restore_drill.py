"""The backup drill of deploy/RUNBOOK.md, automated: the clinic's database dumped with
`pg_dump -Fc`, restored with `pg_restore` into a new database, every read model rebuilt there
from the restored event store (the Mongo ones are not in the dump at all), and the result
compared with the original: the same events, the same read models, and an access log whose
chain still verifies."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from clinic.platform import Platform
from commands.treatments import RecordTreatment, Treatments
from infra.db import drop_database
from infra.mongo import connect
from infra.settings import Settings
from tests.conftest import eventually, opened
from tests.e2e.test_keys import _access
from tests.integration.helpers import (
    caught_up,
    clinician,
    read_models,
    registered_patient,
    staff_account,
    three_event_history,
)


def _postgres_program(name: str) -> str:
    """The newest PostgreSQL's client program: pg_dump must be at least the server's age."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3])
    )
    assert found, f"{name} is missing: install postgresql-client"
    return str(found[-1])


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{argv[0]} failed: {done.stderr}"


async def test_a_dump_restored_into_a_new_database_rebuilds_every_read_model_as_it_was(
    platform: Platform, pipeline: None, settings: Settings, tmp_path: Path
) -> None:
    staff_account(platform, "dentist", name="Dra. Ruiz")
    for n in range(4):
        registered_patient(platform, n)
    patient = three_event_history(platform, 7)
    platform.application(Treatments).record(
        RecordTreatment(patient_id=patient, code="EXT-S", tooth=48), clinician(platform)
    )
    for n in range(3):
        await platform.access_log.append(_access(n))
    await eventually(lambda: caught_up(platform), what="every read model to catch up")
    original = await read_models(platform)
    heads = await platform.reader.heads()

    dump = tmp_path / "sonrisa.dump"
    dsn = settings.asyncpg_dsn()
    await asyncio.to_thread(_run, _postgres_program("pg_dump"), "-Fc", "-f", str(dump), dsn)
    restored_dsn = f"{dsn}_restored"
    name = restored_dsn.rsplit("/", 1)[1]
    await platform.pool.execute(f'CREATE DATABASE "{name}"')
    try:
        await asyncio.to_thread(
            _run, _postgres_program("pg_restore"), "--no-owner", "-d", restored_dsn, str(dump)
        )
        restored_settings = settings.model_copy(
            update={
                "database_url": f"{settings.database_url}_restored",
                "mongo_database": f"{settings.mongo_database}_restored",
                "exchange": f"{settings.exchange}.restored",
                "queue_prefix": f"{settings.queue_prefix}restored.",
            }
        )
        async with opened(restored_settings) as restored:
            assert await restored.reader.heads() == heads
            for projector in restored.projectors.values():
                await projector.rebuild()

            assert await read_models(restored) == original
            checked, broken = await restored.access_log.verify()
            assert (checked, broken) == (3, None)
    finally:
        await drop_database(restored_dsn)
        await _drop_mongo(settings, f"{settings.mongo_database}_restored")


async def _drop_mongo(settings: Settings, database: str) -> None:
    assert settings.mongo_url is not None, "the tests' Mongo wire server is started first"
    client = connect(settings.mongo_url)
    try:
        await client.drop_database(database)
    finally:
        await client.close()
