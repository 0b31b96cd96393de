"""A staff member still waiting for their second factor can enrol it and nothing else."""

from __future__ import annotations

import httpx

from tests.conftest import SignIn, problem_type
from tests.e2e.test_access_control import app_routes, guard_of, path_of
from tests.e2e.test_sign_in import ADMIN_EMAIL, DENTIST_EMAIL, PASSWORD, auth, first_admin

# What a half-signed-in person may still do: see who they are, enrol a second factor, sign out.
ENROLMENT = {
    ("GET", "/api/auth/profile"),
    ("POST", "/api/auth/totp/setup"),
    ("POST", "/api/auth/totp/enable"),
    ("POST", "/api/auth/logout"),
}


async def _half_signed_in_admin(anonymous: httpx.AsyncClient) -> dict[str, str]:
    """An admin whose role needs TOTP and who has not enrolled yet: an enrolment-only token."""
    admin = await first_admin(anonymous)
    policy = await anonymous.put(
        "/api/security/totp-policy", json={"roles": ["admin"]}, headers=auth(admin)
    )
    assert policy.status_code == 200, policy.text
    limited = await anonymous.post(
        "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
    )
    assert limited.status_code == 200, limited.text
    assert limited.json()["second_factor_required"] is True
    return {"Authorization": f"Bearer {limited.json()['access_token']}"}


async def test_a_half_signed_in_admin_cannot_register_staff(
    anonymous: httpx.AsyncClient,
) -> None:
    half = await _half_signed_in_admin(anonymous)
    refused = await anonymous.post(
        "/api/auth/register",
        headers=half,
        json={
            "name": "Intrusa",
            "email": DENTIST_EMAIL,
            "roles": ["admin"],
            "password": PASSWORD,
        },
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["type"].endswith("/second-factor-required")


async def test_with_a_half_signed_in_token_only_enrolment_routes_answer(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    half = await _half_signed_in_admin(anonymous)
    answered: set[tuple[str, str]] = set()
    for route in app_routes():
        kind, _ = guard_of(route)
        for method in sorted(route.methods or ()):
            if (method, route.path) == ("POST", "/api/auth/logout"):
                continue  # it would end the session the rest of the walk uses; checked below
            body: dict[str, str] | None = {} if method in {"POST", "PUT"} else None
            headers = {**half, "If-Match": '"1"'}
            response = await anonymous.request(method, path_of(route), json=body, headers=headers)
            where = f"{method} {route.path}"
            if kind == "public":
                # A public route gives a half-signed-in token nothing it gives to nobody.
                plain = await anonymous.request(
                    method, path_of(route), json=body, headers={"If-Match": '"1"'}
                )
                assert response.status_code == plain.status_code, where
            elif response.status_code == 403 and problem_type(response).endswith(
                "/second-factor-required"
            ):
                continue
            else:
                assert response.status_code not in (401, 403), f"{where}: {response.text}"
                answered.add((method, route.path))
    assert answered == ENROLMENT - {("POST", "/api/auth/logout")}
    signed_out = await anonymous.post("/api/auth/logout", headers=half)
    assert signed_out.status_code == 204
