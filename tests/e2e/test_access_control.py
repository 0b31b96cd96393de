"""Nobody reaches patient data without a role that allows it; every route says who may use it."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.routing import APIRoute

from api.app import DOCUMENTATION_PATHS, all_routers
from api.permissions import BREAK_GLASS_HEADER, CLINICAL_READ, PermissionTable
from api.treatments import PLANS_WRITE, REPORTS_READ, TREATMENTS_READ, TREATMENTS_WRITE
from api.web import WEB_PATHS
from clinic.parts import described_app
from clinic.platform import Platform, routers_of
from clinic.registry import CONTEXTS
from commands.identity import Identity, RegisterStaff
from domain.shared import Meta, Role
from infra.settings import Settings
from tests.conftest import SignIn, problem_type
from tests.e2e.test_patients_api import PATIENT, register

ROLES: list[str | None] = [None, *(r.value for r in Role)]
TABLE = PermissionTable(*(c.grants for c in CONTEXTS))
PERMISSIONS = TABLE.by_role
permitted = TABLE.permitted


def app_routes() -> list[APIRoute]:
    return [
        route
        for router in all_routers(routers_of(CONTEXTS))
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


def guard_of(route: APIRoute) -> tuple[str, str | None]:
    """('public', None) or ('guarded', action), from the route's declared dependencies."""
    calls = [d.call for d in route.dependant.dependencies]
    if any(getattr(call, "sonrisa_public", False) for call in calls):
        return "public", None
    actions = [getattr(c, "sonrisa_permission", None) for c in calls]
    guarded = [a for a in actions if a is not None]
    return ("guarded", guarded[0]) if len(guarded) == 1 else ("open", None)


def opens_on_an_empty_system(route: APIRoute) -> bool:
    """The first admin's registration: guarded, except while no staff account exists."""
    return any(hasattr(d.call, "sonrisa_opening") for d in route.dependant.dependencies)


async def someone_works_here(platform: Platform) -> None:
    staff = RegisterStaff(
        name="Ana", email="ana@clinica.es", roles=[Role.ADMIN], password="dientes-sanos-2026-x"
    )
    meta = Meta("cli", "server-operator", "setup", "setup")
    await asyncio.to_thread(platform.application(Identity).register, staff, meta)


def test_every_route_is_either_guarded_or_public_by_decision(settings: Settings) -> None:
    unguarded = [
        f"{sorted(r.methods or ())} {r.path}" for r in app_routes() if guard_of(r)[0] == "open"
    ]
    assert unguarded == []


def test_the_walked_routes_are_all_the_routes_the_app_serves(settings: Settings) -> None:
    app = described_app(settings)
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    walked = {
        (m, r.path_format) for r in app_routes() for m in r.methods or () if r.include_in_schema
    }
    assert served == walked
    hidden = {r.path for r in app_routes() if not r.include_in_schema}
    assert hidden <= DOCUMENTATION_PATHS | WEB_PATHS


def path_of(route: APIRoute) -> str:
    values = {"role": "dentist"}
    path = route.path_format
    for name in route.param_convertors:
        path = path.replace("{" + name + "}", values.get(name, str(uuid4())))
    return path


CASES = [
    (route, method)
    for route in app_routes()
    if guard_of(route)[0] == "guarded"
    for method in sorted(route.methods or ())
]


@pytest.mark.parametrize(("route", "method"), CASES, ids=[f"{m} {r.path}" for r, m in CASES])
async def test_each_route_answers_each_role_as_the_permission_table_says(
    anonymous: httpx.AsyncClient,
    sign_in: SignIn,
    platform: Platform,
    route: APIRoute,
    method: str,
) -> None:
    """Every role, and nobody, against one route: one store for the seven of them (each
    answer is about who asks, never about what an earlier one wrote)."""
    _, action = guard_of(route)
    assert action is not None
    if opens_on_an_empty_system(route):
        await someone_works_here(platform)
    body: dict[str, Any] | None = {} if method in {"POST", "PUT"} else None
    for role in ROLES:
        headers = {"If-Match": '"1"', **(await sign_in(role) if role else {})}
        response = await anonymous.request(method, path_of(route), json=body, headers=headers)
        if role is None:
            assert response.status_code == 401, response.text
            assert problem_type(response).endswith("/unauthenticated")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        elif permitted((role,), action):
            assert response.status_code not in (401, 403), f"{role}: {response.text}"
        else:
            assert response.status_code == 403, f"{role}: {response.text}"
            assert problem_type(response).startswith("https://sonrisa.dev/problems/")


def test_the_permission_table_keeps_auditors_read_only_and_inventory_away_from_patients() -> None:
    writes = {a for actions in PERMISSIONS.values() for a in actions if a.endswith(":write")}
    assert writes
    assert not (PERMISSIONS[Role.AUDITOR] & writes)
    assert not any(a.startswith(("patients:", "clinical:")) for a in PERMISSIONS[Role.INVENTORY])


def test_clinicians_record_and_plan_the_desk_sees_fees_and_inventory_sees_no_treatments() -> None:
    for role in ("dentist", "hygienist"):
        assert all(permitted((role,), a) for a in (TREATMENTS_WRITE, PLANS_WRITE, CLINICAL_READ))
    desk = ("receptionist",)
    assert permitted(desk, TREATMENTS_READ)
    assert permitted(desk, REPORTS_READ)
    assert not any(permitted(desk, a) for a in (TREATMENTS_WRITE, PLANS_WRITE, CLINICAL_READ))
    assert not any(
        permitted(("inventory",), a) for a in (TREATMENTS_READ, REPORTS_READ, PLANS_WRITE)
    )
    assert permitted(("auditor",), TREATMENTS_READ)


async def test_a_receptionist_sees_contact_details_but_not_the_medical_history(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    created = await register(client)
    patient_id = created.json()["id"]
    entry = await client.post(
        f"/api/patients/{patient_id}/medical-history",
        json={"kind": "allergy", "description": "Latex"},
    )
    token = {"Sonrisa-Consistent-With": entry.headers["Sonrisa-Consistency-Token"]}
    receptionist = await sign_in("receptionist")

    chart = await client.get(f"/api/patients/{patient_id}", headers={**receptionist, **token})
    assert chart.status_code == 200
    assert chart.json()["contact"]["phone"] == "+34600111222"
    assert "medical_history" not in chart.json()
    history = await client.get(f"/api/patients/{patient_id}/medical-history", headers=receptionist)
    assert history.status_code == 403
    assert BREAK_GLASS_HEADER in history.json()["detail"]

    dentist_view = await client.get(f"/api/patients/{patient_id}", headers=token)
    assert [e["description"] for e in dentist_view.json()["medical_history"]] == ["Latex"]


async def test_a_break_glass_read_needs_a_reason_and_the_reason_is_logged(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    created = await register(client)
    patient_id = created.json()["id"]
    receptionist = await sign_in("receptionist")
    reason = "patient collapsed in the waiting room; paramedics ask for allergies"

    history = await client.get(
        f"/api/patients/{patient_id}/medical-history",
        headers={
            **receptionist,
            BREAK_GLASS_HEADER: reason,
            "Sonrisa-Consistent-With": created.headers["Sonrisa-Consistency-Token"],
        },
    )
    assert history.status_code == 200
    entries = await platform.access_log.search(
        patient_id=UUID(patient_id), actor=None, since=None, until=None, after_seq=0, limit=100
    )
    break_glass = [e for e in entries if e["action"] == "clinical:read"]
    assert [(e["actor_role"], e["reason"], e["outcome"]) for e in break_glass] == [
        ("receptionist", reason, "done")
    ]


async def test_inventory_staff_cannot_touch_patient_data(
    client: httpx.AsyncClient, sign_in: SignIn
) -> None:
    inventory = await sign_in("inventory")
    assert (await client.get("/api/patients", headers=inventory)).status_code == 403
    refused = await client.post("/api/patients", json=PATIENT, headers=inventory)
    assert refused.status_code == 403
    reason = {BREAK_GLASS_HEADER: "curious"}
    patient_id = (await register(client)).json()["id"]
    history = await client.get(
        f"/api/patients/{patient_id}/medical-history", headers={**inventory, **reason}
    )
    assert history.status_code == 403


async def test_auditors_read_everything_and_change_nothing(
    client: httpx.AsyncClient, sign_in: SignIn, pipeline: None
) -> None:
    created = await register(client)
    patient_id = created.json()["id"]
    auditor = await sign_in("auditor")
    token = {"Sonrisa-Consistent-With": created.headers["Sonrisa-Consistency-Token"]}
    assert (
        await client.get(
            f"/api/patients/{patient_id}/medical-history", headers={**auditor, **token}
        )
    ).status_code == 200
    assert (
        await client.get(f"/api/audit/patients/{patient_id}/events", headers=auditor)
    ).status_code == 200
    assert (
        await client.put(
            f"/api/patients/{patient_id}", json=PATIENT, headers={**auditor, "If-Match": '"1"'}
        )
    ).status_code == 403
    assert (await client.post("/api/patients", json=PATIENT, headers=auditor)).status_code == 403


async def test_the_api_documentation_is_public(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get("/docs")).status_code == 200
    schema = await anonymous.get("/openapi.json")
    assert schema.status_code == 200
    assert "/api/patients" in schema.json()["paths"]


def test_reminders_are_read_by_staff_and_auditors_sent_by_the_desk_and_set_by_admins() -> None:
    readers = {r.value for r in Role if permitted((r.value,), "reminders:read")}
    senders = {r.value for r in Role if permitted((r.value,), "reminders:send")}
    managers = {r.value for r in Role if permitted((r.value,), "reminders:manage")}
    assert readers == {"admin", "dentist", "hygienist", "receptionist", "auditor"}
    assert senders == {"admin", "dentist", "hygienist", "receptionist"}
    assert managers == {"admin"}
    guarded = {(m, r.path): guard_of(r) for r in app_routes() for m in r.methods or ()}
    assert guarded[("GET", "/api/reminders")] == ("guarded", "reminders:read")
    assert guarded[("POST", "/api/reminders")] == ("guarded", "reminders:send")
    assert guarded[("PUT", "/api/reminders/policy")] == ("guarded", "reminders:manage")
    # A patient's link needs no sign-in: the signed link is the permission.
    assert guarded[("POST", "/api/reminder-links/{token}")] == ("public", None)


async def test_reading_reminders_is_in_the_access_log(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    patient = uuid4()
    listed = await anonymous.get(
        f"/api/reminders?patient_id={patient}", headers=await sign_in("auditor")
    )
    assert listed.status_code == 200
    refused = await anonymous.get("/api/reminders", headers=await sign_in("inventory"))
    assert refused.status_code == 403
    entries = await platform.access_log.search(
        patient_id=None, actor=None, since=None, until=None, after_seq=0, limit=100
    )
    reads = [e for e in entries if e["action"] == "reminders:read"]
    assert [(e["actor_role"], e["outcome"]) for e in reads] == [
        ("auditor", "done"),
        ("inventory", "refused"),
    ]
