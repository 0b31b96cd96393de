"""`clinic demo-data` fills an empty system with a believable clinic, and only an empty one."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from clinic.demo import DEMO_PASSWORD, ClinicNotEmpty, create_demo_clinic
from clinic.platform import Platform
from commands.base import clinic_today
from commands.identity import Identity
from domain.patients import DNI_LETTERS
from domain.shared import DEFAULT_ZONE
from infra.settings import Settings
from projections.inventory import InventoryQueries
from tests.conftest import SignIn, eventually
from tests.integration.helpers import caught_up
from tests.integration.test_relay_crash import clinic_env

CLINIC = str(Path(sys.executable).with_name("clinic"))
OPENING = ((time(9), time(14)), (time(16), time(20)))

CLINIC_ZONE = ZoneInfo(DEFAULT_ZONE)
ONE_DAY = timedelta(days=1)


async def _events(platform: Platform) -> dict[str, int]:
    return {
        context: int(await platform.pool.fetchval(f"SELECT count(*) FROM {context}_events"))
        for context in await platform.reader.heads()
    }


async def _signs_in(platform: Platform, email: str, password: str) -> set[str]:
    staff = await asyncio.to_thread(platform.application(Identity).authenticate, email, password)
    return set(staff.roles) if staff else set()


def _overlaps(rows: list[Any], key: str) -> list[tuple[Any, Any]]:
    by_resource: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        by_resource[row[key]].append(row)
    clashes = []
    for booked in by_resource.values():
        booked.sort(key=lambda r: r["starts_at"])
        clashes += [(a, b) for a, b in pairwise(booked) if b["starts_at"] < a["ends_at"]]
    return clashes


def _within_opening_hours(row: Any) -> bool:
    start, end = row["starts_at"].astimezone(CLINIC_ZONE), row["ends_at"].astimezone(CLINIC_ZONE)
    return start.date() == end.date() and any(
        opens <= start.time() and end.time() <= closes for opens, closes in OPENING
    )


async def test_demo_data_gives_staff_patients_chairs_and_a_booked_week(
    platform: Platform, pipeline: None
) -> None:
    today = clinic_today()
    summary = await asyncio.to_thread(create_demo_clinic, platform, today)

    assert await _signs_in(platform, summary.admin_email, DEMO_PASSWORD) == {"admin"}
    assert {role for _, _, role in summary.staff} == {
        "admin",
        "dentist",
        "hygienist",
        "receptionist",
        "auditor",
        "inventory",
    }
    for _, email, role in summary.staff:
        assert role in await _signs_in(platform, email, DEMO_PASSWORD), email
    await eventually(lambda: caught_up(platform), what="every read model to catch up")

    patients = await platform.pool.fetch("SELECT document, national_id FROM patient_directory")
    assert len(patients) >= 30
    dnis = [p["national_id"] for p in patients if p["national_id"]]
    assert dnis
    assert all(DNI_LETTERS[int(dni[:8]) % 23] == dni[8] for dni in dnis)
    assert all(p["document"]["phone"].startswith("+346") for p in patients)
    assert any(set(p["document"]["given_name"]) & set("áéíóúÁÉÍÓÚñ") for p in patients)
    assert sum(p["document"]["active_alerts"] for p in patients) >= 3

    treated = await platform.pool.fetch("SELECT code FROM treatment_list")
    assert len(treated) == summary.treatments >= 20
    assert {"EXAM", "RCT-M"} <= {row["code"] for row in treated}
    plans = await platform.mongo_db["treatment_chart"].find({"kind": "plan"}).to_list()
    assert {p["status"] for p in plans} == {"accepted", "presented"}
    assert summary.plans_accepted >= 1
    assert summary.plans_pending >= 1

    alerts = await platform.get(InventoryQueries).alerts(today)
    assert summary.items == len(await platform.get(InventoryQueries).items(None, 50)) >= 6
    assert {a["item"] for a in alerts["below_reorder_point"]} == {
        "Composite nanohíbrido A2, cápsula"
    }
    assert [a["lot"] for a in alerts["expiring"]] == ["ART-2501", "ART-2501"]  # store, chair
    levels = await platform.get(InventoryQueries).levels()
    assert {row["location"] for row in levels} - {"store-room"}  # some stock in a chair

    setup = await platform.pool.fetchval("SELECT document FROM clinic_setup")
    assert len(setup["operatories"]) == 3
    assert len(setup["appointment_types"]) >= 5
    assert len(setup["closures"]) == 1
    closed = date.fromisoformat(setup["closures"][0]["first_day"])

    rows = await platform.pool.fetch("SELECT * FROM appointments")
    monday = today + timedelta(days=7 - today.weekday())
    week = [monday + timedelta(days=n) for n in range(5)]
    assert len(rows) == summary.appointments >= 40
    days = {row["starts_at"].astimezone(CLINIC_ZONE).date() for row in rows}
    assert days == set(week) - {closed}
    assert all(_within_opening_hours(row) for row in rows)
    assert {row["status"] for row in rows} == {"booked", "confirmed"}
    for resource in ("provider_id", "operatory_id", "patient_id"):
        assert _overlaps(rows, resource) == [], resource


async def test_demo_data_run_twice_refuses_the_second_time_and_adds_nothing(
    platform: Platform,
) -> None:
    await asyncio.to_thread(create_demo_clinic, platform, clinic_today())
    before = await _events(platform)

    with pytest.raises(ClinicNotEmpty, match="already has staff"):
        await asyncio.to_thread(
            create_demo_clinic, platform, clinic_today(), admin_email="other@sonrisa.demo"
        )

    assert await _events(platform) == before
    assert not await _signs_in(platform, "other@sonrisa.demo", DEMO_PASSWORD)


def _clinic_demo_data(settings: Settings, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLINIC, "demo-data", *options],
        env={**clinic_env(settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_clinic_demo_data_prints_how_to_sign_in_and_refuses_a_clinic_with_staff(
    platform: Platform, settings: Settings
) -> None:
    password = "cepillo-hilo-dental-y-enjuague"
    done = await asyncio.to_thread(
        _clinic_demo_data,
        settings,
        "--admin-email",
        "jefa@clinica.es",
        "--admin-password",
        password,
    )

    assert done.returncode == 0, done.stderr
    assert "jefa@clinica.es" in done.stdout
    assert password in done.stdout
    assert "patients" in done.stdout
    assert await _signs_in(platform, "jefa@clinica.es", password) == {"admin"}
    before = await _events(platform)

    again = await asyncio.to_thread(_clinic_demo_data, settings)

    assert again.returncode == 1
    assert "already has staff" in again.stdout
    assert await _events(platform) == before


async def test_the_demo_clinic_always_has_rocio_nunez_with_her_alert_and_tomorrow_to_book(
    platform: Platform, pipeline: None, anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    today = clinic_today()
    await asyncio.to_thread(create_demo_clinic, platform, today)
    await eventually(lambda: caught_up(platform), what="every read model to catch up")
    anonymous.headers.update(await sign_in("receptionist"))

    found = (await anonymous.get("/api/patients", params={"q": "nunez"})).json()["items"]
    assert [(p["given_name"], p["family_name"]) for p in found] == [("Rocío", "Núñez Carrasco")]
    chart = (await anonymous.get(f"/api/patients/{found[0]['patient_id']}")).json()
    assert [a["code"] for a in chart["alerts"]] == ["anticoagulated"]

    providers = (await anonymous.get("/api/providers")).json()["items"]
    morales = next(p for p in providers if p["name"] == "Dr. Javier Morales")
    chairs = (await anonymous.get("/api/operatories")).json()["items"]
    tomorrow = today + timedelta(days=1)
    window = [datetime.combine(d, time(0), CLINIC_ZONE) for d in (tomorrow, tomorrow + ONE_DAY)]
    slots = await anonymous.get(
        "/api/availability",
        params={
            "provider": morales["provider_id"],
            "operatory": chairs[1]["operatory_id"],
            "type": "check-up",
            "from": window[0].isoformat(),
            "to": window[1].isoformat(),
        },
    )
    assert slots.status_code == 200, slots.text
    assert len(slots.json()["slots"]) >= 2
