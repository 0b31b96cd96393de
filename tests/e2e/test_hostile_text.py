"""No text field takes a character that could freeze a read model or mislead a reader.

NUL and the other control characters, lone surrogates and bidirectional overrides are
refused at the API (422 for a body, 400 for an address) and in the domain; line breaks and
tabs are welcome only in notes. Nothing is written when they are refused.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from clinic.platform import Platform
from domain.shared import InvalidValue, require_text
from tests.conftest import SignIn, event_count
from tests.e2e.test_patients_api import PATIENT, register

HOSTILE = {
    "NUL": "Ana\u0000",
    "escape": "Ana\u001b[2J",
    "delete": "Ana\u007f",
    "C1 control": "An\u0085a",
    "right-to-left override": "Ana\u202egnp.exe",
    "left-to-right isolate": "Ana\u2066x",
    "line break": "Ana\nGarcía",
    "tab": "Ana\tGarcía",
}


@pytest.mark.parametrize("kind", list(HOSTILE))
async def test_a_name_with_a_hostile_character_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient, platform: Platform, kind: str
) -> None:
    before = await event_count(platform.pool)

    refused = await client.post("/api/patients", json={**PATIENT, "given_name": HOSTILE[kind]})

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["location"] == ["body", "given_name"]
    assert "not allowed" in refused.json()["errors"][0]["message"]
    assert await event_count(platform.pool) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", {"line1": "Calle Mayor 1\u0000", "city": "Madrid", "postal_code": "28013"}),
        ("email", "ana\u0000@example.es"),
        ("national_id", "12345678Z\u0000"),
    ],
)
async def test_every_text_field_of_a_patient_is_checked_nested_ones_too(
    client: httpx.AsyncClient, platform: Platform, field: str, value: Any
) -> None:
    refused = await client.post("/api/patients", json={**PATIENT, field: value})
    assert refused.status_code == 422, refused.text
    assert await event_count(platform.pool) == 0


async def test_notes_keep_their_line_breaks_but_refuse_nul(
    client: httpx.AsyncClient, platform: Platform
) -> None:
    patient_id = (await register(client)).json()["id"]
    entry = {"kind": "condition", "description": "Diabetes tipo 2"}
    path = f"/api/patients/{patient_id}/medical-history"

    kept = await client.post(path, json={**entry, "notes": "Metformina 850 mg\n\tcon la cena"})
    refused = await client.post(path, json={**entry, "notes": "Metformina\u0000"})

    assert kept.status_code == 201, kept.text
    assert refused.status_code == 422
    recorded = await platform.reader.aggregate_events("patients", patient_id)
    assert recorded[-1].payload["notes"] == "Metformina 850 mg\ncon la cena"


async def test_a_chair_named_with_a_control_character_is_refused(
    anonymous: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    admin = await sign_in("admin")
    refused = await anonymous.post(
        "/api/operatories", json={"name": "Gabinete\u00001"}, headers=admin
    )
    assert refused.status_code == 422
    assert int(await platform.pool.fetchval("SELECT count(*) FROM scheduling_events")) == 0


@pytest.mark.parametrize(
    "target",
    [
        "/api/patients?q=ana%00",
        "/api/patients?cursor=%00",
        "/api/audit/access?actor=%00",
        "/api/patients?q=%E2%80%AEana",
        "/api/patients/%00",
    ],
)
async def test_a_hostile_character_in_the_address_gets_400_not_500(
    anonymous: httpx.AsyncClient, sign_in: SignIn, target: str
) -> None:
    answer = await anonymous.get(target, headers=await sign_in("admin", "auditor"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"].endswith("/invalid-characters")


def test_the_domain_refuses_hostile_text_whoever_calls_it() -> None:
    with pytest.raises(InvalidValue, match=r"U\+0000"):
        require_text("Gabinete\u0000", "operatory name", max_length=100)
    with pytest.raises(InvalidValue, match=r"U\+202E"):
        require_text("x\u202e", "notes", max_length=100, multiline=True)
    assert require_text(" a \n  b ", "notes", max_length=100, multiline=True) == "a\nb"
