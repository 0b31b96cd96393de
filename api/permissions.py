"""The one permission table (role -> actions) and the guards every route declares.

A route is either guarded by `allowed(action)` or marked `public` on purpose;
a test walks the app's routes and fails on any that is neither. The guard is the only
way a route learns who is signing in, so its rules hold everywhere: a token still waiting
for its second factor reaches only the routes marked for enrolment.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, Union, cast, get_args, get_origin
from uuid import UUID

from fastapi import Request
from pydantic import BaseModel, Field

from api.deps import services_of
from api.problems import Problem
from domain.shared import Meta, Role
from security.sessions import Claims, TokenRefused

Grants = Mapping[str, Collection[Role]]  # an action, and the roles that may take it

# The actions every context shares, by the kind of data they reach: each context declares its
# own actions and their grants beside its routes, and the registry composes the one table.
PROFILE = "profile"  # what every signed-in person may do with their own account
PATIENTS_READ = "patients:read"  # demographics, contact details, alerts, search
CLINICAL_READ = "clinical:read"  # medical history, clinical notes, the chart
AUDIT_READ = "audit:read"  # access log, event replay, records as of a time
EVERYONE: tuple[Role, ...] = tuple(Role)
STAFF: tuple[Role, ...] = (Role.ADMIN, Role.DENTIST, Role.HYGIENIST, Role.RECEPTIONIST)
CLINICIANS: tuple[Role, ...] = (Role.DENTIST, Role.HYGIENIST)
SHARED_GRANTS: Grants = {
    PROFILE: EVERYONE,
    PATIENTS_READ: (*STAFF, Role.AUDITOR),
    CLINICAL_READ: (*CLINICIANS, Role.AUDITOR),
    AUDIT_READ: (Role.AUDITOR,),
}
# Who may read clinical data in an emergency, giving a reason that is logged.
BREAK_GLASS = {CLINICAL_READ: PATIENTS_READ}
BREAK_GLASS_HEADER = "X-Break-Glass-Reason"
# Free text a clinician writes (notes, reasons for a correction, a medical alert's words) is
# clinical data: a response model marks such a field with `clinical_text()`, and `shown_to`
# leaves it out for anyone who may not `CLINICAL_READ`. That is the one rule.
CLINICAL_TEXT = "x-clinical-text"
Shown = TypeVar("Shown")


def clinical_text(description: str) -> Any:
    """A response field of clinical free text: absent for those who may not read it."""
    return Field(
        default=None,
        description=f"{description}; absent for those who may not '{CLINICAL_READ}'",
        json_schema_extra={CLINICAL_TEXT: True},
    )


class PermissionTable:
    """The one table of who may do what (role -> actions), composed from the shared grants and
    every context's own. An action is granted in one place only."""

    def __init__(self, *grants: Grants) -> None:
        table: dict[Role, set[str]] = {role: set() for role in Role}
        seen: set[str] = set()
        for part in (SHARED_GRANTS, *grants):
            for action, roles in part.items():
                if action in seen:
                    raise ValueError(f"the action {action!r} is granted in two places")
                seen.add(action)
                for role in roles:
                    table[Role(role)].add(action)
        self.by_role: dict[Role, frozenset[str]] = {r: frozenset(a) for r, a in table.items()}
        self.actions: frozenset[str] = frozenset(seen)

    def permitted(self, roles: tuple[str, ...] | frozenset[str], action: str) -> bool:
        known = {r.value for r in Role}
        return any(action in self.by_role[Role(r)] for r in roles if r in known)

    def actions_of(self, roles: tuple[str, ...]) -> list[str]:
        """Everything these roles may do, so a client shows only what the user can use."""
        known = {r.value for r in Role}
        return sorted({a for r in roles if r in known for a in self.by_role[Role(r)]})

    def break_glass_for(self, roles: tuple[str, ...]) -> list[str]:
        """The actions these roles may take only by giving an emergency reason."""
        return sorted(
            action
            for action, fallback in BREAK_GLASS.items()
            if not self.permitted(roles, action) and self.permitted(roles, fallback)
        )


@dataclass(frozen=True, slots=True)
class Actor:
    """The signed-in staff member behind a request."""

    claims: Claims
    correlation_id: str
    request_id: str
    table: PermissionTable
    break_glass_reason: str | None = None

    @property
    def staff_id(self) -> UUID:
        return self.claims.staff_id

    @property
    def roles(self) -> tuple[str, ...]:
        return self.claims.roles

    def may(self, action: str) -> bool:
        if self.table.permitted(self.roles, action):
            return True
        fallback = BREAK_GLASS.get(action)
        return (
            fallback is not None
            and self.break_glass_reason is not None
            and self.table.permitted(self.roles, fallback)
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
        table = services_of(request).permissions
        reason = (request.headers.get(BREAK_GLASS_HEADER) or "").strip()[:500] or None
        actor = Actor(
            claims,
            request.state.correlation_id,
            request.state.request_id,
            table,
            reason if action in BREAK_GLASS and not table.permitted(claims.roles, action) else None,
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
                if action in BREAK_GLASS and table.permitted(claims.roles, BREAK_GLASS[action])
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


def shown_to(who: Actor, model: type[BaseModel], data: Shown) -> Shown:
    """`data`, answered as `model`, as this person may see it: without the fields the model
    (and the models within it) mark as clinical text, unless they may read clinical data."""
    return data if who.may(CLINICAL_READ) else cast(Shown, without_clinical_text(model, data))


def without_clinical_text(model: type[BaseModel], data: Any) -> Any:
    if isinstance(data, list):
        return [without_clinical_text(model, item) for item in data]
    if not isinstance(data, dict):
        return data
    shown = dict(data)
    for name, info in model.model_fields.items():
        key = info.alias or name
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get(CLINICAL_TEXT):
            shown.pop(key, None)
        elif key in shown and (inner := _model_within(info.annotation)) is not None:
            shown[key] = without_clinical_text(inner, shown[key])
    return shown


def _model_within(annotation: Any) -> type[BaseModel] | None:
    """The response model a field holds, alone, in a list or optional; None for a value."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, Union, types.UnionType):
        for arg in get_args(annotation):
            if (found := _model_within(arg)) is not None:
                return found
    return None
