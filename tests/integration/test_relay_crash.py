"""A relay killed mid-stream loses nothing: after a restart every event reaches the read models."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from clinic.platform import Platform
from clinic.registry import READ_MODELS
from infra.settings import Settings
from tests.conftest import eventually
from tests.integration.helpers import caught_up, read_models, three_event_history

PATIENTS = 1000  # three events each: a stream of 3000
CLINIC = str(Path(sys.executable).with_name("clinic"))


def clinic_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment of a `clinic` child process that joins this test session."""
    return {**os.environ, **settings.environment(), **overrides}


def start_relay(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [CLINIC, "relay"],
        env=clinic_env(settings, CLINIC_RELAY_BATCH_SIZE="100"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def write_history(platform: Platform, count: int) -> None:
    for n in range(count):
        three_event_history(platform, n)


async def test_a_relay_killed_with_sigkill_mid_stream_loses_no_event(
    platform: Platform, settings: Settings, projectors: None
) -> None:
    relay = start_relay(settings)
    writer = asyncio.create_task(asyncio.to_thread(write_history, platform, PATIENTS))
    try:
        await eventually(lambda: _relayed_past(platform, 600), within=120, what="relay progress")
        os.kill(relay.pid, signal.SIGKILL)
        relay.wait()
        killed_at = await _relay_position(platform)
        await writer
        head = await platform.reader.max_notification_id("patients")
        assert killed_at < head == PATIENTS * 3, "the relay was killed after the stream ended"

        relay = start_relay(settings)
        await eventually(lambda: caught_up(platform), within=180, what="every event projected")
    finally:
        relay.kill()
        relay.wait()
        await writer

    live = await read_models(platform)
    for documents in (live["patient_directory"], live["patient_chart"]):
        assert len(documents) == PATIENTS
        assert {d.version for d in documents.values()} == {3}
    for projector in platform.projectors.values():
        await projector.rebuild()
    assert await read_models(platform) == live


async def _relay_position(platform: Platform) -> int:
    value = await platform.pool.fetchval(
        "SELECT notification_id FROM bus_relay_position WHERE context = 'patients'"
    )
    return int(value or 0)


async def _relayed_past(platform: Platform, position: int) -> bool:
    return await _relay_position(platform) > position


async def test_projections_can_be_rebuilt_and_inspected_from_the_command_line(
    platform: Platform, settings: Settings, pipeline: None
) -> None:
    for n in range(10):
        await asyncio.to_thread(three_event_history, platform, n)
    await eventually(lambda: caught_up(platform), what="projections to catch up")
    live = await read_models(platform)

    rebuilt = await asyncio.to_thread(
        subprocess.run,
        [CLINIC, "projections", "rebuild", "patient_directory"],
        env=clinic_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "patient_directory rebuilt from 30 events" in rebuilt.stdout
    assert await read_models(platform) == live

    status = await asyncio.to_thread(
        subprocess.run,
        [CLINIC, "projections", "status"],
        env={**clinic_env(settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    rows = [line.replace("│", " ").split() for line in status.stdout.splitlines()]
    readers = {row[0]: row[1:] for row in rows if "patients" in row}
    caught_up_on_30 = ["patients", "30", "30", "0"]
    assert readers == {
        "relay": caught_up_on_30,
        **{p.name: caught_up_on_30 for p in READ_MODELS if p.contexts == ("patients",)},
    }
    assert {"patient_directory", "patient_chart", "scheduling_patients"} <= readers.keys()
