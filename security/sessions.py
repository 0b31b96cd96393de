"""Sign-in sessions: access tokens (JWT), rotating refresh tokens and the sessions they belong to.

Sessions and refresh tokens are operational state, not clinic facts, so they
live in plain PostgreSQL tables rather than the event store (ADR 4). Refresh
tokens are stored only as SHA-256 hashes; reusing a rotated one revokes its
whole session (the token family). Access tokens name the key that signed them (`kid`):
the current key signs, older keys of the keyring still verify until they are removed.
A token is honoured only for the staff member its session was started for.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import jwt

from infra.db import OwnTables
from infra.keys import Keyring
from infra.logs import get_logger
from infra.settings import Settings

log = get_logger("security.sessions")
SESSION_RECHECK_SECONDS = 2.0


class TokenRefused(PermissionError):
    """The token is missing, expired, forged, revoked or not for us."""


@dataclass(frozen=True, slots=True)
class Claims:
    staff_id: UUID
    session_id: UUID
    roles: tuple[str, ...]
    name: str
    enrolment_only: bool = False


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


class Tokens(OwnTables):
    """Issues and checks access tokens; keeps sessions and refresh tokens."""

    DDL = """
        CREATE TABLE IF NOT EXISTS auth_sessions (
            session_id uuid PRIMARY KEY,
            staff_id uuid NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_reason text
        );
        CREATE INDEX IF NOT EXISTS auth_sessions_staff ON auth_sessions (staff_id);
        CREATE TABLE IF NOT EXISTS auth_refresh_tokens (
            token_hash bytea PRIMARY KEY,
            session_id uuid NOT NULL REFERENCES auth_sessions (session_id),
            issued_at timestamptz NOT NULL DEFAULT now(),
            used_at timestamptz
        );
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        keys: Keyring,
        algorithm: str,
        issuer: str,
        audience: str,
        access_minutes: int,
        refresh_days: int,
    ) -> None:
        self.pool = pool
        self.keys = keys
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self.access_ttl = timedelta(minutes=access_minutes)
        self.refresh_ttl = timedelta(days=refresh_days)
        # Sessions known to be live, and until when we trust that without asking again.
        self._live: dict[UUID, tuple[float, UUID]] = {}
        self._decoded: dict[str, tuple[float, Claims]] = {}

    @classmethod
    def of(cls, pool: asyncpg.Pool, keys: Keyring, settings: Settings) -> Tokens:
        return cls(
            pool,
            keys=keys,
            algorithm=settings.jwt_algorithm,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            access_minutes=settings.access_token_minutes,
            refresh_days=settings.refresh_token_days,
        )

    def access_token(self, claims: Claims, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            "sub": str(claims.staff_id),
            "sid": str(claims.session_id),
            "roles": list(claims.roles),
            "name": claims.name,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + self.access_ttl,
            "jti": uuid4().hex,
        }
        if claims.enrolment_only:
            payload["enrolment_only"] = True
        return jwt.encode(
            payload,
            self.keys.current,
            algorithm=self.algorithm,
            headers={"kid": self.keys.current_id},
        )

    def decode(self, token: str) -> Claims:
        """Checks signature and claims; a token seen in the last seconds is not parsed again
        (its expiry is still checked each time)."""
        cached = self._decoded.get(token)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        claims, expires = self._decode(token)
        if len(self._decoded) > 10_000:
            self._decoded.clear()
        self._decoded[token] = (min(expires, time.time() + SESSION_RECHECK_SECONDS), claims)
        return claims

    def _decode(self, token: str) -> tuple[Claims, float]:
        try:
            key = self.keys.get(jwt.get_unverified_header(token).get("kid"))
            if key is None:
                raise TokenRefused("the access token is not signed with a key we hold")
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud", "jti", "sub", "sid"]},
            )
            claims = Claims(
                staff_id=UUID(payload["sub"]),
                session_id=UUID(payload["sid"]),
                roles=tuple(str(r) for r in payload.get("roles", [])),
                name=str(payload.get("name", "")),
                enrolment_only=bool(payload.get("enrolment_only", False)),
            )
            return claims, float(payload["exp"])
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise TokenRefused(f"the access token is not valid: {error}") from None

    async def verify(self, token: str) -> Claims:
        """A valid token of a live session. Another process's revocation shows within
        SESSION_RECHECK_SECONDS; this process's own takes effect at once."""
        claims = self.decode(token)
        known = self._live.get(claims.session_id)
        if known is not None and known[0] > time.monotonic() and known[1] == claims.staff_id:
            return claims
        session = await self.pool.fetchrow(
            "SELECT staff_id, revoked_at IS NOT NULL OR expires_at < now() AS ended "
            "FROM auth_sessions WHERE session_id = $1",
            claims.session_id,
        )
        if session is None or session["ended"]:
            self._live.pop(claims.session_id, None)
            raise TokenRefused("the session has ended; sign in again")
        if session["staff_id"] != claims.staff_id:
            log.warning(
                "a token names another staff member's session",
                session_id=str(claims.session_id),
            )
            raise TokenRefused("the session belongs to someone else")
        if len(self._live) > 10_000:
            self._live.clear()
        self._live[claims.session_id] = (
            time.monotonic() + SESSION_RECHECK_SECONDS,
            claims.staff_id,
        )
        return claims

    async def start_session(self, claims_without_session: Claims) -> TokenPair:
        session_id = uuid4()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO auth_sessions (session_id, staff_id, expires_at) "
                "VALUES ($1, $2, now() + $3::interval)",
                session_id,
                claims_without_session.staff_id,
                self.refresh_ttl,
            )
            refresh = await self._new_refresh(conn, session_id)
        claims = Claims(
            claims_without_session.staff_id,
            session_id,
            claims_without_session.roles,
            claims_without_session.name,
            claims_without_session.enrolment_only,
        )
        return TokenPair(self.access_token(claims), refresh, int(self.access_ttl.total_seconds()))

    async def rotate(self, refresh_token: str) -> tuple[UUID, UUID]:
        """Spend a refresh token: (staff id, session id). A reused token ends its session."""
        digest = hashlib.sha256(refresh_token.encode()).digest()
        refusal: str | None = None
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT t.session_id, t.used_at, s.staff_id, s.revoked_at, s.expires_at < now() "
                "AS expired FROM auth_refresh_tokens t JOIN auth_sessions s USING (session_id) "
                "WHERE t.token_hash = $1 FOR UPDATE OF t, s",
                digest,
            )
            if row is None:
                refusal = "the refresh token is not known"
            elif row["used_at"] is not None:
                # Someone holds a copy of a spent token: end the whole family, and commit that.
                await self._revoke(conn, row["session_id"], "refresh token reused")
                log.warning(
                    "refresh token reused: session revoked", session_id=str(row["session_id"])
                )
                refusal = "this refresh token was already used; the session is revoked"
            elif row["revoked_at"] is not None or row["expired"]:
                refusal = "the session has ended; sign in again"
            else:
                await conn.execute(
                    "UPDATE auth_refresh_tokens SET used_at = now() WHERE token_hash = $1", digest
                )
        if refusal is not None or row is None:
            raise TokenRefused(refusal or "the refresh token is not known")
        return row["staff_id"], row["session_id"]

    async def continue_session(self, claims: Claims) -> TokenPair:
        async with self.pool.acquire() as conn:
            refresh = await self._new_refresh(conn, claims.session_id)
        return TokenPair(self.access_token(claims), refresh, int(self.access_ttl.total_seconds()))

    async def end_session(self, session_id: UUID, reason: str) -> None:
        async with self.pool.acquire() as conn:
            await self._revoke(conn, session_id, reason)

    async def end_all_sessions(self, staff_id: UUID, reason: str) -> None:
        for session_id, (_, owner) in list(self._live.items()):
            if owner == staff_id:
                self._live.pop(session_id, None)
        await self.pool.execute(
            "UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2 "
            "WHERE staff_id = $1 AND revoked_at IS NULL",
            staff_id,
            reason,
        )

    async def _revoke(self, conn: Any, session_id: UUID, reason: str) -> None:
        self._live.pop(session_id, None)
        await conn.execute(
            "UPDATE auth_sessions SET revoked_at = coalesce(revoked_at, now()), "
            "revoked_reason = coalesce(revoked_reason, $2) WHERE session_id = $1",
            session_id,
            reason,
        )

    async def _new_refresh(self, conn: Any, session_id: UUID) -> str:
        token = secrets.token_urlsafe(32)
        await conn.execute(
            "INSERT INTO auth_refresh_tokens (token_hash, session_id) VALUES ($1, $2)",
            hashlib.sha256(token.encode()).digest(),
            session_id,
        )
        return token
