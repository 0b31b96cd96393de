"""The one permission table (role -> actions) and the guards every route declares.

A route is either guarded by `allowed(action)` or marked `public` on purpose;
a test walks the app's routes and fails on any that is neither. The guard is the only
way a route learns who is signing in, so its rules hold everywhere: a token still waiting
for its second factor reaches only the routes marked for enrolment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import Request

from api.deps import services_of
from api.problems import Problem
from domain.identity import Role
from domain.shared import Meta
from security.sessions import Claims, TokenRefused

PROFILE = "profile"  # what every signed-in person may do with their own account
PATIENTS_READ = "patients:read"  # demographics, contact details, alerts, search
PATIENTS_WRITE = "patients:write"  # register, correct, change contact details
CLINICAL_READ = "clinical:read"  # medical history
CLINICAL_WRITE = "clinical:write"  # record and end history entries, alerts
STAFF_MANAGE = "staff:manage"  # staff accounts, roles, sign-in policy
AUDIT_READ = "audit:read"  # access log, event replay, records as of a time
SCHEDULE_READ = "schedule:read"  # providers, chairs, hours, appointment types, availability
SCHEDULE_MANAGE = "schedule:manage"  # change that reference data
APPOINTMENTS_READ = "appointments:read"  # the appointment book, day sheets
APPOINTMENTS_WRITE = "appointments:write"  # book, move, confirm, check in, cancel, …
APPOINTMENTS_OVERRIDE = "appointments:override"  # book outside hours, giving a reason
TREATMENTS_READ = "treatments:read"  # treatments (without clinical notes), plans, their fees
TREATMENTS_WRITE = "treatments:write"  # record, amend and void treatments; chart conditions
PLANS_WRITE = "plans:write"  # draft plans, add and withdraw items, present, take consent
CATALOGUE_READ = "catalogue:read"  # procedures, fees, bills of materials (no patient data)
CATALOGUE_MANAGE = "catalogue:manage"  # add procedures, change fees
REPORTS_READ = "reports:read"  # production per provider and day (no patient data)
_CLINICIAN = {TREATMENTS_READ, TREATMENTS_WRITE, PLANS_WRITE, CATALOGUE_READ}
REMINDERS_READ = "reminders:read"  # reminders sent, due, failed; the policy
REMINDERS_SEND = "reminders:send"  # send one now
REMINDERS_MANAGE = "reminders:manage"  # the clinic's reminder policy
_DESK = {SCHEDULE_READ, APPOINTMENTS_READ, APPOINTMENTS_WRITE, REMINDERS_READ, REMINDERS_SEND}

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {
            PROFILE,
            PATIENTS_READ,
            PATIENTS_WRITE,
            STAFF_MANAGE,
            SCHEDULE_MANAGE,
            APPOINTMENTS_OVERRIDE,
            REMINDERS_MANAGE,
            *_DESK,
            TREATMENTS_READ,
            CATALOGUE_READ,
            CATALOGUE_MANAGE,
            REPORTS_READ,
        }
    ),
    Role.DENTIST: frozenset(
        {
            PROFILE,
            PATIENTS_READ,
            PATIENTS_WRITE,
            CLINICAL_READ,
            CLINICAL_WRITE,
            *_DESK,
            *_CLINICIAN,
            REPORTS_READ,
        }
    ),
    Role.HYGIENIST: frozenset(
        {PROFILE, PATIENTS_READ, CLINICAL_READ, CLINICAL_WRITE, *_DESK, *_CLINICIAN}
    ),
    Role.RECEPTIONIST: frozenset(
        {
            PROFILE,
            PATIENTS_READ,
            PATIENTS_WRITE,
            *_DESK,
            TREATMENTS_READ,
            CATALOGUE_READ,
            REPORTS_READ,
        }
    ),
    Role.INVENTORY: frozenset({PROFILE, CATALOGUE_READ}),
    Role.AUDITOR: frozenset(
        {
            PROFILE,
            PATIENTS_READ,
            CLINICAL_READ,
            AUDIT_READ,
            SCHEDULE_READ,
            APPOINTMENTS_READ,
            TREATMENTS_READ,
            CATALOGUE_READ,
            REPORTS_READ,
            REMINDERS_READ,
        }
    ),
}
# Who may read clinical data in an emergency, giving a reason that is logged.
BREAK_GLASS = {CLINICAL_READ: PATIENTS_READ}
BREAK_GLASS_HEADER = "X-Break-Glass-Reason"


def permitted(roles: tuple[str, ...] | frozenset[str], action: str) -> bool:
    known = {r.value for r in Role}
    return any(action in PERMISSIONS[Role(r)] for r in roles if r in known)


def actions_of(roles: tuple[str, ...]) -> list[str]:
    """Everything these roles may do, so a client shows only what the user can use."""
    known = {r.value for r in Role}
    return sorted({action for r in roles if r in known for action in PERMISSIONS[Role(r)]})


def break_glass_for(roles: tuple[str, ...]) -> list[str]:
    """The actions these roles may take only by giving an emergency reason."""
    return sorted(
        action
        for action, fallback in BREAK_GLASS.items()
        if not permitted(roles, action) and permitted(roles, fallback)
    )


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in staff member behind a request."""

    claims: Claims
    correlation_id: str
    request_id: str
    break_glass_reason: str | None = None

    @property
    def staff_id(self) -> UUID:
        return self.claims.staff_id

    @property
    def roles(self) -> tuple[str, ...]:
        return self.claims.roles

    def may(self, action: str) -> bool:
        if permitted(self.roles, action):
            return True
        fallback = BREAK_GLASS.get(action)
        return (
            fallback is not None
            and self.break_glass_reason is not None
            and permitted(self.roles, fallback)
        )

    @property
    def meta(self) -> Meta:
        return Meta(
            actor_id=str(self.staff_id),
            actor_role="+".join(sorted(self.roles)),
            correlation_id=self.correlation_id,
            causation_id=self.request_id,
        )


@dataclass(slots=True)
class AccessIntent:
    """Marks a request as touching patient data; the middleware logs it once it is answered."""

    action: str
    patient_id: UUID | None
    details: dict[str, Any]

    def shows(self, answer: object) -> None:
        """Log every patient the answer names, wherever in it (`patient_id`, `patient_ids`)."""
        self.details["patient_ids"] = sorted(patient_ids_in(answer))


def patient_ids_in(answer: object) -> set[str]:
    found: set[str] = set()
    if isinstance(answer, dict):
        for key, value in answer.items():
            if key == "patient_id" and value is not None and not isinstance(value, dict | list):
                found.add(str(value))
            elif key == "patient_ids" and isinstance(value, list | tuple):
                found.update(str(v) for v in value if v is not None)
            else:
                found |= patient_ids_in(value)
    elif isinstance(answer, list | tuple):
        for item in answer:
            found |= patient_ids_in(item)
    return found


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _authenticate(request: Request) -> Claims:
    token = bearer(request)
    if token is None:
        raise _unauthenticated(
            "Sign in first", "send an access token as `Authorization: Bearer <token>`"
        )
    try:
        return await services_of(request).tokens.verify(token)
    except TokenRefused as error:
        raise _unauthenticated("Sign in again", str(error)) from None


def _unauthenticated(title: str, detail: str) -> Problem:
    problem = Problem(401, "unauthenticated", title, detail)
    problem.headers["WWW-Authenticate"] = 'Bearer realm="sonrisa"'
    return problem


Guard = Callable[[Request], Awaitable[Actor]]
Opening = Callable[[Request], Awaitable[bool]]
OpenGuard = Callable[[Request], Awaitable[Actor | None]]


def allowed(action: str, *, patient_data: bool = False, enrolment: bool = False) -> Guard:
    """A dependency that returns the Actor when their roles allow `action`, else 401/403.
    Only routes marked `enrolment` answer a token that still waits for its second factor."""

    async def guard(request: Request) -> Actor:
        if patient_data:
            raw = request.path_params.get("patient_id")
            request.state.access = AccessIntent(action, _uuid(raw), {})
        claims = await _authenticate(request)
        reason = (request.headers.get(BREAK_GLASS_HEADER) or "").strip()[:500] or None
        actor = Actor(
            claims,
            request.state.correlation_id,
            request.state.request_id,
            reason if action in BREAK_GLASS and not permitted(claims.roles, action) else None,
        )
        request.state.actor = actor
        if claims.enrolment_only and not enrolment:
            raise Problem(
                403,
                "second-factor-required",
                "Set up two-factor sign-in first",
                "your role requires a second factor: enable it at /api/auth/totp",
            )
        if not actor.may(action):
            hint = (
                f"; in an emergency, give a reason in {BREAK_GLASS_HEADER}"
                if action in BREAK_GLASS and permitted(claims.roles, BREAK_GLASS[action])
                else ""
            )
            raise Problem(403, "forbidden", "Not allowed", f"your role may not do '{action}'{hint}")
        return actor

    guard.sonrisa_permission = action  # type: ignore[attr-defined]
    guard.sonrisa_enrolment = enrolment  # type: ignore[attr-defined]
    return guard


def open_while(opening: Opening, guard: Guard) -> OpenGuard:
    """The guard, except while `opening` holds (the first admin on an empty system): then
    anyone passes, as nobody (None)."""

    async def open_or_guarded(request: Request) -> Actor | None:
        if await opening(request):
            return None
        return await guard(request)

    open_or_guarded.sonrisa_permission = guard.sonrisa_permission  # type: ignore[attr-defined]
    open_or_guarded.sonrisa_opening = opening  # type: ignore[attr-defined]
    return open_or_guarded


async def public(request: Request) -> None:
    """Marks a route as open to everyone, by explicit decision."""


public.sonrisa_public = True  # type: ignore[attr-defined]


def _uuid(raw: object) -> UUID | None:
    try:
        return UUID(str(raw)) if raw is not None else None
    except ValueError:
        return None
