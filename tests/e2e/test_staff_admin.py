"""Admins manage staff accounts and read who they are; auditors query the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from clinic.platform import Platform
from tests.conftest import SignIn, eventually
from tests.e2e.test_patients_api import PATIENT
from tests.e2e.test_sign_in import ADMIN_EMAIL, PASSWORD, auth, first_admin, login


async def _staff(anonymous: httpx.AsyncClient, admin: dict[str, str]) -> list[dict[str, object]]:
    return list((await anonymous.get("/api/staff", headers=auth(admin))).json()["items"])


async def test_an_admin_grants_and_revokes_roles_and_sees_them_in_the_staff_list(
    anonymous: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    admin = await first_admin(anonymous)
    hygienist = {
        "name": "Hugo",
        "email": "hugo@clinica.es",
        "roles": ["hygienist"],
        "password": PASSWORD,
    }
    staff_id = (
        await anonymous.post("/api/auth/register", json=hygienist, headers=auth(admin))
    ).json()["id"]
    granted = await anonymous.post(
        f"/api/staff/{staff_id}/roles", json={"role": "receptionist"}, headers=auth(admin)
    )
    assert granted.status_code == 200
    revoked = await anonymous.delete(f"/api/staff/{staff_id}/roles/hygienist", headers=auth(admin))
    assert revoked.status_code == 200
    last = await anonymous.delete(f"/api/staff/{staff_id}/roles/receptionist", headers=auth(admin))
    assert last.status_code == 409
    assert "deactivate" in last.json()["detail"]

    async def listed() -> bool:
        return any(
            s["staff_id"] == staff_id and s["roles"] == ["receptionist"]
            for s in await _staff(anonymous, admin)
        )

    await eventually(listed, what="the staff directory to show the new roles")
    tokens = await login(anonymous, "hugo@clinica.es", PASSWORD)
    profile = await anonymous.get("/api/auth/profile", headers=auth(tokens))
    assert profile.json()["roles"] == ["receptionist"]
    assert all("password" not in str(s) for s in await _staff(anonymous, admin))


async def test_auditors_filter_the_access_log_by_patient_actor_and_time(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    dentist, receptionist = await sign_in("dentist"), await sign_in("receptionist")
    first = (await anonymous.post("/api/patients", json=PATIENT, headers=dentist)).json()["id"]
    second = (await anonymous.post("/api/patients", json=PATIENT, headers=receptionist)).json()
    await anonymous.get(f"/api/patients/{first}/medical-history", headers=dentist)
    auditor = await sign_in("auditor")
    receptionist_id = (await anonymous.get("/api/auth/profile", headers=receptionist)).json()[
        "staff_id"
    ]

    async def search(**params: str) -> list[dict[str, object]]:
        response = await anonymous.get("/api/audit/access", params=params, headers=auditor)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    assert [e["action"] for e in await search(patient_id=first)] == [
        "patients:write",
        "clinical:read",
    ]
    assert [e["patient_id"] for e in await search(actor=receptionist_id)] == [second["id"]]
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    assert await search(**{"from": later}) == []
    # Each search above is itself in the log, after the three accesses it searched.
    assert [e["action"] for e in await search(to=later)] == [
        "patients:write",
        "patients:write",
        "clinical:read",
        *["audit:read"] * 3,
    ]
    refused = await anonymous.get("/api/audit/access", headers=dentist)
    assert refused.status_code == 403


async def test_the_clinics_only_admin_cannot_deactivate_themselves_or_drop_the_role(
    anonymous: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await first_admin(anonymous)
    me = (await anonymous.get("/api/auth/profile", headers=auth(admin))).json()["staff_id"]
    deactivated = await anonymous.post(
        f"/api/staff/{me}/deactivate", json={"reason": "one click too many"}, headers=auth(admin)
    )
    assert deactivated.status_code == 409, deactivated.text
    assert "last active admin" in deactivated.json()["detail"]
    dropped = await anonymous.delete(f"/api/staff/{me}/roles/admin", headers=auth(admin))
    assert dropped.status_code == 409
    # The clinic can still sign in and manage its accounts.
    again = await login(anonymous, ADMIN_EMAIL, PASSWORD)
    assert (await anonymous.get("/api/staff", headers=auth(again))).status_code == 200
