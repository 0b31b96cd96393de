"""`make bench-web` (and `make bench`): the web app's benchmarks, measured in Chromium.

    .venv/bin/python -m bench.web

(o) initial JavaScript, gzipped: the entry chunk and the chunks it preloads (target ≤ 200 KB);
(p) a week calendar with 300 appointments, from "next week" to painted and interactive,
    Performance API in Chromium: cold (fetching the day sheets) and warm (cached) (≤ 150 ms);
(q) from the last keystroke to the search results on demo data, p95 (≤ 150 ms).

It runs `clinic up` on a free port over a database of its own (`sonrisa_bench_web`,
recreated), bench-only exchange and queues (deleted at the end), fills it with
`clinic demo-data` and 300 appointments, then `frontend/bench/web.bench.mjs`. Benchmarks
are not tests: they print what they measured and never fail on a number.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from statistics import median, quantiles
from urllib.parse import urlsplit
from uuid import uuid4
from zoneinfo import ZoneInfo

import aio_pika
import asyncpg
import httpx
from rich.console import Console

from bench.harness import free_port
from bench.report import Row, table, value_at_most
from clinic.demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD
from clinic.registry import READ_MODELS
from domain.shared import DEFAULT_ZONE
from infra.keys import fresh_secrets
from infra.mongo import EmbeddedMongo
from infra.settings import PROJECT_ROOT, Settings

DATABASE = "sonrisa_bench_web"
CLINIC = Path(sys.executable).with_name("clinic")
WEB = PROJECT_ROOT / "frontend"
APPOINTMENTS = 300
CLINIC_ZONE = ZoneInfo(DEFAULT_ZONE)  # the demo clinic is set up in the default zone


def initial_javascript_kb(dist: Path) -> tuple[float, int]:
    """Gzipped size of the scripts index.html loads before anything else, and their count."""
    page = (dist / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<script[^>]+src="/([^"]+\.js)"', page)
    sources += re.findall(r'<link[^>]+rel="modulepreload"[^>]+href="/([^"]+\.js)"', page)
    total = sum(len(gzip.compress((dist / s).read_bytes(), compresslevel=9)) for s in sources)
    return total / 1024, len(sources)


def p95(values: list[float]) -> float:
    return quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def settings_for(run: str, mongo_url: str) -> Settings:
    url = urlsplit(Settings().database_url)
    return Settings(
        database_url=url._replace(path=f"/{DATABASE}").geturl(),
        mongo_url=mongo_url,
        exchange=f"clinic.events.benchweb.{run}",
        queue_prefix=f"benchweb.{run}.",
        mongo_database=f"sonrisa_bench_web_{run}",
        port=free_port(),
        log_level="WARNING",
        **fresh_secrets(),  # keys of its own: a fresh checkout has no .clinic-secrets
    )


async def recreate_database(settings: Settings) -> None:
    url = urlsplit(settings.asyncpg_dsn())
    conn = await asyncpg.connect(url._replace(path="/postgres").geturl())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()


async def delete_broker_objects(settings: Settings) -> None:
    connection = await aio_pika.connect(settings.rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        for model in READ_MODELS:
            await channel.queue_delete(settings.queue_name(model.name))
            await channel.queue_delete(f"{settings.queue_name(model.name)}.dlq")
        await channel.exchange_delete(settings.exchange)


def clinic(settings: Settings, *args: str) -> None:
    env = {**os.environ, **settings.environment()}
    subprocess.run([str(CLINIC), *args], env=env, check=True, capture_output=True, timeout=300)


async def until(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if await check():
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


async def fill_a_week(http: httpx.AsyncClient) -> tuple[str, str, str]:
    """300 fifteen-minute appointments for one provider in the week after the demo's,
    09:00-20:00 every day (an admin's override where the rules would refuse)."""
    providers = (await http.get("/api/providers")).json()["items"]
    provider = next(p for p in providers if p["name"] == "Dr. Javier Morales")["provider_id"]
    chair = (await http.get("/api/operatories")).json()["items"][1]["operatory_id"]
    patients = (await http.get("/api/patients", params={"limit": 200})).json()["items"]
    today = datetime.now(CLINIC_ZONE).date()
    monday = today + timedelta(days=14 - today.weekday())
    starts = [
        datetime.combine(monday + timedelta(days=d), datetime.min.time(), CLINIC_ZONE)
        + timedelta(hours=9, minutes=15 * n)
        for d in range(7)
        for n in range(44)
    ][:APPOINTMENTS]
    for n, start in enumerate(starts):
        answer = await http.post(
            "/api/appointments",
            json={
                "patient_id": patients[n % len(patients)]["patient_id"],
                "provider_id": provider,
                "operatory_id": chair,
                "start": start.isoformat(),
                "appointment_type": "check-up",
                "duration_minutes": 15,
                "override_reason": "benchmark: a full week",
            },
        )
        answer.raise_for_status()
    return monday.isoformat(), provider, chair


async def measure(console: Console) -> list[Row]:
    mongo = None
    mongo_url = os.environ.get("CLINIC_MONGO_URL")
    if not mongo_url:
        mongo = EmbeddedMongo(Settings().embedded_mongo_python, port=0)
        mongo_url = await asyncio.to_thread(mongo.start)
    try:
        return await _measure(console, settings_for(uuid4().hex[:8], mongo_url))
    finally:
        if mongo is not None:
            mongo.stop()


async def _measure(console: Console, settings: Settings) -> list[Row]:
    base = f"http://127.0.0.1:{settings.port}"
    await recreate_database(settings)
    with console.status("migrating and starting clinic up"):
        await asyncio.to_thread(clinic, settings, "migrate")
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below
        "wb", prefix="sonrisa-bench-web-", suffix=".log", delete=False
    )
    server = await asyncio.create_subprocess_exec(
        str(CLINIC),
        "up",
        env={**os.environ, **settings.environment()},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:

            async def ready() -> bool:
                return (await http.get("/readyz")).status_code == 200

            await until(ready, 90, "clinic up")
            with console.status("demo data and 300 appointments in one week"):
                await asyncio.to_thread(clinic, settings, "demo-data")
                login = await http.post(
                    "/api/auth/login", json={"email": DEMO_ADMIN_EMAIL, "password": DEMO_PASSWORD}
                )
                http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

                async def demo() -> bool:
                    found = (await http.get("/api/patients", params={"q": "nunez"})).json()
                    return len(found["items"]) == 1

                await until(demo, 60, "the demo data")
                monday, provider, chair = await fill_a_week(http)

                async def filled() -> bool:
                    week = (
                        await http.get(
                            "/api/appointments",
                            params={
                                "provider": provider,
                                "from": f"{monday}T00:00:00+00:00",
                                "limit": 500,
                            },
                        )
                    ).json()
                    return len(week["items"]) >= APPOINTMENTS

                await until(filled, 60, "the appointments to reach the read model")
            with console.status("(p) and (q) in Chromium"):
                node = await asyncio.create_subprocess_exec(
                    "node",
                    "bench/web.bench.mjs",
                    monday,
                    provider,
                    chair,
                    cwd=WEB,
                    env={**os.environ, "SONRISA_URL": base, "SONRISA_DEMO_PASSWORD": DEMO_PASSWORD},
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await node.communicate()
                if node.returncode != 0:
                    raise RuntimeError("the browser benchmark failed")
                found: dict[str, list[float]] = json.loads(out)
    except BaseException:
        console.print(f"[red]the web benchmark failed[/red]; the platform's log: {log.name}")
        raise
    else:
        os.unlink(log.name)
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(server.wait(), timeout=60)
        log.close()
        await delete_broker_objects(settings)
    kb, scripts = initial_javascript_kb(WEB / "dist")
    cold, warm, search = found["calendar_cold_ms"], found["calendar_warm_ms"], found["search_ms"]
    return [
        Row(
            "(o) initial JavaScript, gzipped",
            kb,
            unit=" KB",
            target="≤ 200 KB",
            met=value_at_most(200),
            detail=f"{scripts} script(s) index.html loads; routes load on demand",
        ),
        Row(
            "(p) week of 300 appointments, warm, median",
            median(warm),
            unit="ms",
            target="≤ 150 ms",
            met=value_at_most(150),
            detail=f"click → painted and interactive, day sheets cached; {len(warm)} runs, "
            f"max {max(warm):.0f} ms",
        ),
        Row(
            "(p) week of 300 appointments, cold, median",
            median(cold),
            unit="ms",
            detail=f"the same, fetching 7 day sheets and the free slots; max {max(cold):.0f} ms",
        ),
        Row(
            "(q) last keystroke → search results, p95",
            p95(search),
            unit="ms",
            target="≤ 150 ms",
            met=value_at_most(150),
            detail=f"{len(search)} searches of demo data, 40 ms between keys; "
            f"median {median(search):.0f} ms",
        ),
    ]


def main() -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    started = time.perf_counter()
    rows = asyncio.run(measure(console))
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    caption = (
        f"Chromium, {date.today().isoformat()}, {os.cpu_count()} CPUs, load average {load} "
        f"(other work on the machine slows every figure); {time.perf_counter() - started:.0f} s"
    )
    console.print(table(rows, "Sonrisa web app benchmarks", caption))


if __name__ == "__main__":
    main()
