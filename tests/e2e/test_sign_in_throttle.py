"""The sign-in throttle counts every try, however many arrive at once, and an attacker cannot use
it to keep a staff member out (ADR 8)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from api.app import create_app
from clinic.platform import Platform
from infra.settings import Settings
from security.throttle import Limits, LoginThrottle
from tests.e2e.test_sign_in import ADMIN_EMAIL, PASSWORD, first_admin

ClientAt = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


# Smaller limits than the platform's and a short slow-down, for tests that attack on purpose
# (each wrong password costs an argon2 verification).
LIMITS = Limits(
    per_account_address=3,
    per_address=6,
    per_account=6,
    slowdown_seconds=0.2,
    slowdown_max_seconds=1.0,
    window=timedelta(minutes=15),
)


@pytest.fixture
def client_at(platform: Platform, settings: Settings) -> ClientAt:
    """An HTTP client of the real app whose requests come from the given address."""
    services = replace(platform.services(), throttle=LoginThrottle(platform.pool, LIMITS))

    @asynccontextmanager
    async def connect(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(
            app=create_app(settings, platform.routers(), services), client=(address, 5)
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://sonrisa.test") as http:
            yield http

    return connect


async def attack(client_at: ClientAt, addresses: list[str]) -> None:
    """Each address tries wrong passwords for the admin until it is refused."""

    async def from_one(address: str) -> None:
        async with client_at(address) as attacker:
            for _ in range(LIMITS.per_account_address):
                assert (await attacker.post("/api/auth/login", json=_wrong())).status_code == 401
            blocked = await attacker.post("/api/auth/login", json=_wrong())
            assert blocked.status_code == 429

    await asyncio.gather(*(from_one(address) for address in addresses))


def _wrong(email: str = ADMIN_EMAIL) -> dict[str, str]:
    return {"email": email, "password": "not the password at all"}


async def test_thirty_concurrent_wrong_passwords_for_one_account_are_throttled(
    anonymous: httpx.AsyncClient, platform: Platform
) -> None:
    await first_admin(anonymous)
    answers = await asyncio.gather(
        *(anonymous.post("/api/auth/login", json=_wrong()) for _ in range(30))
    )
    statuses = Counter(a.status_code for a in answers)
    allowed = platform.settings.login_failures_per_account_address
    assert statuses == {401: allowed, 429: 30 - allowed}
    assert all(a.headers["Retry-After"] for a in answers if a.status_code == 429)


async def test_failures_from_an_attackers_addresses_do_not_lock_the_staff_member_out(
    anonymous: httpx.AsyncClient, client_at: ClientAt
) -> None:
    await first_admin(anonymous)
    attackers = [f"203.0.113.{n}" for n in range(1, 6)]
    await attack(client_at, attackers)
    assert len(attackers) * LIMITS.per_account_address > 2 * LIMITS.per_account

    async with client_at("198.51.100.7") as victim:
        signed_in = await victim.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        )
    assert signed_in.status_code == 200, signed_in.text


async def test_an_account_under_attack_is_slowed_down_for_every_address_without_being_locked(
    anonymous: httpx.AsyncClient, client_at: ClientAt
) -> None:
    await first_admin(anonymous)
    needed = LIMITS.per_account // LIMITS.per_account_address + 1
    await attack(client_at, [f"203.0.113.{n + 1}" for n in range(needed)])
    async with client_at("198.51.100.8") as someone:
        started = time.monotonic()
        answer = await someone.post("/api/auth/login", json=_wrong())
        waited = time.monotonic() - started
    assert answer.status_code == 401
    assert waited >= LIMITS.slowdown_seconds


async def test_one_address_spraying_many_accounts_is_refused_hard(client_at: ClientAt) -> None:
    limit = LIMITS.per_address
    async with client_at("192.0.2.50") as sprayer:
        answers = await asyncio.gather(
            *(
                sprayer.post("/api/auth/login", json=_wrong(f"u{n}@clinica.es"))
                for n in range(limit + 10)
            )
        )
    assert Counter(a.status_code for a in answers) == {401: limit, 429: 10}


async def test_each_sign_in_says_how_many_failures_are_left_before_the_address_is_refused(
    client_at: ClientAt,
) -> None:
    """RateLimit-Policy and RateLimit (the IETF draft's headers): failures left for this
    account from this address, one fewer after each failure, none at the 429."""
    async with client_at("203.0.113.77") as http:
        await first_admin(http)
        policy = f'"sign-in-account-address";q={LIMITS.per_account_address};w=900'
        left = []
        for _ in range(LIMITS.per_account_address):
            failed = await http.post("/api/auth/login", json=_wrong())
            assert failed.status_code == 401
            assert failed.headers["RateLimit-Policy"] == policy
            left.append(int(failed.headers["RateLimit"].split(";r=")[1].split(";")[0]))
        assert left == [2, 1, 0]
        refused = await http.post("/api/auth/login", json=_wrong())
        assert refused.status_code == 429
        assert refused.headers["RateLimit"].startswith('"sign-in-account-address";r=0;t=')
    async with client_at("203.0.113.78") as elsewhere:
        signed_in = await elsewhere.post(
            "/api/auth/login", json={"email": ADMIN_EMAIL, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert signed_in.headers["RateLimit"].startswith('"sign-in-account-address";r=2;t=')
