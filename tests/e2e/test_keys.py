"""No key anyone else knows: `clinic` starts only with keys of its own, which `make run` makes on
its first run; every key has an id, so keys rotate without breaking what they signed."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
from pathlib import Path
from uuid import uuid4

import httpx
import jwt
import pytest

from clinic.platform import Platform
from infra.keys import (
    Keyring,
    create_secrets_file,
    fresh_secrets,
    key_id,
    read_secrets_file,
    variable,
)
from infra.settings import PROJECT_ROOT, Settings
from security.access_log import GENESIS, Access, AccessLog, mac
from security.sessions import Claims, TokenRefused, Tokens
from tests.conftest import SignIn
from tests.e2e.test_sign_in import _forge
from tests.integration.test_relay_crash import CLINIC, clinic_env

# What the quick start used to sign tokens and MAC the access log with: it is in git history.
PUBLISHED_KEYS = {
    purpose: f"sonrisa-development-only-{purpose}-do-not-use-in-production"
    for purpose in ("jwt_secret", "audit_key")
}
KEY_VARIABLES = [variable(name) for name in ("jwt_secret", "audit_key", "data_key")]


def without_keys(settings: Settings, secrets_file: Path, **extra: str) -> dict[str, str]:
    """A `clinic` environment for this session's stores with no key in it, only a file path."""
    env = clinic_env(settings, CLINIC_SECRETS_FILE=str(secrets_file), **extra)
    for name in list(env):
        if name.startswith(("CLINIC_JWT_", "CLINIC_AUDIT_", "CLINIC_DATA_")):
            del env[name]
    return env


def clinic(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLINIC, *args],
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_clinic_without_keys_or_a_secrets_file_refuses_to_start_and_says_why(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    env = without_keys(settings, tmp_path / "no-such-file")
    refused = await asyncio.to_thread(clinic, "migrate", env=env)
    assert refused.returncode != 0
    assert "will not start" in refused.stderr
    assert "CLINIC_JWT_SECRET" in refused.stderr
    assert "clinic secrets init" in refused.stderr
    with pytest.raises(RuntimeError, match="no jwt key"):
        Settings(jwt_secret=None, secrets_file=tmp_path / "no-such-file").keyring("jwt")


async def test_secrets_init_makes_a_private_file_of_random_keys_that_clinic_then_uses(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    secrets_file = tmp_path / ".clinic-secrets"
    env = without_keys(settings, secrets_file)
    made = await asyncio.to_thread(clinic, "secrets", "init", env=env)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    keys = read_secrets_file(secrets_file)
    values = [keys[name] for name in KEY_VARIABLES]
    assert len(set(values)) == 3
    assert all(len(value) >= 32 for value in values)
    assert not set(values) & set(PUBLISHED_KEYS.values())

    again = await asyncio.to_thread(clinic, "secrets", "init", env=env)
    assert again.returncode == 0
    assert read_secrets_file(secrets_file) == keys, "a second run must keep the keys in use"
    started = await asyncio.to_thread(clinic, "migrate", env=env)
    assert started.returncode == 0, started.stdout + started.stderr

    secrets_file.chmod(0o644)
    exposed = await asyncio.to_thread(clinic, "migrate", env=env)
    assert exposed.returncode != 0
    assert "may be read by others" in exposed.stderr


def test_make_run_keeps_its_keys_in_a_git_ignored_file_it_creates_first() -> None:
    assert Settings().secrets_file == PROJECT_ROOT / ".clinic-secrets"
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", ".clinic-secrets"], cwd=PROJECT_ROOT, check=False
    )
    assert ignored.returncode == 0, ".clinic-secrets is not ignored by git"
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert recipe.index("clinic secrets init") < recipe.index("clinic migrate")


async def test_a_token_signed_with_the_published_development_key_is_refused(
    anonymous: httpx.AsyncClient, platform: Platform, sign_in: SignIn
) -> None:
    real = await sign_in("admin")
    claims = platform.tokens.decode(real["Authorization"].removeprefix("Bearer "))
    forged = _forge(
        platform,
        key=PUBLISHED_KEYS["jwt_secret"],
        sub=str(claims.staff_id),
        sid=str(claims.session_id),
    )
    answer = await anonymous.get("/api/staff", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert (await anonymous.get("/api/staff", headers=real)).status_code == 200


async def test_a_token_for_another_staff_members_session_is_refused(
    anonymous: httpx.AsyncClient, platform: Platform, sign_in: SignIn
) -> None:
    someone = await sign_in("receptionist")
    session = platform.tokens.decode(someone["Authorization"].removeprefix("Bearer "))
    borrowed = _forge(platform, sub=str(uuid4()), sid=str(session.session_id))
    answer = await anonymous.get("/api/staff", headers={"Authorization": f"Bearer {borrowed}"})
    assert answer.status_code == 401
    assert "someone else" in answer.json()["detail"]


def _tokens(platform: Platform, keys: Keyring) -> Tokens:
    return Tokens(
        platform.pool,
        keys=keys,
        algorithm="HS256",
        issuer=platform.tokens.issuer,
        audience=platform.tokens.audience,
        access_minutes=5,
        refresh_days=1,
    )


async def test_tokens_name_their_key_and_an_older_key_verifies_until_it_is_removed(
    platform: Platform,
) -> None:
    old, new = fresh_secrets()["jwt_secret"], fresh_secrets()["jwt_secret"]
    before = _tokens(platform, Keyring.of("jwt", old))
    pair = await before.start_session(Claims(uuid4(), uuid4(), ("dentist",), "Dra. Ruiz"))
    assert jwt.get_unverified_header(pair.access_token)["kid"] == key_id(old)

    rotated = _tokens(platform, Keyring.of("jwt", new, [old]))
    assert (await rotated.verify(pair.access_token)).roles == ("dentist",)
    fresh = await rotated.continue_session(rotated.decode(pair.access_token))
    assert (await rotated.verify(fresh.access_token)).name == "Dra. Ruiz"

    retired = _tokens(platform, Keyring.of("jwt", new))
    with pytest.raises(TokenRefused, match="not signed with a key we hold"):
        await retired.verify(pair.access_token)
    assert (await retired.verify(fresh.access_token)).name == "Dra. Ruiz"


async def test_a_token_without_a_key_id_is_refused(
    anonymous: httpx.AsyncClient, platform: Platform, sign_in: SignIn
) -> None:
    real = await sign_in("admin")
    claims = platform.tokens.decode(real["Authorization"].removeprefix("Bearer "))
    for kid in (None, "someone-elses-key"):
        forged = _forge(platform, sub=str(claims.staff_id), sid=str(claims.session_id), kid=kid)
        answer = await anonymous.get("/api/staff", headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401, kid


def _access(n: int) -> Access:
    return Access(
        actor_id=str(uuid4()),
        actor_role="dentist",
        action="patients:read",
        patient_id=uuid4(),
        route="GET /api/patients/{patient_id}",
        outcome="done",
        status=200,
        correlation_id=f"c{n}",
        source_address="198.51.100.7",
    )


async def test_rotating_the_audit_key_keeps_the_access_log_verifiable(
    platform: Platform, settings: Settings, tmp_path: Path
) -> None:
    secrets_file = tmp_path / ".clinic-secrets"
    env = without_keys(settings, secrets_file)
    assert (await asyncio.to_thread(clinic, "secrets", "init", env=env)).returncode == 0
    from_file = settings.model_copy(update={**_no_keys(), "secrets_file": secrets_file})

    first_key = from_file.keyring("audit")
    writer = AccessLog(platform.pool, first_key)
    for n in range(3):
        await writer.append(_access(n))
    await writer.close()
    rotated = await asyncio.to_thread(clinic, "secrets", "rotate", "audit", env=env)
    assert rotated.returncode == 0, rotated.stderr
    second_key = from_file.keyring("audit")
    assert second_key.current_id != first_key.current_id
    writer = AccessLog(platform.pool, second_key)
    for n in range(3, 5):
        await writer.append(_access(n))
    await writer.close()

    ids = [r["key_id"] for r in await platform.pool.fetch("SELECT key_id FROM patient_access_log")]
    assert ids == [first_key.current_id] * 3 + [second_key.current_id] * 2
    verified = await asyncio.to_thread(clinic, "audit", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "5 entries verified" in verified.stdout

    stored = read_secrets_file(secrets_file)
    del stored[variable("audit_previous_keys")]
    secrets_file.write_text("".join(f"{k}={v}\n" for k, v in stored.items()))
    removed = await asyncio.to_thread(clinic, "audit", "verify", env=env)
    assert removed.returncode == 1
    assert f"entry 1 was MACed with key {first_key.current_id}" in removed.stdout


def _no_keys() -> dict[str, None]:
    return {name: None for name in ("jwt_secret", "audit_key", "data_key")} | {
        name: None for name in ("jwt_previous_secrets", "audit_previous_keys", "data_previous_keys")
    }


async def test_an_access_log_rewritten_with_the_published_key_fails_verification(
    platform: Platform, settings: Settings
) -> None:
    """The attack of issue 8: edit an entry, then recompute every MAC with the key the quick
    start used to have. Verification must name the very first entry."""
    for n in range(4):
        await platform.access_log.append(_access(n))
    rows = await platform.pool.fetch("SELECT * FROM patient_access_log ORDER BY seq")
    published = PUBLISHED_KEYS["audit_key"].encode()
    prev = GENESIS
    for row in rows:
        actor_role = "admin" if row["seq"] == 2 else row["actor_role"]
        access = Access(
            actor_id=row["actor_id"],
            actor_role=actor_role,
            action=row["action"],
            patient_id=row["patient_id"],
            route=row["route"],
            outcome=row["outcome"],
            status=row["status"],
            correlation_id=row["correlation_id"],
            source_address=row["source_address"],
            reason=row["reason"],
            details=row["details"],
        )
        entry_mac = mac(published, prev, row["seq"], row["at"], access, row["key_id"])
        await platform.pool.execute(
            "UPDATE patient_access_log SET actor_role = $2, prev_mac = $3, mac = $4 WHERE seq = $1",
            row["seq"],
            actor_role,
            prev,
            entry_mac,
        )
        prev = entry_mac
    await platform.pool.execute("UPDATE patient_access_log_head SET mac = $1", prev)

    verified = await asyncio.to_thread(clinic, "audit", "verify", env=clinic_env(settings))
    assert verified.returncode == 1
    assert "entry 1 is not authentic" in verified.stdout


def test_no_two_purposes_may_share_a_key(tmp_path: Path) -> None:
    same = "k" * 40
    settings = Settings(
        jwt_secret=same, audit_key=same, data_key="d" * 40, secrets_file=tmp_path / "x"
    )
    with pytest.raises(RuntimeError, match="used for jwt and audit"):
        settings.keyrings()


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="too short"):
        Settings(jwt_secret="short", secrets_file=tmp_path / "x").keyring("jwt")


def test_the_keys_file_is_never_world_readable_even_with_a_lax_umask(tmp_path: Path) -> None:
    previous = os.umask(0)
    try:
        assert create_secrets_file(tmp_path / "keys")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o600
