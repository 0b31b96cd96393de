"""Staff accounts on the command side: register, sign-in checks, roles, passwords, 2FA."""

from __future__ import annotations

import binascii
import hmac
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Annotated
from uuid import UUID

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic
from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema

from commands.base import AlreadyExists, ClinicApplication, Command, Decided, NotFound, Written
from domain.identity import (
    ADMIN_ROSTER_ID,
    FIRST_ADMIN_CLAIM_ID,
    SECURITY_POLICY_ID,
    AdminRoster,
    EmailClaim,
    FirstAdminClaim,
    SecurityPolicy,
    StaffMember,
    check_password,
    email_claim_id,
    staff_email,
)
from domain.shared import Meta, Role, TransitionRefused
from infra.sealing import Sealer

# A lost race on the admin roster is decided again on fresh state (and then maybe refused).
ROSTER_ATTEMPTS = 3

Password = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Email = Annotated[str, StringConstraints(min_length=3, max_length=254)]


class RegistrationClosed(PermissionError):
    """Self-registration makes only the very first admin; after that an admin registers staff."""


class RegisterStaff(Command):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    email: Email
    roles: list[Role] = Field(min_length=1, max_length=6)
    password: Password


class ChangePassword(Command):
    current_password: Password
    new_password: Password


class RoleChange(Command):
    role: Role


class Deactivate(Command):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class TotpPolicy(Command):
    roles: list[Role] = Field(max_length=6)


# Unpadded base32 of at least 112 bits (23 characters) that decodes whole: a length of
# 8k+0, 2, 4, 5 or 7 characters; so the OpenAPI document says exactly what is taken.
_B32 = "[A-Z2-7]"
_BASE32_SECRET = (
    rf"^({_B32}{{8}}){{2}}({_B32}{{7}}|({_B32}{{8}})+({_B32}{{2}}|{_B32}{{4,5}}|{_B32}{{7}})?)$"
)


def _authenticator_secret(secret: str) -> str:
    """A secret an authenticator app can hold: base32 that decodes to at least 112 bits,
    checked by the same library that later checks the codes."""
    refusal = "not a secret from /api/auth/totp/setup: ask for a new one and scan it again"
    if not re.fullmatch(_BASE32_SECRET, secret):
        raise ValueError(refusal)
    try:
        pyotp.TOTP(secret).now()
    except (binascii.Error, ValueError) as error:
        raise ValueError(refusal) from error
    return secret


class EnableTotp(Command):
    secret: Annotated[
        str,
        StringConstraints(min_length=16, max_length=64),
        AfterValidator(_authenticator_secret),  # the pattern, with a message a person can act on
        WithJsonSchema(
            {"type": "string", "minLength": 16, "maxLength": 64, "pattern": _BASE32_SECRET}
        ),
    ]
    code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


@cache
def _dummy_hash() -> str:
    """Verified against when an account has no hash, so failures take the same time.
    Made on first use: hashing at import would slow every `clinic` command's start."""
    return Identity.hasher.hash("a password that no account has, for timing")


class Identity(ClinicApplication):
    """The command side of the `identity` context."""

    hasher = PasswordHasher()  # argon2id with the library's recommended parameters
    _sealer: Sealer | None = None

    def seal_secrets_with(self, sealer: Sealer) -> None:
        """The data keyring that seals TOTP secrets before they are stored (infra/sealing.py)."""
        self._sealer = sealer

    @property
    def sealer(self) -> Sealer:
        if self._sealer is None:
            raise RuntimeError("Identity has no data key: call seal_secrets_with() first")
        return self._sealer

    def register(self, cmd: RegisterStaff, meta: Meta, *, first_admin: bool = False) -> Written:
        """A staff account with its email claimed, in one transaction; after a lost race to
        the same address (or to the first admin) the decision, taken again, refuses."""
        roles = [r.value for r in cmd.roles]

        def make() -> tuple[StaffMember, list[Aggregate]]:
            staff = StaffMember.register(cmd.name, cmd.email, roles, meta)
            check_password(cmd.password, name=staff.name, email=staff.email)
            claims: list[Aggregate] = [EmailClaim(email=staff.email, staff_id=staff.id, meta=meta)]
            if first_admin:
                if Role.ADMIN.value not in staff.roles:
                    raise RegistrationClosed("the first account must be an admin")
                if self.exists(FIRST_ADMIN_CLAIM_ID):
                    raise RegistrationClosed("registration is closed: ask an admin for an account")
                claims.append(FirstAdminClaim(staff_id=staff.id, meta=meta))
            if self.exists(email_claim_id(staff.email)):
                raise AlreadyExists(f"a staff account with email {staff.email} exists")
            staff.set_password(self.hasher.hash(cmd.password), meta)
            if _active_admin(staff):
                roster = self._roster(meta)
                roster.admit(staff.id, meta)
                claims.append(roster)
            return staff, claims

        return self.create(make, attempts=2)

    def has_staff(self) -> bool:
        """Whether any staff account was ever registered (however it was made)."""
        registered = get_topic(StaffMember.StaffRegistered)  # type: ignore[attr-defined]
        found = self.recorder.select_notifications(start=None, limit=1, topics=[registered])
        return bool(found) or self.exists(FIRST_ADMIN_CLAIM_ID)

    def staff(self, staff_id: UUID) -> StaffMember:
        return self.load(staff_id, StaffMember)

    def authenticate(self, email: str, password: str) -> StaffMember | None:
        """The active account with this email and password, else None (in similar time)."""
        staff = self._by_email(email)
        stored = staff.password_hash if staff and staff.active else None
        try:
            self.hasher.verify(stored or _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        return staff if stored else None

    def change_password(self, staff_id: UUID, cmd: ChangePassword, meta: Meta) -> Written:
        def decide(staff: StaffMember) -> None:
            try:
                self.hasher.verify(staff.password_hash or _dummy_hash(), cmd.current_password)
            except (VerificationError, InvalidHashError):
                raise TransitionRefused("the current password is not right") from None
            check_password(cmd.new_password, name=staff.name, email=staff.email)
            staff.set_password(self.hasher.hash(cmd.new_password), meta)

        return self.change(staff_id, StaffMember, decide)

    def grant_role(self, staff_id: UUID, cmd: RoleChange, meta: Meta) -> Written:
        return self._change_account(staff_id, lambda s: s.grant_role(cmd.role.value, meta), meta)

    def revoke_role(self, staff_id: UUID, cmd: RoleChange, meta: Meta) -> Written:
        return self._change_account(staff_id, lambda s: s.revoke_role(cmd.role.value, meta), meta)

    def deactivate(self, staff_id: UUID, cmd: Deactivate, meta: Meta) -> Written:
        return self._change_account(staff_id, lambda s: s.deactivate(cmd.reason, meta), meta)

    def _change_account(
        self, staff_id: UUID, decide: Callable[[StaffMember], None], meta: Meta
    ) -> Written:
        """A change to an account. When it makes or unmakes an active admin, the admin roster
        follows in the same transaction (ADR 23): it refuses to lose its last admin, and a
        lost race on it is decided again on fresh state."""

        def decided(staff: StaffMember) -> Decided:
            before = _active_admin(staff)
            decide(staff)
            if _active_admin(staff) == before:
                return Decided()
            roster = self._roster(meta)
            if before:
                roster.dismiss(staff.id, meta)
            else:
                roster.admit(staff.id, meta)
            return Decided(also=(roster,))

        return self.change(staff_id, StaffMember, decided, attempts=ROSTER_ATTEMPTS)

    def active_admins(self) -> set[UUID]:
        """The active admins, as the roster holds them (or as the accounts say, before it)."""
        return set(self._roster(Meta.unrecorded()).admins)

    def _roster(self, meta: Meta) -> AdminRoster:
        """The admin roster; started from the accounts themselves in a store that predates
        it (a concurrent start conflicts on the roster's first version and is decided again)."""
        try:
            return self.load(ADMIN_ROSTER_ID, AdminRoster)
        except NotFound:
            return AdminRoster(admins=self._admins_from_accounts(), meta=meta)

    def _admins_from_accounts(self) -> list[UUID]:
        registered = get_topic(StaffMember.StaffRegistered)  # type: ignore[attr-defined]
        admins: list[UUID] = []
        start: int | None = None
        while page := self.recorder.select_notifications(
            start=start, limit=500, topics=[registered]
        ):
            for notification in page:
                staff = self.load(UUID(str(notification.originator_id)), StaffMember)
                if _active_admin(staff):
                    admins.append(staff.id)
            start = page[-1].id + 1
        return admins

    def enable_totp(self, staff_id: UUID, cmd: EnableTotp, meta: Meta) -> Written:
        if not pyotp.TOTP(cmd.secret).verify(cmd.code, valid_window=1):
            raise TransitionRefused("the code does not match the secret; check the device clock")
        sealed = self.sealer.seal(cmd.secret, belongs_to=str(staff_id))
        return self.change(staff_id, StaffMember, lambda s: s.enable_totp(sealed, meta))

    def verify_totp(self, staff: StaffMember, code: str) -> bool:
        return self.totp_step(staff, code) is not None

    def totp_step(self, staff: StaffMember, code: str, at: datetime | None = None) -> int | None:
        """The time step of the staff member's code, within one step of now either way (a
        clock that drifts); None when it is not theirs. The one place a TOTP secret is opened
        (secrets recorded before sealing existed are read as they are)."""
        if staff.totp_secret is None:
            return None
        secret = self.sealer.open(staff.totp_secret, belongs_to=str(staff.id))
        totp = pyotp.TOTP(secret)
        now = at or datetime.now(UTC)
        for drift in (0, -1, 1):
            if hmac.compare_digest(totp.at(now, counter_offset=drift), code):
                return totp.timecode(now) + drift
        return None

    def totp_required_for(self) -> set[str]:
        if not self.exists(SECURITY_POLICY_ID):
            return set()
        return set(self.load(SECURITY_POLICY_ID, SecurityPolicy).totp_required_for)

    def set_totp_policy(self, cmd: TotpPolicy, meta: Meta) -> Written:
        return self.change(
            SECURITY_POLICY_ID,
            SecurityPolicy,
            lambda p: p.require_totp_for([r.value for r in cmd.roles], meta),
            new=lambda: SecurityPolicy(meta=meta),
        )

    def _by_email(self, email: str) -> StaffMember | None:
        try:
            claim: EmailClaim = self.repository.get(email_claim_id(staff_email(email)))
            found: StaffMember = self.repository.get(claim.staff_id)
        except (AggregateNotFoundError, ValueError):
            return None
        return found


def new_totp_secret() -> str:
    return pyotp.random_base32()


def _active_admin(staff: StaffMember) -> bool:
    return staff.active and Role.ADMIN.value in staff.roles
