"""HTTP for the `identity` context: sign-in, tokens, own account, and staff administration."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

import pyotp
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from api.deps import Running, WrittenOut, services_of
from api.permissions import (
    BREAK_GLASS_HEADER,
    PROFILE,
    Actor,
    Grants,
    allowed,
    open_while,
    public,
)
from api.problems import Problem
from api.routes import Command, Write
from api.services import Services
from commands.base import Written
from commands.identity import (
    ChangePassword,
    Deactivate,
    EnableTotp,
    Identity,
    RegisterStaff,
    RegistrationClosed,
    RoleChange,
    TotpPolicy,
    new_totp_secret,
)
from domain.identity import StaffMember
from domain.shared import Meta, Role
from infra.metrics import SIGN_IN_FAILURES
from projections.identity import StaffQueries
from security.sessions import Claims, TokenPair, TokenRefused
from security.throttle import Attempt, Throttled
from security.totp import TotpSteps

router = APIRouter(prefix="/api", tags=["identity"])
STAFF_MANAGE = "staff:manage"  # staff accounts, roles, sign-in policy
GRANTS: Grants = {STAFF_MANAGE: (Role.ADMIN,)}
# The web app keeps its refresh token in this cookie, out of JavaScript's reach (ADR 10).
REFRESH_COOKIE = "sonrisa_refresh"
REFRESH_COOKIE_PATH = "/api/auth"
RefreshIn = Literal["body", "cookie"]
Public = Depends(public)
Self = Annotated[Actor, Depends(allowed(PROFILE))]
# What a signed-in person may do while their second factor is still to be set up.
Enrolling = Annotated[Actor, Depends(allowed(PROFILE, enrolment=True))]
Admin = Annotated[Actor, Depends(allowed(STAFF_MANAGE))]


async def no_staff_yet(request: Request) -> bool:
    """On an empty system the first admin registers themselves."""
    return not await run_in_threadpool(services_of(request).get(Identity).has_staff)


Registrar = Annotated[Actor | None, Depends(open_while(no_staff_yet, allowed(STAFF_MANAGE)))]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Annotated[str, StringConstraints(min_length=3, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    totp_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    refresh_in: RefreshIn = Field(
        default="body",
        description="`cookie`: the refresh token comes as an httpOnly cookie, not in the body",
    )


class Refresh(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: Annotated[str, StringConstraints(min_length=10, max_length=200)] | None = Field(
        default=None, description="omit it to use the refresh cookie that sign-in set"
    )


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str | None = Field(
        default=None, description="absent when it was set as the httpOnly refresh cookie"
    )
    token_type: str = "bearer"  # noqa: S105 - the OAuth 2 token type, not a secret
    expires_in: int
    second_factor_required: bool = Field(
        default=False, description="the role requires TOTP: only enrolment is allowed until then"
    )


def _tokens(
    pair: TokenPair,
    enrolment_only: bool,
    refresh_in: RefreshIn,
    request: Request,
    response: Response,
) -> TokensOut:
    """The token pair; with `cookie`, the refresh token goes into the httpOnly cookie instead."""
    if refresh_in == "cookie":
        response.set_cookie(
            REFRESH_COOKIE,
            pair.refresh_token,
            max_age=services_of(request).settings.refresh_token_days * 86_400,
            path=REFRESH_COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return TokensOut(
        access_token=pair.access_token,
        refresh_token=pair.refresh_token if refresh_in == "body" else None,
        expires_in=pair.expires_in,
        second_factor_required=enrolment_only,
    )


def _forget_refresh_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE,
        path=REFRESH_COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _claims(running: Services, staff: StaffMember, session: UUID | None = None) -> Claims:
    required = running.get(Identity).totp_required_for()
    enrolment_only = staff.totp_secret is None and bool(required & staff.roles)
    return Claims(
        staff.id, session or staff.id, tuple(sorted(staff.roles)), staff.name, enrolment_only
    )


@router.post("/auth/register", status_code=201, response_model=WrittenOut)
async def register(body: RegisterStaff, who: Registrar, write: Write) -> dict[str, object]:
    """The first admin on an empty system; after that, only an admin registers staff."""
    if who is None:
        state = write.request.state
        meta = Meta("self-registration", "anonymous", state.correlation_id, state.request_id)
        try:
            result = await run_in_threadpool(
                write.get(Identity).register, body, meta, first_admin=True
            )
        except RegistrationClosed as error:
            raise Problem(
                403, "registration-closed", "Registration is closed", str(error)
            ) from None
    else:
        result = await run_in_threadpool(write.get(Identity).register, body, who.meta)
    return write.answer(result, at="/api/staff")


async def sign_in_attempt(body: Login, request: Request, running: Running) -> Attempt:
    """A place reserved in the sign-in throttle (ADR 8), or 429 with Retry-After."""
    try:
        return await running.throttle.begin(body.email, _address(request))
    except Throttled as throttled:
        problem = Problem(429, "too-many-attempts", "Too many failed sign-ins", str(throttled))
        problem.headers["Retry-After"] = str(throttled.retry_after)
        problem.headers.update(throttled.quota.headers())
        raise problem from None


sign_in_attempt.sonrisa_throttled = True  # type: ignore[attr-defined]
SignInAttempt = Annotated[Attempt, Depends(sign_in_attempt)]


@router.post(
    "/auth/login",
    response_model=TokensOut,
    dependencies=[Public],
    responses={401: {"description": "The email, password or code is not right, or missing"}},
)
async def login(
    body: Login, attempt: SignInAttempt, request: Request, response: Response, running: Running
) -> TokensOut:
    # An account under attack answers slowly, whoever asks and whatever the password:
    # guessing gets slow, and its owner still gets in (ADR 8).
    await asyncio.sleep(attempt.delay)
    staff = await run_in_threadpool(running.get(Identity).authenticate, body.email, body.password)
    reason = "credentials"
    if staff is not None and staff.totp_secret is not None:
        reason = "second-factor"
        # A missing code is a wrong code: until the password and the code are both right the
        # answer is the same, so a password cannot be confirmed without the code (ASVS 2.8).
        step = running.get(Identity).totp_step(staff, body.totp_code or "")
        # A code signs in once: the same code again (a replay) is a wrong code.
        if step is None or not await running.get(TotpSteps).take(staff.id, step):
            staff = None
    if staff is None:
        SIGN_IN_FAILURES.labels(reason).inc()
        await running.throttle.failed(attempt)
        failed = Problem(
            401, "sign-in-failed", "Sign-in failed", "the email, password or code is not right"
        )
        failed.headers.update(attempt.quota.headers())
        raise failed
    await running.throttle.succeeded(attempt)
    response.headers.update(attempt.quota.headers())
    claims = await run_in_threadpool(_claims, running, staff)
    pair = await running.tokens.start_session(claims)
    return _tokens(pair, claims.enrolment_only, body.refresh_in, request, response)


@router.post(
    "/auth/refresh",
    response_model=TokensOut,
    dependencies=[Public],
    responses={401: {"description": "The refresh token is unknown or spent, or the session ended"}},
)
async def refresh(
    body: Refresh, request: Request, response: Response, running: Running
) -> TokensOut:
    """Rotates the refresh token given in the body, or else the one in the refresh cookie
    (and answers in the same way it was given)."""
    refresh_in: RefreshIn = "body" if body.refresh_token else "cookie"
    token = body.refresh_token or request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Problem(401, "unauthenticated", "Sign in again", "send a refresh token or its cookie")
    try:
        staff_id, session_id = await running.tokens.rotate(token)
    except TokenRefused as error:
        problem = Problem(401, "unauthenticated", "Sign in again", str(error))
        if refresh_in == "cookie":
            problem.headers["Set-Cookie"] = _expired_cookie(request)
        raise problem from None
    staff = await run_in_threadpool(running.get(Identity).staff, staff_id)
    if not staff.active:
        await running.tokens.end_session(session_id, "account deactivated")
        raise Problem(401, "unauthenticated", "Sign in again", "this account is deactivated")
    claims = await run_in_threadpool(_claims, running, staff, session_id)
    pair = await running.tokens.continue_session(claims)
    return _tokens(pair, claims.enrolment_only, refresh_in, request, response)


def _expired_cookie(request: Request) -> str:
    gone = Response()
    _forget_refresh_cookie(request, gone)
    return gone.headers["set-cookie"]


@router.post("/auth/logout", status_code=204)
async def logout(who: Enrolling, request: Request, running: Running) -> Response:
    await running.tokens.end_session(who.claims.session_id, "signed out")
    response = Response(status_code=204)
    _forget_refresh_cookie(request, response)
    return response


class TotpSetupOut(BaseModel):
    secret: str
    provisioning_uri: str = Field(description="an otpauth:// URI to show as a QR code")


class StaffMemberOut(BaseModel):
    """An account as the staff directory lists it (projections/identity.py)."""

    staff_id: str
    name: str
    email: str
    roles: list[Role]
    active: bool
    two_factor: bool
    registered_at: str
    updated_at: str


class StaffListOut(BaseModel):
    items: list[StaffMemberOut]


class TotpPolicyOut(BaseModel):
    roles: list[Role] = Field(description="the roles that must sign in with a second factor")


class ProfileOut(BaseModel):
    staff_id: str
    name: str
    roles: list[str]
    second_factor_required: bool
    may: list[str] = Field(description="the actions the roles allow (api/permissions.py)")
    break_glass: list[str] = Field(
        description=f"actions allowed only with an emergency reason in {BREAK_GLASS_HEADER}"
    )


async def _signed_out(
    write: Command,
    why: str,
    change: Callable[[UUID, Any, Meta], Written],
    staff_id: UUID,
    body: Any,
    meta: Meta,
) -> dict[str, object]:
    """An account changed, and every session of it ended: the change holds from the next
    sign-in, on every device."""
    result = await run_in_threadpool(change, staff_id, body, meta)
    await write.running.tokens.end_all_sessions(staff_id, why)
    return write.answer(result)


@router.get("/auth/profile", response_model=ProfileOut)
async def profile(who: Enrolling) -> ProfileOut:
    enrolling = who.claims.enrolment_only
    return ProfileOut(
        staff_id=str(who.staff_id),
        name=who.claims.name,
        roles=list(who.roles),
        second_factor_required=enrolling,
        may=[PROFILE] if enrolling else who.table.actions_of(who.roles),
        break_glass=[] if enrolling else who.table.break_glass_for(who.roles),
    )


@router.put("/auth/password", status_code=200, response_model=WrittenOut)
async def change_password(body: ChangePassword, who: Self, write: Write) -> dict[str, object]:
    change = write.get(Identity).change_password
    return await _signed_out(write, "password changed", change, who.staff_id, body, who.meta)


@router.post("/auth/totp/setup")
async def totp_setup(who: Enrolling, running: Running) -> TotpSetupOut:
    """A new secret to put in an authenticator app; confirm it with /auth/totp/enable."""
    secret = new_totp_secret()
    uri = pyotp.TOTP(secret).provisioning_uri(name=str(who.staff_id), issuer_name="Sonrisa")
    return TotpSetupOut(secret=secret, provisioning_uri=uri)


@router.post("/auth/totp/enable", response_model=WrittenOut)
async def totp_enable(body: EnableTotp, who: Enrolling, write: Write) -> dict[str, object]:
    enable = write.get(Identity).enable_totp
    why = "two-factor sign-in enabled"
    return await _signed_out(write, why, enable, who.staff_id, body, who.meta)


@router.get("/staff", response_model=StaffListOut)
async def list_staff(who: Admin, running: Running) -> dict[str, object]:
    return {"items": await running.get(StaffQueries).staff_list()}


@router.post("/staff/{staff_id}/roles", status_code=200, response_model=WrittenOut)
async def grant_role(
    staff_id: UUID, body: RoleChange, who: Admin, write: Write
) -> dict[str, object]:
    grant = write.get(Identity).grant_role
    return await _signed_out(write, "roles changed", grant, staff_id, body, who.meta)


@router.delete("/staff/{staff_id}/roles/{role}", status_code=200, response_model=WrittenOut)
async def revoke_role(staff_id: UUID, role: Role, who: Admin, write: Write) -> dict[str, object]:
    revoke, change = write.get(Identity).revoke_role, RoleChange(role=role)
    return await _signed_out(write, "roles changed", revoke, staff_id, change, who.meta)


@router.post("/staff/{staff_id}/deactivate", status_code=200, response_model=WrittenOut)
async def deactivate(
    staff_id: UUID, body: Deactivate, who: Admin, write: Write
) -> dict[str, object]:
    end = write.get(Identity).deactivate
    return await _signed_out(write, "account deactivated", end, staff_id, body, who.meta)


@router.get("/security/totp-policy")
async def get_totp_policy(who: Admin, running: Running) -> TotpPolicyOut:
    roles = await run_in_threadpool(running.get(Identity).totp_required_for)
    return TotpPolicyOut(roles=[Role(role) for role in sorted(roles)])


@router.put("/security/totp-policy", response_model=WrittenOut)
async def set_totp_policy(body: TotpPolicy, who: Admin, write: Write) -> dict[str, object]:
    policy = await run_in_threadpool(write.get(Identity).set_totp_policy, body, who.meta)
    return write.answer(policy)
