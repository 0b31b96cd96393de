"""Every query route of the appointment book waits for the write whose token it is given.

Each case sets the clinic up, stops the relay and projectors, makes one write, and asks
with that write's consistency token while the read models cannot yet have it: the read
must wait, and answer with the write once the pipeline runs again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi.routing import APIRoute

from api.scheduling import routers
from clinic.platform import Platform
from tests.conftest import SignIn, running
from tests.e2e.test_appointment_book import NEXT_MONDAY, Clinic, appointment, set_up

Http = httpx.AsyncClient


@dataclass(frozen=True)
class Case:
    """A write, then the read that must show it once it waited for it."""

    write: Callable[[Http, Clinic], Awaitable[httpx.Response]]
    read: Callable[[Http, Clinic, httpx.Response], Awaitable[httpx.Response]]
    shows: Callable[[dict[str, Any], httpx.Response], bool]


def _post(path: str, body: Callable[[Clinic], dict[str, Any]]) -> Any:
    async def write(http: Http, clinic: Clinic) -> httpx.Response:
        return await http.post(path, json=body(clinic), headers=clinic.admin)

    return write


def _get(path: str, params: Callable[[Clinic], dict[str, str]] | None = None) -> Any:
    async def read(http: Http, clinic: Clinic, written: httpx.Response) -> httpx.Response:
        token = {"Sonrisa-Consistent-With": written.headers["Sonrisa-Consistency-Token"]}
        query = params(clinic) if params else None
        return await http.get(path, params=query, headers={**clinic.admin, **token})

    return read


async def _book(http: Http, clinic: Clinic) -> httpx.Response:
    return await http.post("/api/appointments", json=appointment(clinic), headers=clinic.admin)


async def _book_then_cancel(http: Http, clinic: Clinic) -> httpx.Response:
    """Cancels a 10:00 booking while a patient waits for a Monday morning."""
    wish = {
        "patient_id": next(clinic.patients),
        "appointment_type": "check-up",
        "weekdays": ["monday"],
    }
    joined = await http.post("/api/waitlist", json=wish, headers=clinic.admin)
    assert joined.status_code == 201, joined.text
    booked = await _book(http, clinic)
    return await http.delete(f"/api/appointments/{booked.json()['id']}", headers=clinic.admin)


def _window(clinic: Clinic) -> dict[str, str]:
    return {
        "provider": clinic.providers[0],
        "operatory": clinic.chairs[0],
        "type": "check-up",
        "from": NEXT_MONDAY.replace(hour=9).isoformat(),
        "to": NEXT_MONDAY.replace(hour=14).isoformat(),
    }


def _monday(_: Clinic) -> dict[str, str]:
    return {"day": NEXT_MONDAY.date().isoformat()}


def _ids(body: dict[str, Any]) -> set[str]:
    return {item.get("id") or item.get("appointment_id") for item in body["items"]}


SATURDAYS = {"saturday": [["10:00", "13:00"]]}
CASES = {
    "GET /api/clinic/hours": Case(
        lambda http, clinic: http.put(
            "/api/clinic/hours", json={"hours": SATURDAYS}, headers=clinic.admin
        ),
        _get("/api/clinic/hours"),
        lambda body, _: body["hours"] == SATURDAYS,
    ),
    "GET /api/closures": Case(
        _post(
            "/api/closures",
            lambda _: {"first_day": "2030-08-15", "last_day": "2030-08-15", "reason": "Asunción"},
        ),
        _get("/api/closures"),
        lambda body, _: [c["reason"] for c in body["items"]] == ["Asunción"],
    ),
    "GET /api/operatories": Case(
        _post("/api/operatories", lambda _: {"name": "Gabinete nuevo"}),
        _get("/api/operatories"),
        lambda body, written: written.json()["id"] in {c["operatory_id"] for c in body["items"]},
    ),
    "GET /api/appointment-types": Case(
        _post(
            "/api/appointment-types",
            lambda _: {"code": "implant", "name": "Implante", "minutes": 90},
        ),
        _get("/api/appointment-types"),
        lambda body, _: "implant" in {t["code"] for t in body["items"]},
    ),
    "GET /api/providers": Case(
        _post(
            "/api/providers",
            lambda _: {"staff_id": str(uuid4()), "name": "Dra. Nueva", "kind": "dentist"},
        ),
        _get("/api/providers"),
        lambda body, written: written.json()["id"] in {p["provider_id"] for p in body["items"]},
    ),
    "GET /api/availability": Case(
        _book,
        _get("/api/availability", _window),
        lambda body, _: NEXT_MONDAY.isoformat() not in {s["start"] for s in body["slots"]},
    ),
    "GET /api/appointments": Case(
        _book,
        _get("/api/appointments"),
        lambda body, written: written.json()["id"] in _ids(body),
    ),
    "GET /api/appointments/{id}": Case(
        _book,
        lambda http, clinic, written: _get(f"/api/appointments/{written.json()['id']}")(
            http, clinic, written
        ),
        lambda body, _: body["status"] == "booked",
    ),
    "GET /api/day-sheet": Case(
        _book,
        _get("/api/day-sheet", _monday),
        lambda body, written: written.json()["id"] in _ids(body),
    ),
    "GET /api/waitlist": Case(
        _post(
            "/api/waitlist",
            lambda clinic: {"patient_id": next(clinic.patients), "appointment_type": "check-up"},
        ),
        _get("/api/waitlist"),
        lambda body, written: written.json()["id"] in {e["entry_id"] for e in body["items"]},
    ),
    "GET /api/waitlist/matches": Case(
        _book_then_cancel,
        _get("/api/waitlist/matches"),
        lambda body, _: (
            [datetime.fromisoformat(m["slot"]["start"]) for m in body["items"]] == [NEXT_MONDAY]
        ),
    ),
}


@pytest.mark.parametrize("route", list(CASES))
async def test_a_query_with_a_writes_token_waits_until_the_write_is_in_its_read_model(
    anonymous: Http, sign_in: SignIn, platform: Platform, route: str
) -> None:
    case = CASES[route]
    pipeline = (platform.relay().run, *(platform.consumer(n).run for n in platform.projectors))
    async with running(*pipeline):
        clinic = await set_up(anonymous, sign_in, platform)

    written = await case.write(anonymous, clinic)
    assert written.status_code in (200, 201), written.text
    read = asyncio.ensure_future(case.read(anonymous, clinic, written))
    await asyncio.sleep(0.5)
    assert not read.done(), "the read answered before the read model could have the write"

    async with running(*pipeline):
        answer = await asyncio.wait_for(read, timeout=10)

    assert answer.status_code == 200, answer.text
    assert answer.headers["Sonrisa-Consistency"] == "consistent"
    assert case.shows(answer.json(), written), answer.json()


# The scheduling routes that read no read model a write could be ahead of, and why.
WITHOUT_A_CASE = {
    # The feeds are rows written within the request that made them (security/scheduling.py).
    "GET /api/calendar-feeds": "a table, consistent as soon as the write answers",
    # Calendar apps poll and can send no token; the feed is as fresh as the read model.
    "GET /api/calendar-feeds/{token}.ics": "read by calendar apps, which send no token",
}


def test_every_query_route_of_the_appointment_book_has_a_case() -> None:
    queries = {
        f"GET {route.path.replace('{appointment_id}', '{id}')}"
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or set())
    }
    assert queries == set(CASES) | set(WITHOUT_A_CASE)
