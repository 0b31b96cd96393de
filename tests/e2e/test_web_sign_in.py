"""The web app's way of signing in: the refresh token in an httpOnly cookie (ADR 10), while
scripts keep receiving it in JSON; the profile tells the app what the roles may do."""

from __future__ import annotations

import httpx

from api.identity import REFRESH_COOKIE
from tests.e2e.test_sign_in import ADMIN_EMAIL, PASSWORD, auth, first_admin, login

BROWSER = {"email": ADMIN_EMAIL, "password": PASSWORD, "refresh_in": "cookie"}


def _set_cookie(response: httpx.Response) -> str:
    found = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie"]
    assert len(found) == 1, found
    return found[0]


async def test_a_browser_sign_in_puts_the_refresh_token_in_an_httponly_strict_cookie_only(
    anonymous: httpx.AsyncClient,
) -> None:
    await first_admin(anonymous)
    anonymous.cookies.clear()

    signed_in = await anonymous.post("/api/auth/login", json=BROWSER)

    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["refresh_token"] is None
    cookie = _set_cookie(signed_in)
    assert cookie.startswith(f"{REFRESH_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/api/auth" in cookie
    assert "Secure" not in cookie  # plain http here; https requests get Secure
    assert anonymous.cookies.get(REFRESH_COOKIE)


async def test_the_cookie_refreshes_rotates_and_a_replayed_cookie_ends_the_session(
    anonymous: httpx.AsyncClient,
) -> None:
    await first_admin(anonymous)
    anonymous.cookies.clear()
    await anonymous.post("/api/auth/login", json=BROWSER)
    first = anonymous.cookies.get(REFRESH_COOKIE)

    renewed = await anonymous.post("/api/auth/refresh", json={})

    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["refresh_token"] is None
    second = anonymous.cookies.get(REFRESH_COOKIE)
    assert second
    assert second != first
    headers = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert (await anonymous.get("/api/auth/profile", headers=headers)).status_code == 200

    anonymous.cookies.set(REFRESH_COOKIE, first or "", path="/api/auth")
    replayed = await anonymous.post("/api/auth/refresh", json={})
    assert replayed.status_code == 401
    assert f'{REFRESH_COOKIE}=""' in _set_cookie(replayed)  # the refused cookie is cleared
    anonymous.cookies.set(REFRESH_COOKIE, second or "", path="/api/auth")
    assert (await anonymous.post("/api/auth/refresh", json={})).status_code == 401


async def test_signing_out_ends_the_session_and_clears_the_cookie(
    anonymous: httpx.AsyncClient,
) -> None:
    await first_admin(anonymous)
    anonymous.cookies.clear()
    signed_in = await anonymous.post("/api/auth/login", json=BROWSER)
    kept = anonymous.cookies.get(REFRESH_COOKIE)
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}

    out = await anonymous.post("/api/auth/logout", headers=headers)

    assert out.status_code == 204
    assert "Max-Age=0" in _set_cookie(out) or 'sonrisa_refresh=""' in _set_cookie(out)
    anonymous.cookies.set(REFRESH_COOKIE, kept or "", path="/api/auth")
    assert (await anonymous.post("/api/auth/refresh", json={})).status_code == 401


async def test_without_a_cookie_or_a_token_refresh_asks_to_sign_in_again(
    anonymous: httpx.AsyncClient,
) -> None:
    anonymous.cookies.clear()
    refused = await anonymous.post("/api/auth/refresh", json={})
    assert refused.status_code == 401
    assert refused.json()["type"].endswith("/unauthenticated")


async def test_scripts_still_get_and_send_the_refresh_token_in_json(
    anonymous: httpx.AsyncClient,
) -> None:
    tokens = await first_admin(anonymous)
    anonymous.cookies.clear()

    renewed = await anonymous.post("/api/auth/refresh", json={"refresh_token": tokens["refresh"]})

    assert renewed.status_code == 200
    assert renewed.json()["refresh_token"]
    assert "set-cookie" not in renewed.headers


async def test_the_profile_lists_what_the_roles_may_do_and_what_only_in_an_emergency(
    anonymous: httpx.AsyncClient,
) -> None:
    admin = await first_admin(anonymous)
    desk = {"name": "Pablo", "email": "pablo@clinica.es", "roles": ["receptionist"]}
    created = await anonymous.post(
        "/api/auth/register", json={**desk, "password": PASSWORD}, headers=auth(admin)
    )
    assert created.status_code == 201, created.text
    receptionist = await login(anonymous, "pablo@clinica.es", PASSWORD)

    profile = (await anonymous.get("/api/auth/profile", headers=auth(receptionist))).json()

    assert "patients:write" in profile["may"]
    assert "appointments:write" in profile["may"]
    assert "clinical:read" not in profile["may"]
    assert "staff:manage" not in profile["may"]
    assert profile["break_glass"] == ["clinical:read"]
    admin_profile = (await anonymous.get("/api/auth/profile", headers=auth(admin))).json()
    assert "staff:manage" in admin_profile["may"]
    assert "clinical:read" not in admin_profile["may"]
    assert admin_profile["break_glass"] == ["clinical:read"]  # as for anyone who reads patients
