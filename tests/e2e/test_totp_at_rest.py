"""A staff member's TOTP secret is sealed in the event store; secrets stored in clear before
still work."""

from __future__ import annotations

from uuid import UUID

import httpx
import pyotp
from starlette.concurrency import run_in_threadpool

from clinic.platform import Platform
from commands.identity import Identity
from domain.identity import StaffMember
from domain.shared import Meta
from tests.e2e.test_sign_in import ADMIN_EMAIL, PASSWORD, auth, first_admin, login


async def test_the_totp_secret_is_not_in_the_event_store_in_clear(
    anonymous: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await first_admin(anonymous)
    setup = (await anonymous.post("/api/auth/totp/setup", headers=auth(admin))).json()
    secret = setup["secret"]
    enabled = await anonymous.post(
        "/api/auth/totp/enable",
        headers=auth(admin),
        json={"secret": secret, "code": pyotp.TOTP(secret).now()},
    )
    assert enabled.status_code == 200, enabled.text

    enabled_events = await platform.pool.fetch(
        "SELECT state FROM identity_events WHERE topic LIKE '%TotpEnabled'"
    )
    assert len(enabled_events) == 1
    stored = [
        bytes(r["state"]) for r in await platform.pool.fetch("SELECT state FROM identity_events")
    ]
    assert not any(secret.encode() in state for state in stored)
    assert not any(secret.lower().encode() in state.lower() for state in stored)

    signed_in = await login(anonymous, ADMIN_EMAIL, PASSWORD, totp_code=pyotp.TOTP(secret).now())
    assert (await anonymous.get("/api/staff", headers=auth(signed_in))).status_code == 200
    wrong = await anonymous.post(
        "/api/auth/login",
        json={"email": ADMIN_EMAIL, "password": PASSWORD, "totp_code": "000000"},
    )
    assert wrong.status_code == 401


async def test_a_totp_secret_recorded_in_clear_before_sealing_still_signs_in(
    anonymous: httpx.AsyncClient, platform: Platform
) -> None:
    admin = await first_admin(anonymous)
    profile = (await anonymous.get("/api/auth/profile", headers=auth(admin))).json()
    staff_id = UUID(profile["staff_id"])
    secret = pyotp.random_base32()
    meta = Meta(str(staff_id), "admin", "before-sealing", "before-sealing")

    def enable_as_before(staff: StaffMember) -> None:
        staff.enable_totp(secret, meta)  # what the code before sealing recorded

    await run_in_threadpool(
        platform.application(Identity).change, staff_id, StaffMember, enable_as_before
    )
    stored = [
        bytes(r["state"]) for r in await platform.pool.fetch("SELECT state FROM identity_events")
    ]
    assert any(secret.encode() in state for state in stored)

    signed_in = await login(anonymous, ADMIN_EMAIL, PASSWORD, totp_code=pyotp.TOTP(secret).now())
    assert (await anonymous.get("/api/staff", headers=auth(signed_in))).status_code == 200
