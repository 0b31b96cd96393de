"""The clinic's web app in Debian's Chromium against the real platform.

`clinic up` serves the built app (`make web`) on a free port with this session's database
and queues; `clinic demo-data` fills it; then node's test runner runs `frontend/browser/`
(playwright-core). A failing browser test fails this test, with its screenshots' paths.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess

import httpx
import pytest

from clinic.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD
from clinic.platform import Platform
from clinic.web_client import CHECKED_IN
from infra.settings import PROJECT_ROOT, Settings
from tests.conftest import eventually
from tests.e2e.test_clinic_up import _ready, free_port
from tests.integration.test_relay_crash import CLINIC, clinic_env

WEB = CHECKED_IN.parents[2]
ARTIFACTS = PROJECT_ROOT / "test-results" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


async def _demo_clinic_is_readable(base: str) -> bool:
    """Demo data is written through commands; wait until the read models show it."""
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        login = await http.post(
            "/api/auth/login", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_PASSWORD}
        )
        if login.status_code != 200:
            return False
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        nunez = (await http.get("/api/patients", params={"q": "nunez"})).json()["items"]
        providers = (await http.get("/api/providers")).json()["items"]
        booked = (await http.get("/api/appointments", params={"limit": 1})).json()["items"]
        return len(nunez) == 1 and len(providers) == 3 and len(booked) == 1


def _demo_data(settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLINIC, "demo-data"],
        env=clinic_env(settings),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.timeout(1200)
async def test_the_web_app_passes_its_browser_tests_against_the_running_platform(
    platform: Platform, settings: Settings
) -> None:
    assert (settings.web_root / "index.html").is_file(), "build the web app first: `make web`"
    assert os.access(CHROMIUM, os.X_OK), "Chromium is missing: `make chromium` installs it"
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**clinic_env(settings), "CLINIC_PORT": str(port)}
    log = (ARTIFACTS / "clinic-up.log").open("wb")
    server = await asyncio.create_subprocess_exec(
        CLINIC, "up", env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        await eventually(lambda: _ready(base), within=90, what="clinic up to be ready")
        demo = await asyncio.to_thread(_demo_data, settings)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        await eventually(lambda: _demo_clinic_is_readable(base), within=60, what="the demo")
        browser_tests = await asyncio.create_subprocess_exec(
            "node",
            "--test",
            "--test-concurrency=1",
            "--test-reporter=spec",
            *sorted(str(p) for p in (WEB / "browser").glob("*.test.mjs")),
            cwd=WEB,
            env={
                **os.environ,
                "SONRISA_URL": base,
                "SONRISA_DEMO_PASSWORD": DEMO_PASSWORD,
                "SONRISA_ARTIFACTS": str(ARTIFACTS),
                "CHROMIUM": CHROMIUM,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(browser_tests.communicate(), timeout=1000)
        died = server.returncode
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(server.wait(), timeout=30)
            except TimeoutError:
                server.kill()
        log.close()
    report = out.decode(errors="replace")
    print(report)
    screenshots = sorted(str(p) for p in ARTIFACTS.glob("*.png"))
    platform_log = ARTIFACTS / "clinic-up.log"
    assert died is None, f"clinic up exited ({died}) during the browser tests; see {platform_log}"
    assert browser_tests.returncode == 0, (
        f"browser tests failed; screenshots: {screenshots}; the platform's log: {platform_log}"
        f"\n{report[-6000:]}"
    )
