"""A misspelled filter is refused, not dropped: an ignored filter widens the answer (every
patient's reminders for `?appointment=` instead of `?appointment_id=`)."""

from __future__ import annotations

import re
from uuid import uuid4

import httpx

from api.app import LAST_ROUTERS, all_routers, create_app, routes_of
from clinic.platform import Platform
from infra.settings import Settings
from tests.conftest import SignIn, problem_type

UNKNOWN = "https://sonrisa.dev/problems/unknown-parameter"


async def test_a_misspelled_reminder_filter_is_refused_instead_of_listing_every_patient(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    desk = await sign_in("receptionist")

    misspelled = await anonymous.get(
        "/api/reminders", params={"appointment": str(uuid4())}, headers=desk
    )
    spelled = await anonymous.get(
        "/api/reminders", params={"appointment_id": str(uuid4())}, headers=desk
    )

    assert misspelled.status_code == 400
    assert misspelled.headers["content-type"] == "application/problem+json"
    problem = misspelled.json()
    assert problem["type"] == UNKNOWN
    assert problem["parameters"] == ["appointment"]
    assert "appointment_id" in problem["detail"], "the answer should say what the address takes"
    assert spelled.status_code == 200


async def test_an_unknown_patient_filter_is_refused_and_aliases_are_known(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    manager = await sign_in("admin", "dentist")

    unknown = await anonymous.get("/api/patients", params={"no_such_filter": "1"}, headers=manager)
    known = await anonymous.get("/api/patients", params={"q": "gar", "limit": 5}, headers=manager)
    aliased = await anonymous.get(
        "/api/audit", params={"from": "2026-01-01T00:00:00Z"}, headers=manager
    )

    assert (unknown.status_code, unknown.json()["type"]) == (400, UNKNOWN)
    assert known.status_code == 200
    assert aliased.status_code != 400, aliased.text


async def test_every_route_of_the_api_refuses_a_parameter_it_does_not_take(
    platform: Platform, settings: Settings, sign_in: SignIn
) -> None:
    routers = platform.routers()
    app = create_app(settings, routers, platform.services())
    web = {id(route) for route in routes_of(LAST_ROUTERS)}
    routes = [r for r in routes_of(all_routers(routers)) if id(r) not in web]
    admin = await sign_in("admin", "dentist", "receptionist", "auditor")
    refused: list[str] = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
        for route in routes:
            path = re.sub(r"\{[^}]+\}", str(uuid4()), route.path)
            for method in sorted(route.methods or ()):
                answer = await http.request(
                    method, path, params={"sonrisa_no_such": "1"}, headers=admin
                )
                if answer.status_code == 400 and problem_type(answer) == UNKNOWN:
                    refused.append(f"{method} {route.path}")
    assert len(routes) > 40
    expected = sorted(f"{m} {r.path}" for r in routes for m in r.methods or ())
    assert sorted(refused) == expected
