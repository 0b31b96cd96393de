"""One event a read model cannot apply never freezes it: that aggregate is parked, marked
stuck, shown and counted, everything else keeps flowing, and a retry frees it once fixed.
Events stored before hostile text was refused still project and rebuild."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from prometheus_client import REGISTRY

from clinic.platform import Platform
from commands.patients import Patients, RaiseAlert
from commands.scheduling import Scheduling
from domain.patients import Patient
from domain.scheduling.reference import ClinicSetup
from infra.eventstore import Envelope
from projections.base import Document, Projection
from tests.conftest import eventually, running
from tests.integration.helpers import (
    META,
    caught_up,
    dead_letters,
    read_models,
    registration,
    three_event_history,
)
from tests.integration.test_relay_crash import CLINIC, clinic_env


def _stuck_gauge(projection: str) -> float:
    value = REGISTRY.get_sample_value(
        "sonrisa_projection_stuck_aggregates", {"projection": projection}
    )
    return value or 0.0


def _parked(projection: str) -> float:
    value = REGISTRY.get_sample_value(
        "sonrisa_projection_parked_events_total", {"projection": projection}
    )
    return value or 0.0


@pytest.fixture
def defect(platform: Platform) -> Iterator[Callable[[UUID], None]]:
    """A projection bug that bites one patient's record: `evolve` raises on its events until
    the bug is 'fixed' (the fixture's end puts the real `evolve` back)."""
    projection: Projection = platform.projectors["patient_directory"].projection
    original = projection.evolve
    broken: set[UUID] = set()

    def evolve(document: Document | None, envelope: Envelope) -> Document:
        if envelope.aggregate_id in broken and envelope.version >= 2:
            raise KeyError("a field this version of the projection did not expect")
        return original(document, envelope)

    projection.evolve = evolve  # type: ignore[method-assign]
    try:
        yield broken.add
    finally:
        projection.__dict__.pop("evolve", None)


async def _version(platform: Platform, name: str, aggregate_id: UUID) -> int:
    return await platform.projectors[name].store.version_of(aggregate_id)


async def test_an_event_that_cannot_be_applied_parks_its_aggregate_and_the_rest_flows(
    platform: Platform, pipeline: None, defect: Callable[[UUID], None]
) -> None:
    directory = platform.projectors["patient_directory"]
    parked_before = _parked("patient_directory")
    victim = await asyncio.to_thread(platform.application(Patients).register, registration(1), META)
    defect(victim.id)
    await eventually(lambda: _at(platform, victim.id, 1), what="the victim's registration")

    await asyncio.to_thread(three_event_history, platform, 2)  # others keep flowing
    for code in ("latex", "penicillin", "iodine"):
        await asyncio.to_thread(
            platform.application(Patients).raise_alert,
            victim.id,
            RaiseAlert(code=code, description="alergia"),
            META,
            None,
        )
    bystander = await asyncio.to_thread(
        platform.application(Patients).register, registration(3), META
    )

    await eventually(lambda: _at(platform, bystander.id, 1), what="later patients to flow")
    await eventually(lambda: _stuck(platform, victim.id), what="the victim to be marked stuck")
    mark = (await directory.store.stuck())[victim.id]
    assert (mark.version, mark.event_type) == (2, "AlertRaised")
    assert "did not expect" in mark.error
    assert await _version(platform, "patient_directory", victim.id) == 1

    # Other read models flow: the chart (its own consumer, at its own pace) takes all four.
    async def charted() -> bool:
        return await _version(platform, "patient_chart", victim.id) == 4

    await eventually(charted, what="the victim's chart to take every event")
    assert await dead_letters(platform, "patient_directory") == []
    await eventually(
        lambda: _true(_parked("patient_directory") >= parked_before + 3),
        what="the parked events to be counted",
    )
    assert _stuck_gauge("patient_directory") == 1


async def test_a_retry_after_the_fix_frees_the_aggregate_and_catches_it_up(
    platform: Platform, pipeline: None, defect: Callable[[UUID], None]
) -> None:
    victim = await asyncio.to_thread(three_event_history, platform, 4)
    defect(victim)
    await asyncio.to_thread(platform.application(Patients).register, registration(5), META)
    projection = platform.projectors["patient_directory"]

    await eventually(lambda: caught_up(platform), what="the pipeline to settle")
    # The victim's events had all arrived before the defect: redeliver them as a rebuild does.
    await projection.rebuild()
    assert victim in await projection.store.stuck()
    assert await _version(platform, "patient_directory", victim) == 1

    still = await projection.retry()
    assert victim in still  # not fixed yet: still stuck, with the error refreshed

    del projection.projection.evolve  # the fix ships
    assert await projection.retry() == {}

    assert await projection.store.stuck() == {}
    assert await _version(platform, "patient_directory", victim) == 3
    assert _stuck_gauge("patient_directory") == 0
    live = (await read_models(platform))["patient_directory"]
    await projection.rebuild()
    assert (await read_models(platform))["patient_directory"] == live


async def test_the_cli_shows_stuck_aggregates_and_retries_them(
    platform: Platform, defect: Callable[[UUID], None]
) -> None:
    victim = await asyncio.to_thread(three_event_history, platform, 6)
    defect(victim)
    await platform.projectors["patient_directory"].rebuild()

    status = await _cli(CLINIC, clinic_env(platform.settings), "projections", "status")
    assert str(victim) in status.stdout
    assert "AlertRaised" in status.stdout
    retried = await _cli(
        CLINIC, clinic_env(platform.settings), "projections", "retry", "patient_directory"
    )
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "1 of 1 freed" in retried.stdout
    assert await platform.projectors["patient_directory"].store.stuck() == {}


async def test_events_stored_with_a_nul_before_the_rule_still_project_and_rebuild(
    platform: Platform,
) -> None:
    """Hostile text that reached the store before the API refused it: the read models show
    U+FFFD in its place instead of freezing, live and rebuilt alike."""
    old = Patient(
        given_name="Ana\u0000",
        family_name="Pérez\u0000López",
        birth_date=date(1980, 1, 1),
        sex="female",
        national_id=None,
        phone=None,
        email=None,
        address={"line1": "Calle\u0000 Mayor", "city": "Madrid", "postal_code": "28013"},
        language="es",
        consents={"sms": False, "email": False, "whatsapp": False},
        meta=META,
    )
    await asyncio.to_thread(platform.application(Patients).save, old)
    clinic = ClinicSetup.start(META)
    clinic._operatory_added(operatory_id=old.id, name="Gabinete\u00001", meta=META)
    await asyncio.to_thread(platform.application(Scheduling).save, clinic)

    parts = (platform.relay().run, *(platform.consumer(n).run for n in platform.projectors))
    async with running(*parts):
        await eventually(lambda: caught_up(platform), what="every read model to catch up")
    live = await read_models(platform)
    directory = live["patient_directory"][old.id].document
    assert directory["given_name"] == "Ana\ufffd"
    setup = next(iter(live["clinic_setup"].values())).document
    assert setup["operatories"][0]["name"] == "Gabinete\ufffd1"
    for projector in platform.projectors.values():
        assert await projector.store.stuck() == {}
        await projector.rebuild()
    assert await read_models(platform) == live


async def _at(platform: Platform, patient_id: UUID, version: int) -> bool:
    return await _version(platform, "patient_directory", patient_id) >= version


async def _stuck(platform: Platform, aggregate_id: UUID) -> bool:
    return aggregate_id in await platform.projectors["patient_directory"].store.stuck()


async def _true(value: bool) -> bool:
    return value


async def _cli(clinic: Any, env: dict[str, str], *args: str) -> Any:
    return await asyncio.to_thread(
        subprocess.run,
        [str(clinic), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
