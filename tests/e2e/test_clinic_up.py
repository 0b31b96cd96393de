"""`clinic up` serves the whole platform in one process and stops on SIGTERM without losing work."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import yaml

from clinic.platform import Platform
from infra.settings import Settings
from tests.chaos.harness import ClinicUp
from tests.conftest import SignIn, eventually, running
from tests.e2e.test_patients_api import PATIENT
from tests.integration.helpers import caught_up, three_event_history
from tests.integration.test_relay_crash import CLINIC, clinic_env, write_history

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
# Series Prometheus makes itself, or that every exporter has; not the platform's to export.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "ALERTS", "ALERTS_FOR_STATE"}


def metrics_read_by_operations() -> set[str]:
    """Every metric name an alert rule's expression or a dashboard's query reads."""
    texts = [rule["expr"] for rule in _rules()]
    for dashboard in sorted((MONITORING / "grafana" / "dashboards").glob("*.json")):
        texts += [t["expr"] for t in _targets(json.loads(dashboard.read_text()))]
    assert texts, f"no alert rules or dashboards under {MONITORING}"
    names = {m for text in texts for m in re.findall(r"\b(sonrisa_[a-z0-9_]+)", text)}
    return names | {n for text in texts for n in PROMETHEUS_OWN if re.search(rf"\b{n}\b", text)}


def _rules() -> list[dict[str, str]]:
    rules = []
    for path in sorted((MONITORING / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += group["rules"]
    return rules


def _targets(panel: dict[str, Any]) -> list[dict[str, str]]:
    found = [t for t in panel.get("targets", []) if "expr" in t]
    for inner in panel.get("panels", []):
        found += _targets(inner)
    return found


def exported(page: str) -> set[str]:
    """The names a metrics page answers for: each family (its HELP and TYPE), each sample,
    and a histogram's or a counter's series (_bucket, _count, _sum, _total)."""
    names = set(PROMETHEUS_OWN)
    for line in page.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            if kind == "histogram":
                names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
            if kind == "counter" and not name.endswith("_total"):
                names.add(f"{name}_total")
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


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


async def test_a_restart_serves_at_once_rebuilds_in_the_background_and_then_resumes(
    platform: Platform, settings: Settings, sign_in: SignIn, tmp_path: Path
) -> None:
    """With history in the store and an empty document store, `clinic up` serves at once;
    the chart answers 503 until its background rebuild is whole. Restarted, it resumes from
    the documents it kept: no rebuild, and ready at once."""
    patient = await asyncio.to_thread(three_event_history, platform, 0)
    await asyncio.to_thread(write_history, platform, 600)  # 1,800 more events to fold
    up = ClinicUp(settings, tmp_path)
    headers = await sign_in("dentist")
    seen: set[tuple[int, str]] = set()
    up.start()
    try:
        async with httpx.AsyncClient(base_url=up.base, headers=headers, timeout=10) as http:
            await eventually(lambda: _serving(http), within=60, what="the API to serve")
            while True:
                ready = await http.get("/readyz")
                chart = await http.get(f"/api/patients/{patient}")
                seen.add((chart.status_code, chart.json().get("type", "")))
                if ready.status_code == 200:
                    break
                assert ready.json()["checks"]["read model patient_chart"] == "rebuilding"
                await asyncio.sleep(0.05)
            assert (await http.get(f"/api/patients/{patient}")).status_code == 200
        up.stop()
        assert (503, "https://sonrisa.dev/problems/read-model-rebuilding") in seen

        up.start()
        async with httpx.AsyncClient(base_url=up.base, headers=headers, timeout=10) as http:
            await eventually(lambda: _serving(http), within=60, what="the API to serve again")
            assert (await http.get("/readyz")).status_code == 200
            assert (await http.get(f"/api/patients/{patient}")).status_code == 200
    finally:
        up.stop()
    # Rebuilt once, on the first start, each read model that the stores' events feed (the
    # patients', and the signed-in dentist's account in identity's); never again.
    written = {"patients", "identity"}
    fed = [p for p in platform.projectors.values() if written & set(p.projection.contexts)]
    assert up.log.read_text().count('"rebuilt read model"') == len(fed)


async def _serving(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/healthz")).status_code == 200
    except httpx.TransportError:
        return False


async def test_clinic_up_runs_each_part_as_a_process_with_one_log_and_one_metrics_page(
    platform: Platform, settings: Settings, sign_in: SignIn, tmp_path: Path
) -> None:
    """The API, the relay, the projectors and the reminder worker are processes of their
    own (two API processes sharing the port, the read models split between two projector
    processes): their logs come as one stream naming each, one metrics page counts every
    process's work and names every metric the alerts and dashboards read (deploy/monitoring),
    and SIGTERM stops every one of them."""
    up = ClinicUp(settings, tmp_path)
    metrics_port = free_port()
    up.env.update(
        CLINIC_METRICS_PORT=str(metrics_port),
        CLINIC_API_PROCESSES="2",
        CLINIC_PROJECTOR_PROCESSES="2",
    )
    up.start()
    try:
        await up.ready()
        children = up.children()
        assert set(children) == {"api-1", "api-2", "relay", "projector-1", "projector-2"} | {
            "reminders",
            "inventory",
            "audit",
        }
        headers = await sign_in("receptionist")
        for _ in range(6):  # a new connection each: the kernel spreads them
            async with httpx.AsyncClient(base_url=up.base, headers=headers, timeout=30) as http:
                written = await http.post("/api/patients", json=PATIENT)
            assert written.status_code == 201
        directory = settings.queue_name("patient_directory")
        projected = f'sonrisa_consumer_messages_total{{consumer="{directory}"'
        page = ""

        async def scraped() -> bool:
            nonlocal page
            async with httpx.AsyncClient(timeout=10) as http:
                page = (await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
            return projected in page

        await eventually(scraped, within=60, what="the projector's count on the metrics page")
        assert 'sonrisa_http_request_seconds_count{method="POST",route="/api/patients"' in page
        assert 'sonrisa_relay_published_total{context="patients"}' in page
        read = metrics_read_by_operations()
        assert len(read) > 20, "the alert rules and dashboards name the platform's metrics"
        assert read - exported(page) == set(), "alerts or dashboards read metrics nobody exports"
    finally:
        up.stop()
    assert up.process is not None
    assert up.process.returncode == 0
    alive = [pid for pid in children.values() if os.path.exists(f"/proc/{pid}")]  # noqa: ASYNC240
    assert alive == [], "a process of clinic up outlived its SIGTERM"
    log = up.log.read_text()
    for name in children:
        assert f'"process": "{name}"' in log, f"no log entry names {name}"
