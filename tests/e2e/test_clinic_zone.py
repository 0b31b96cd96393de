"""A clinic in the Canaries keeps its own calendar: its zone is chosen once, when it is set
up, and everything that counts days (the book, reminders, reports) learns it from there."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import SignIn


async def test_a_clinic_is_set_up_once_in_its_own_zone(
    anonymous: httpx.AsyncClient, sign_in: SignIn, pipeline: None
) -> None:
    admin = await sign_in("admin")
    unknown = await anonymous.put(
        "/api/clinic/zone", json={"zone": "../../etc/passwd"}, headers=admin
    )
    assert unknown.status_code == 422
    desk = await sign_in("receptionist")
    refused = await anonymous.put(
        "/api/clinic/zone", json={"zone": "Atlantic/Canary"}, headers=desk
    )
    assert refused.status_code == 403

    racing = await asyncio.gather(
        *(
            anonymous.put("/api/clinic/zone", json={"zone": zone}, headers=admin)
            for zone in ("Atlantic/Canary", "Europe/Madrid")
        )
    )
    assert sorted(r.status_code for r in racing) == [200, 409]
    [won] = [r for r in racing if r.status_code == 200]
    [lost] = [r for r in racing if r.status_code == 409]
    assert "chosen once" in lost.json()["detail"]
    after = {"Sonrisa-Consistent-With": won.headers["Sonrisa-Consistency-Token"]}
    hours = await anonymous.get("/api/clinic/hours", headers={**admin, **after})
    assert hours.json()["zone"] == won.json()["zone"]
