"""`clinic up` serves the whole platform in one process and stops on SIGTERM without losing work."""

from __future__ import annotations

import asyncio
import signal
import socket
from uuid import UUID

import httpx

from clinic.platform import Platform
from infra.settings import Settings
from tests.conftest import SignIn, eventually, running
from tests.e2e.test_patients_api import PATIENT
from tests.integration.helpers import caught_up
from tests.integration.test_relay_crash import CLINIC, clinic_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _ready(base: str) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{base}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_clinic_up_serves_projects_and_stops_cleanly_on_sigterm(
    platform: Platform, settings: Settings, sign_in: SignIn
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**clinic_env(settings), "CLINIC_PORT": str(port)}
    process = await asyncio.create_subprocess_exec(
        CLINIC, "up", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        await eventually(lambda: _ready(base), within=60, what="clinic up to be ready")
        headers = await sign_in("receptionist")
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as http:
            first = await http.post("/api/patients", json=PATIENT)
            token = first.headers["Sonrisa-Consistency-Token"]
            chart = await http.get(
                f"/api/patients/{first.json()['id']}", headers={"Sonrisa-Consistent-With": token}
            )
            assert chart.status_code == 200
            assert chart.headers["Sonrisa-Consistency"] == "consistent"

            burst = [
                asyncio.create_task(http.post("/api/patients", json=PATIENT)) for _ in range(40)
            ]
            await asyncio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            answers = await asyncio.gather(*burst, return_exceptions=True)
        exit_code = await asyncio.wait_for(process.wait(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
        assert process.stdout is not None
        output = (await process.stdout.read()).decode()

    assert exit_code == 0, output
    assert '"part stopped"' in output
    accepted = [UUID(first.json()["id"])] + [
        UUID(a.json()["id"])
        for a in answers
        if isinstance(a, httpx.Response) and a.status_code == 201
    ]
    stored = {
        r["originator_id"]
        for r in await platform.pool.fetch("SELECT originator_id FROM patients_events")
    }
    assert set(accepted) <= stored, "a patient answered with 201 is missing from the event store"

    relay = platform.relay().run
    async with running(relay, *(platform.consumer(n).run for n in platform.projectors)):
        await eventually(lambda: caught_up(platform), what="the restarted pipeline to catch up")
    assert {
        p
        for p in accepted
        if await platform.projectors["patient_directory"].store.version_of(p) == 1
    } == set(accepted)
