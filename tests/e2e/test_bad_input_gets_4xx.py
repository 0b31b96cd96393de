"""What an attacker or a fuzzer sends gets a 4xx problem that says what to fix, never a 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from clinic.platform import Platform
from tests.conftest import SignIn
from tests.e2e.test_appointment_book import set_up
from tests.integration.helpers import registration


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


QUERIES = {
    "a search cursor holding a number for an id": ("/api/patients", {"cursor": _cursor(["a", 1])}),
    "a search cursor that is not base64": ("/api/patients", {"cursor": '["a",1]'}),
    "a search cursor holding a NUL": (
        "/api/patients",
        {"cursor": _cursor(["a\u0000", "00000000-0000-0000-0000-000000000000"])},
    ),
    "a day sheet in year 1": ("/api/day-sheet", {"day": "0001-01-01"}),
    "a day sheet in year 9999": ("/api/day-sheet", {"day": "9999-12-31"}),
    "appointments from year 1": ("/api/appointments", {"from": "0001-01-01T00:00:00+01:00"}),
    "appointments until year 9999": ("/api/appointments", {"to": "9999-12-31T23:59:59-01:00"}),
    "appointments from a number": ("/api/appointments", {"from": "-124"}),
    "the access log from year 1": ("/api/audit/access", {"from": "0001-01-01T00:00:00Z"}),
    "the access log until year 9999": ("/api/audit/access", {"to": "9999-12-31T23:59:59Z"}),
    "a chart as of year 1": (
        "/api/patients/00000000-0000-0000-0000-000000000001",
        {"as_of": "0001-01-01T00:00:00Z"},
    ),
}


@pytest.mark.parametrize("case", list(QUERIES))
async def test_a_hostile_query_gets_a_4xx_problem(
    anonymous: httpx.AsyncClient, sign_in: SignIn, case: str
) -> None:
    path, params = QUERIES[case]
    answer = await anonymous.get(
        path, params=params, headers=await sign_in("admin", "auditor", "dentist")
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_availability_in_year_9999_gets_a_4xx(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, patients=0)
    window = {
        "provider": clinic.providers[0],
        "operatory": clinic.chairs[0],
        "type": "check-up",
        "from": "9999-12-30T00:00:00Z",
        "to": "9999-12-31T23:00:00Z",
    }
    answer = await anonymous.get("/api/availability", params=window, headers=clinic.desk)
    assert answer.status_code == 422, answer.text


async def test_a_waiting_time_with_a_zone_is_refused(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform, pipeline: None
) -> None:
    clinic = await set_up(anonymous, sign_in, platform, patients=1)
    wish = {"patient_id": next(clinic.patients), "appointment_type": "check-up"}
    answer = await anonymous.post(
        "/api/waitlist", json={**wish, "earliest": "08:00:00Z"}, headers=clinic.desk
    )
    assert answer.status_code == 422, answer.text
    assert "without a zone" in answer.json()["errors"][0]["message"]


async def test_a_totp_secret_that_is_not_base32_is_refused(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    answer = await anonymous.post(
        "/api/auth/totp/enable",
        json={"secret": "not-base32-at-all-1!", "code": "123456"},
        headers=await sign_in("dentist"),
    )
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("first_day", [0, 1700000000, True])
async def test_a_closure_from_a_number_instead_of_a_day_is_refused_and_not_saved(
    anonymous: httpx.AsyncClient, sign_in: SignIn, first_day: object
) -> None:
    admin = await sign_in("admin")
    closure = {"first_day": first_day, "last_day": "2031-01-01", "reason": "fuzzed"}
    answer = await anonymous.post("/api/closures", json=closure, headers=admin)
    assert answer.status_code == 422, answer.text
    assert "ISO 8601" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize("secret", ["AAAAAAAAAAAAAAAAA", "BB2BB7AA2ABA77AB", "AAAAAAAAAAAAAAAA="])
async def test_a_second_factor_secret_that_is_not_base32_gets_a_4xx(
    anonymous: httpx.AsyncClient, sign_in: SignIn, secret: str
) -> None:
    answer = await anonymous.post(
        "/api/auth/totp/enable",
        json={"secret": secret, "code": "000000"},
        headers=await sign_in("admin"),
    )
    assert answer.status_code == 422, answer.text
    assert "totp/setup" in answer.json()["errors"][0]["message"]


@pytest.mark.parametrize("consent", [0, 1, "true", "yes"])
async def test_a_consent_that_is_not_true_or_false_is_refused(
    anonymous: httpx.AsyncClient, sign_in: SignIn, consent: object
) -> None:
    """Consent is a patient's explicit yes: a 1 or a "yes" from a form bug is not one."""
    patient = {
        **registration(1).model_dump(mode="json"),
        "consents": {"sms": consent, "email": False, "whatsapp": False},
    }
    answer = await anonymous.post(
        "/api/patients", json=patient, headers=await sign_in("receptionist")
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["location"][-2:] == ["consents", "sms"]


async def test_a_waitlist_removal_reason_longer_than_the_clinic_keeps_is_refused_not_a_500(
    anonymous: httpx.AsyncClient, sign_in: SignIn
) -> None:
    answer = await anonymous.delete(
        "/api/waitlist/12345678-1234-5678-1234-567812345678",
        params={"reason": "x" * 300},
        headers=await sign_in("receptionist"),
    )
    assert answer.status_code == 422, answer.text
