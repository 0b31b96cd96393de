"""Every touch of a patient's record leaves a trace no one can quietly alter; history replays."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import UTC, datetime
from uuid import UUID

import httpx
import pytest

from clinic.platform import Platform
from infra.settings import Settings
from tests.conftest import SignIn
from tests.e2e.test_patients_api import CONSISTENT, PATIENT, TOKEN
from tests.integration.test_relay_crash import CLINIC, clinic_env


async def entries(platform: Platform, patient_id: str | None = None) -> list[dict[str, object]]:
    return await platform.access_log.search(
        patient_id=UUID(patient_id) if patient_id else None,
        actor=None,
        since=None,
        until=None,
        after_seq=0,
        limit=1000,
    )


async def test_each_read_and_write_of_a_patient_adds_exactly_one_access_log_entry(
    client: httpx.AsyncClient, platform: Platform, pipeline: None
) -> None:
    created = await client.post(
        "/api/patients", json=PATIENT, headers={"X-Correlation-Id": "desk-42"}
    )
    patient_id = created.json()["id"]
    wait = {CONSISTENT: created.headers[TOKEN]}
    steps = [
        ("GET", f"/api/patients/{patient_id}", None, "patients:read"),
        ("GET", f"/api/patients/{patient_id}/medical-history", None, "clinical:read"),
        (
            "POST",
            f"/api/patients/{patient_id}/alerts",
            {"code": "latex", "description": "Latex allergy"},
            "clinical:write",
        ),
        ("GET", "/api/patients?q=nunez", None, "patients:read"),
    ]
    assert [e["action"] for e in await entries(platform)] == ["patients:write"]
    for method, path, body, action in steps:
        before = len(await entries(platform))
        response = await client.request(method, path, json=body, headers=wait)
        assert response.status_code < 300, response.text
        after = await entries(platform)
        assert len(after) == before + 1, path
        assert after[-1]["action"] == action

    log = await entries(platform)
    first = log[0]
    assert first["patient_id"] == patient_id
    assert first["correlation_id"] == "desk-42"
    assert first["route"] == "POST /api/patients"
    assert first["outcome"] == "done"
    assert first["actor_role"] == "dentist"
    assert first["source_address"]
    assert log[-1]["details"] == {"patient_ids": [patient_id]}
    assert len(await entries(platform, patient_id)) == len(log)


async def test_a_refused_read_is_logged_as_refused(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    patient_id = (await client.post("/api/patients", json=PATIENT)).json()["id"]
    refused = await client.get(
        f"/api/patients/{patient_id}/medical-history", headers=await sign_in("receptionist")
    )
    assert refused.status_code == 403
    last = (await entries(platform))[-1]
    assert (last["action"], last["outcome"], last["status"]) == ("clinical:read", "refused", 403)


def audit_verify(settings: Settings) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLINIC, "audit", "verify"],
        env={**clinic_env(settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _five_entries(client: httpx.AsyncClient) -> None:
    patient_id = (await client.post("/api/patients", json=PATIENT)).json()["id"]
    for _ in range(4):
        await client.get(f"/api/patients/{patient_id}/medical-history")


async def test_audit_verify_passes_on_an_untouched_log(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await _five_entries(client)
    verified = await asyncio.to_thread(audit_verify, settings)
    assert verified.returncode == 0, verified.stdout
    assert "5 entries verified" in verified.stdout


TAMPERING = {
    "edited": (
        ["UPDATE patient_access_log SET actor_role = 'admin' WHERE seq = 3"],
        "entry 3 is not authentic",
    ),
    "deleted": (["DELETE FROM patient_access_log WHERE seq = 2"], "entry 2 is missing"),
    "newest removed": (
        ["DELETE FROM patient_access_log WHERE seq >= 4"],
        "entries after 3 were removed",
    ),
    "inserted": (
        [
            "UPDATE patient_access_log SET seq = -seq WHERE seq >= 3",
            "UPDATE patient_access_log SET seq = 1 - seq WHERE seq < 0",
            "INSERT INTO patient_access_log SELECT 3, at, actor_id, actor_role, 'patients:read', "
            "patient_id, route, outcome, status, correlation_id, source_address, reason, details, "
            "mac, mac FROM patient_access_log WHERE seq = 2",
        ],
        "entry 3 is not authentic",
    ),
}


@pytest.mark.parametrize("kind", TAMPERING)
async def test_audit_verify_names_the_first_entry_tampered_with_by_sql(
    client: httpx.AsyncClient, platform: Platform, settings: Settings, kind: str
) -> None:
    statements, finding = TAMPERING[kind]
    await _five_entries(client)
    for statement in statements:
        await platform.pool.execute(statement)
    verified = await asyncio.to_thread(audit_verify, settings)
    assert verified.returncode == 1
    assert finding in verified.stdout


async def test_as_of_gives_the_record_exactly_as_it_was_shown_at_that_time(
    client: httpx.AsyncClient, sign_in: SignIn, pipeline: None
) -> None:
    created = await client.post("/api/patients", json=PATIENT)
    patient_id = created.json()["id"]
    changes = [
        ("PUT", f"/api/patients/{patient_id}", {**PATIENT, "phone": "+34 611 000 111"}),
        (
            "POST",
            f"/api/patients/{patient_id}/alerts",
            {"code": "anticoagulants", "description": "Sintrom"},
        ),
        (
            "POST",
            f"/api/patients/{patient_id}/medical-history",
            {"kind": "allergy", "description": "Penicillin"},
        ),
        ("PUT", f"/api/patients/{patient_id}", {**PATIENT, "family_name": "Núñez Ruiz"}),
    ]
    shown: list[tuple[datetime, dict[str, object], dict[str, object]]] = []
    token = created.headers[TOKEN]
    for method, path, body in [("GET", "", None), *changes]:
        if method != "GET":
            version = token.rsplit(":", 1)[1]
            answer = await client.request(
                method, path, json=body, headers={"If-Match": f'"{version}"'}
            )
            assert answer.status_code < 300, answer.text
            token = answer.headers[TOKEN]
        chart = await client.get(f"/api/patients/{patient_id}", headers={CONSISTENT: token})
        history = await client.get(
            f"/api/patients/{patient_id}/medical-history", headers={CONSISTENT: token}
        )
        shown.append((datetime.now(UTC), chart.json(), history.json()))
        await asyncio.sleep(0.01)

    auditor = await sign_in("auditor")
    for moment, shown_chart, shown_history in shown:
        params = {"as_of": moment.isoformat()}
        then = await client.get(f"/api/patients/{patient_id}", params=params, headers=auditor)
        assert then.json() == shown_chart
        then_history = await client.get(
            f"/api/patients/{patient_id}/medical-history", params=params, headers=auditor
        )
        assert then_history.json() == shown_history
    assert len({str(c) for _, c, _ in shown}) == len(shown)


async def test_auditors_replay_every_event_with_who_did_it(
    anonymous: httpx.AsyncClient, sign_in: SignIn, settings: Settings
) -> None:
    receptionist = await sign_in("receptionist", name="Rosa")
    created = await anonymous.post("/api/patients", json=PATIENT, headers=receptionist)
    patient_id = created.json()["id"]
    profile = await anonymous.get("/api/auth/profile", headers=receptionist)
    staff_id = profile.json()["staff_id"]

    replay = await anonymous.get(
        f"/api/audit/patients/{patient_id}/events", headers=await sign_in("auditor")
    )
    events = replay.json()["events"]
    assert [(e["version"], e["type"], e["actor_id"], e["actor_role"]) for e in events] == [
        (1, "PatientRegistered", staff_id, "receptionist")
    ]
    assert events[0]["payload"]["family_name"] == "Núñez Peña"

    printed = await asyncio.to_thread(
        subprocess.run,
        [CLINIC, "audit", "patient", patient_id],
        env={**clinic_env(settings), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    assert "PatientRegistered" in printed.stdout
    assert staff_id in printed.stdout
    assert '"family_name": "Núñez Peña"' in printed.stdout


async def test_the_command_line_lists_a_patients_treatment_events_as_the_api_does(
    anonymous: httpx.AsyncClient, sign_in: SignIn, settings: Settings, pipeline: None
) -> None:
    dentist = await sign_in("dentist", name="Dra. Vidal", account=True)
    patient_id = (await anonymous.post("/api/patients", json=PATIENT, headers=dentist)).json()["id"]
    staff_id = (await anonymous.get("/api/auth/profile", headers=dentist)).json()["staff_id"]
    treated = await anonymous.post(
        "/api/treatments",
        json={"patient_id": patient_id, "code": "FILL-1", "tooth": 36, "surfaces": "O"},
        headers=dentist,
    )
    assert treated.status_code == 201, treated.text
    history = await anonymous.get(
        f"/api/patients/{patient_id}/treatments",
        headers={**dentist, CONSISTENT: treated.headers[TOKEN]},
    )
    assert [t["id"] for t in history.json()["items"]] == [treated.json()["id"]]

    replay = await anonymous.get(
        f"/api/audit/patients/{patient_id}/events", headers=await sign_in("auditor")
    )
    shown = [(e["context"], e["type"], e["actor_id"]) for e in replay.json()["events"]]
    treatment_event = ("treatments", "TreatmentRecorded", staff_id)
    assert shown == [("patients", "PatientRegistered", staff_id), treatment_event]

    printed = await asyncio.to_thread(
        subprocess.run,
        [CLINIC, "audit", "patient", patient_id],
        env={**clinic_env(settings), "COLUMNS": "220"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert printed.returncode == 0, printed.stderr
    rows = [line for line in printed.stdout.splitlines() if "TreatmentRecorded" in line]
    assert len(rows) == 1, printed.stdout
    assert "treatments" in rows[0]
    assert staff_id in rows[0]


async def test_the_first_admin_can_be_created_from_the_command_line(
    anonymous: httpx.AsyncClient, settings: Settings
) -> None:
    created = await asyncio.to_thread(
        subprocess.run,
        [
            CLINIC,
            "user",
            "create",
            "--email",
            "jefa@clinica.es",
            "--name",
            "Jefa",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="una-clave-larga-de-verdad-2026\n",
        env=clinic_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    signed_in = await anonymous.post(
        "/api/auth/login",
        json={"email": "jefa@clinica.es", "password": "una-clave-larga-de-verdad-2026"},
    )
    assert signed_in.status_code == 200
    closed = await anonymous.post(
        "/api/auth/register",
        json={
            "name": "Otra",
            "email": "otra@x.es",
            "roles": ["admin"],
            "password": "una-clave-larga-de-verdad-2026",
        },
    )
    assert closed.status_code == 401


async def test_reading_the_access_log_is_itself_logged_with_the_patients_it_showed(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    first = (await client.post("/api/patients", json=PATIENT)).json()["id"]
    second = (await client.post("/api/patients", json=PATIENT)).json()["id"]
    receptionist = await sign_in("receptionist")
    await client.get(
        f"/api/patients/{second}/medical-history",
        headers={**receptionist, "X-Break-Glass-Reason": "fainted at the desk"},
    )
    auditor = await sign_in("auditor")
    before = len(await entries(platform))

    read = await client.get("/api/audit/access", params={"limit": 50}, headers=auditor)
    assert read.status_code == 200
    assert len(read.json()["items"]) == before

    after = await entries(platform)
    assert len(after) == before + 1
    logged = after[-1]
    assert (logged["action"], logged["actor_role"], logged["outcome"]) == (
        "audit:read",
        "auditor",
        "done",
    )
    assert logged["route"] == "GET /api/audit/access"
    details = logged["details"]
    assert isinstance(details, dict)
    assert details["patient_ids"] == sorted({first, second})
    assert details["query"] == {"limit": 50, "after": 0}
    # Searching for a patient finds the auditor's look at them, too.
    about_first = await entries(platform, first)
    assert about_first[-1]["action"] == "audit:read"


async def test_a_search_of_the_access_log_for_one_patient_names_that_patient(
    client: httpx.AsyncClient, sign_in: SignIn, platform: Platform
) -> None:
    patient_id = (await client.post("/api/patients", json=PATIENT)).json()["id"]
    auditor = await sign_in("auditor")
    read = await client.get(
        "/api/audit/access", params={"patient_id": patient_id, "actor": "x"}, headers=auditor
    )
    assert read.status_code == 200
    logged = (await entries(platform))[-1]
    assert logged["patient_id"] == patient_id
    details = logged["details"]
    assert isinstance(details, dict)
    assert details["query"] == {"patient_id": patient_id, "actor": "x", "limit": 100, "after": 0}
    assert details["patient_ids"] == []
