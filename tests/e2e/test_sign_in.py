"""Staff sign in with a password (and a second factor when required); tokens cannot be forged."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pyotp

from clinic.platform import Platform
from infra.logs import configure_logging
from tests.conftest import SignIn

PASSWORD = "dientes-sanos-cada-dia-2026"
ADMIN_EMAIL = "ana@clinica.es"
DENTIST_EMAIL = "ruiz@clinica.es"
ADMIN: dict[str, object] = {
    "name": "Ana Admin",
    "email": ADMIN_EMAIL,
    "roles": ["admin"],
    "password": PASSWORD,
}


async def first_admin(http: httpx.AsyncClient) -> dict[str, str]:
    created = await http.post("/api/auth/register", json=ADMIN)
    assert created.status_code == 201, created.text
    return await login(http, ADMIN_EMAIL, PASSWORD)


async def login(http: httpx.AsyncClient, email: str, password: str, **extra: str) -> dict[str, str]:
    response = await http.post(
        "/api/auth/login", json={"email": email, "password": password, **extra}
    )
    assert response.status_code == 200, response.text
    return {
        "Authorization": f"Bearer {response.json()['access_token']}",
        "refresh": response.json()["refresh_token"],
    }


def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": tokens["Authorization"]}


async def test_the_first_admin_registers_on_an_empty_system_and_then_registration_closes(
    anonymous: httpx.AsyncClient,
) -> None:
    admin = await first_admin(anonymous)
    profile = await anonymous.get("/api/auth/profile", headers=auth(admin))
    assert profile.json()["roles"] == ["admin"]

    second = {**ADMIN, "email": "intruso@example.com"}
    assert (await anonymous.post("/api/auth/register", json=second)).status_code == 401
    dentist: dict[str, str | list[str]] = {
        "name": "Dra. Ruiz",
        "email": DENTIST_EMAIL,
        "roles": ["dentist"],
        "password": PASSWORD,
    }
    by_admin = await anonymous.post("/api/auth/register", json=dentist, headers=auth(admin))
    assert by_admin.status_code == 201
    again = await anonymous.post("/api/auth/register", json=dentist, headers=auth(admin))
    assert again.status_code == 409
    dentist_tokens = await login(anonymous, "ruiz@clinica.es", PASSWORD)
    by_dentist = await anonymous.post(
        "/api/auth/register",
        json={**dentist, "email": "x@clinica.es"},
        headers=auth(dentist_tokens),
    )
    assert by_dentist.status_code == 403


async def test_a_common_or_short_password_is_refused_with_a_reason(
    anonymous: httpx.AsyncClient,
) -> None:
    for weak in ("password1234", "qwertyuiop12", "short"):
        refused = await anonymous.post("/api/auth/register", json={**ADMIN, "password": weak})
        assert refused.status_code == 422, weak
        assert "password" in refused.json()["detail"]


def _forge(platform: Platform, **changes: Any) -> str:
    tokens = platform.tokens
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": str(uuid4()),
        "sid": str(uuid4()),
        "roles": ["admin"],
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "jti": uuid4().hex,
    }
    key = changes.pop("key", tokens.keys.current)
    algorithm = changes.pop("algorithm", tokens.algorithm)
    kid = changes.pop("kid", tokens.keys.current_id)
    claims.update(changes)
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


async def test_forged_expired_and_foreign_tokens_are_refused_with_401(
    anonymous: httpx.AsyncClient, platform: Platform, sign_in: SignIn
) -> None:
    good = (await sign_in("admin"))["Authorization"].removeprefix("Bearer ")
    header, payload, signature = good.split(".")
    none_header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    bad_tokens = {
        "expired": _forge(platform, exp=datetime.now(UTC) - timedelta(seconds=1)),
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "wrong audience": _forge(platform, aud="someone-else"),
        "wrong issuer": _forge(platform, iss="evil"),
        "wrong algorithm": _forge(platform, algorithm="HS384"),
        "alg none": f"{none_header.decode()}.{payload}.",
        "wrong key": _forge(platform, key="x" * 64),
        "no session": _forge(platform),
        "garbage": "not-a-token",
    }
    assert (
        await anonymous.get("/api/staff", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200
    for case, token in bad_tokens.items():
        response = await anonymous.get("/api/staff", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, case
        assert response.json()["type"].endswith("/unauthenticated"), case


async def test_a_refresh_token_rotates_and_reusing_an_old_one_revokes_the_whole_family(
    anonymous: httpx.AsyncClient,
) -> None:
    tokens = await first_admin(anonymous)
    first = await anonymous.post("/api/auth/refresh", json={"refresh_token": tokens["refresh"]})
    assert first.status_code == 200
    newest = first.json()
    assert newest["refresh_token"] != tokens["refresh"]

    reused = await anonymous.post("/api/auth/refresh", json={"refresh_token": tokens["refresh"]})
    assert reused.status_code == 401
    after = await anonymous.post(
        "/api/auth/refresh", json={"refresh_token": newest["refresh_token"]}
    )
    assert after.status_code == 401
    profile = await anonymous.get(
        "/api/auth/profile", headers={"Authorization": f"Bearer {newest['access_token']}"}
    )
    assert profile.status_code == 401


async def test_logout_ends_the_session(anonymous: httpx.AsyncClient) -> None:
    tokens = await first_admin(anonymous)
    assert (await anonymous.post("/api/auth/logout", headers=auth(tokens))).status_code == 204
    assert (await anonymous.get("/api/auth/profile", headers=auth(tokens))).status_code == 401


async def test_repeated_failures_are_throttled_without_revealing_whether_the_account_exists(
    anonymous: httpx.AsyncClient, platform: Platform
) -> None:
    await first_admin(anonymous)
    answers: dict[str, list[tuple[int, str, str | None]]] = {}
    for email in (ADMIN_EMAIL, "nobody@clinica.es"):
        answers[email] = []
        for _ in range(platform.settings.login_failures_per_account_address + 1):
            response = await anonymous.post(
                "/api/auth/login", json={"email": email, "password": "wrong password"}
            )
            answers[email].append(
                (
                    response.status_code,
                    response.json()["type"],
                    response.headers.get("Retry-After") and "set",
                )
            )
    assert answers[ADMIN_EMAIL] == answers["nobody@clinica.es"]
    assert answers[ADMIN_EMAIL][-1] == (
        429,
        "https://sonrisa.dev/problems/too-many-attempts",
        "set",
    )
    assert {a[0] for a in answers[ADMIN_EMAIL][:-1]} == {401}
    blocked = await anonymous.post(
        "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
    )
    assert blocked.status_code == 429
    window = platform.settings.login_failure_window_seconds
    assert 0 < int(blocked.headers["Retry-After"]) <= window + 1


async def test_one_address_trying_many_accounts_is_throttled(
    anonymous: httpx.AsyncClient, platform: Platform
) -> None:
    for n in range(platform.settings.login_failures_per_address):
        response = await anonymous.post(
            "/api/auth/login", json={"email": f"u{n}@x.es", "password": "nope"}
        )
        assert response.status_code == 401
    last = await anonymous.post("/api/auth/login", json={"email": "new@x.es", "password": "n"})
    assert last.status_code == 429


async def test_an_admin_can_require_a_second_factor_for_a_role(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    admin = await first_admin(anonymous)
    dentist: dict[str, str | list[str]] = {
        "name": "Dra. Ruiz",
        "email": DENTIST_EMAIL,
        "roles": ["dentist"],
        "password": PASSWORD,
    }
    await anonymous.post("/api/auth/register", json=dentist, headers=auth(admin))
    policy = await anonymous.put(
        "/api/security/totp-policy", json={"roles": ["dentist"]}, headers=auth(admin)
    )
    assert policy.status_code == 200

    limited = await anonymous.post(
        "/api/auth/login", json={"email": DENTIST_EMAIL, "password": PASSWORD}
    )
    assert limited.json()["second_factor_required"] is True
    limited_auth = {"Authorization": f"Bearer {limited.json()['access_token']}"}
    blocked = await anonymous.get("/api/patients", headers=limited_auth)
    assert blocked.status_code == 403
    assert blocked.json()["type"].endswith("/second-factor-required")

    setup = (await anonymous.post("/api/auth/totp/setup", headers=limited_auth)).json()
    code = pyotp.TOTP(setup["secret"]).now()
    enabled = await anonymous.post(
        "/api/auth/totp/enable",
        headers=limited_auth,
        json={"secret": setup["secret"], "code": code},
    )
    assert enabled.status_code == 200, enabled.text

    # Without the code, the right password answers as a wrong one: it cannot be confirmed.
    without_code = await anonymous.post(
        "/api/auth/login", json={"email": DENTIST_EMAIL, "password": PASSWORD}
    )
    wrong_password = await anonymous.post(
        "/api/auth/login", json={"email": DENTIST_EMAIL, "password": "not the password"}
    )
    assert without_code.status_code == wrong_password.status_code == 401
    assert _told(without_code) == _told(wrong_password)
    assert without_code.json()["type"].endswith("/sign-in-failed")
    totp = pyotp.TOTP(setup["secret"])
    now = datetime.now(UTC)
    full = await login(anonymous, DENTIST_EMAIL, PASSWORD, totp_code=totp.at(now))
    assert (await anonymous.get("/api/patients", headers=auth(full))).status_code == 200

    # A code signs in once; so does the next one, and never an older one (ASVS 2.8.4).

    async def sign_in_with(code: str) -> httpx.Response:
        body = {"email": DENTIST_EMAIL, "password": PASSWORD, "totp_code": code}
        return await anonymous.post("/api/auth/login", json=body)

    replayed = await sign_in_with(totp.at(now))
    older = await sign_in_with(totp.at(now, counter_offset=-1))
    racing = await asyncio.gather(*(sign_in_with(totp.at(now, counter_offset=1)) for _ in range(2)))
    assert replayed.status_code == 401
    assert replayed.json()["type"].endswith("/sign-in-failed")
    assert older.status_code == 401
    assert sorted(a.status_code for a in racing) == [200, 401], "one code, two sign-ins"


async def test_a_deactivated_account_can_no_longer_sign_in_or_use_its_tokens(
    anonymous: httpx.AsyncClient,
) -> None:
    admin = await first_admin(anonymous)
    dentist: dict[str, str | list[str]] = {
        "name": "Dr. Gil",
        "email": DENTIST_EMAIL,
        "roles": ["dentist"],
        "password": PASSWORD,
    }
    staff_id = (
        await anonymous.post("/api/auth/register", json=dentist, headers=auth(admin))
    ).json()["id"]
    tokens = await login(anonymous, DENTIST_EMAIL, PASSWORD)
    deactivated = await anonymous.post(
        f"/api/staff/{staff_id}/deactivate", json={"reason": "left the clinic"}, headers=auth(admin)
    )
    assert deactivated.status_code == 200
    assert (await anonymous.get("/api/auth/profile", headers=auth(tokens))).status_code == 401
    again = await anonymous.post(
        "/api/auth/login", json={"email": DENTIST_EMAIL, "password": PASSWORD}
    )
    assert again.status_code == 401


async def test_passwords_are_never_stored_or_logged_in_plain_text(
    anonymous: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    captured = io.StringIO()
    configure_logging("DEBUG", stream=captured)
    new_password = "otra-clave-muy-larga-y-rara-77"
    try:
        admin = await first_admin(anonymous)
        changed = await anonymous.put(
            "/api/auth/password",
            headers=auth(admin),
            json={"current_password": PASSWORD, "new_password": new_password},
        )
        assert changed.status_code == 200
        await login(anonymous, ADMIN_EMAIL, new_password)
        await anonymous.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD})
    finally:
        configure_logging("INFO")

    for secret in (PASSWORD, new_password):
        assert secret not in captured.getvalue()
        for table in await platform.pool.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ):
            name = table["tablename"]
            found = await platform.pool.fetchval(
                f"SELECT count(*) FROM {name} t WHERE t::text LIKE $1 "
                f"OR encode(convert_to(t::text, 'UTF8'), 'escape') LIKE $1",
                f"%{secret}%",
            )
            assert found == 0, name
        stored = await platform.pool.fetch("SELECT state FROM identity_events")
        assert stored
        assert not any(secret.encode() in bytes(r["state"]) for r in stored)
        for collection in await platform.mongo_db.list_collection_names():
            documents = await platform.mongo_db[collection].find({}).to_list()
            assert secret not in json.dumps(documents, default=str)


def _told(answer: httpx.Response) -> dict[str, object]:
    """What an answer tells its caller, without what differs for every request."""
    problem = answer.json()
    return {k: v for k, v in problem.items() if k not in ("instance", "correlation_id")}
