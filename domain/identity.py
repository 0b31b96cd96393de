"""Staff accounts: who works at the clinic, in which roles, and how they prove it is them.

Pure domain. Password hashing is the command side's job; here a password is
judged (length, how guessable it is) and only its hash is ever recorded.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event
from zxcvbn import zxcvbn

from domain.shared import (
    InvalidValue,
    Meta,
    Role,
    TransitionRefused,
    email_address,
    require_text,
)

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 128


def role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise InvalidValue(f"unknown role {value!r}; roles are {known}", field="roles") from None


def staff_email(value: str) -> str:
    return email_address(value.lower())


def check_password(password: str, *, name: str, email: str) -> None:
    """Long enough and not among the passwords people guess first (zxcvbn's lists)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidValue(
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    verdict = zxcvbn(password[:100], user_inputs=[name, email, *email.split("@"), "sonrisa"])
    if verdict["score"] < 3:
        hint = verdict["feedback"]["warning"] or "it is too easy to guess"
        raise InvalidValue(
            f"choose a less common password: {hint.rstrip('.')}; a few unrelated words work well",
            field="password",
        )


def email_claim_id(email: str) -> UUID:
    """One claim per address: two accounts cannot share an email."""
    return uuid5(NAMESPACE_URL, f"sonrisa:staff-email:{email}")


FIRST_ADMIN_CLAIM_ID = uuid5(NAMESPACE_URL, "sonrisa:first-admin")
SECURITY_POLICY_ID = uuid5(NAMESPACE_URL, "sonrisa:security-policy")
ADMIN_ROSTER_ID = uuid5(NAMESPACE_URL, "sonrisa:admin-roster")


class StaffMember(Aggregate):
    """A person who signs in to Sonrisa."""

    @classmethod
    def register(cls, name: str, email: str, roles: list[str], meta: Meta) -> StaffMember:
        checked = sorted({role(r).value for r in roles})
        if not checked:
            raise InvalidValue("a staff member needs at least one role", field="roles")
        return cls(
            name=require_text(name, "name", max_length=200),
            email=staff_email(email),
            roles=checked,
            meta=meta,
        )

    @event("StaffRegistered")
    def __init__(self, name: str, email: str, roles: list[str], meta: Meta) -> None:
        self.name = name
        self.email = email
        self.roles = set(roles)
        self.password_hash: str | None = None
        self.totp_secret: str | None = None
        self.active = True

    def grant_role(self, granted: str, meta: Meta) -> None:
        checked = role(granted)
        self._require_active()
        if checked.value in self.roles:
            raise TransitionRefused(f"this staff member already has the role {checked.value}")
        self._role_granted(role=checked.value, meta=meta)

    @event("RoleGranted")
    def _role_granted(self, role: str, meta: Meta) -> None:
        self.roles.add(role)

    def revoke_role(self, revoked: str, meta: Meta) -> None:
        checked = role(revoked)
        if checked.value not in self.roles:
            raise TransitionRefused(f"this staff member does not have the role {checked.value}")
        if self.roles == {checked.value}:
            raise TransitionRefused("cannot revoke the last role; deactivate the account instead")
        self._role_revoked(role=checked.value, meta=meta)

    @event("RoleRevoked")
    def _role_revoked(self, role: str, meta: Meta) -> None:
        self.roles.discard(role)

    def set_password(self, password_hash: str, meta: Meta) -> None:
        self._require_active()
        self._password_set(password_hash=password_hash, meta=meta)

    @event("PasswordSet")
    def _password_set(self, password_hash: str, meta: Meta) -> None:
        self.password_hash = password_hash

    def enable_totp(self, secret: str, meta: Meta) -> None:
        """`secret` as the command side sealed it; the domain never sees it in clear. (Events
        recorded before sealing existed hold it in clear: the command side reads both.)"""
        self._require_active()
        if self.totp_secret is not None:
            raise TransitionRefused("two-factor sign-in is already enabled")
        self._totp_enabled(secret=secret, meta=meta)

    @event("TotpEnabled")
    def _totp_enabled(self, secret: str, meta: Meta) -> None:
        self.totp_secret = secret

    def deactivate(self, reason: str, meta: Meta) -> None:
        if not self.active:
            raise TransitionRefused("this account is already deactivated")
        self._deactivated(reason=require_text(reason, "reason", max_length=500), meta=meta)

    @event("StaffDeactivated")
    def _deactivated(self, reason: str, meta: Meta) -> None:
        self.active = False

    def _require_active(self) -> None:
        if not self.active:
            raise TransitionRefused("this account is deactivated")


class EmailClaim(Aggregate):
    """Reserves an email address for one staff member (saved with the account, atomically)."""

    @staticmethod
    def create_id(email: str) -> UUID:
        return email_claim_id(email)

    @event("EmailClaimed")
    def __init__(self, email: str, staff_id: UUID, meta: Meta) -> None:
        self.staff_id = staff_id


class FirstAdminClaim(Aggregate):
    """Exists once the first admin was registered: self-registration is closed from then on."""

    @staticmethod
    def create_id() -> UUID:
        return FIRST_ADMIN_CLAIM_ID

    @event("FirstAdminRegistered")
    def __init__(self, staff_id: UUID, meta: Meta) -> None:
        self.staff_id = staff_id


class SecurityPolicy(Aggregate):
    """Clinic-wide sign-in rules an admin sets, such as which roles need a second factor."""

    @staticmethod
    def create_id() -> UUID:
        return SECURITY_POLICY_ID

    @event("SecurityPolicyStarted")
    def __init__(self, meta: Meta) -> None:
        self.totp_required_for: set[str] = set()

    def require_totp_for(self, roles: list[str], meta: Meta) -> None:
        checked = sorted({role(r).value for r in roles})
        if set(checked) != self.totp_required_for:
            self._totp_requirement_changed(roles=checked, meta=meta)

    @event("TotpRequirementChanged")
    def _totp_requirement_changed(self, roles: list[str], meta: Meta) -> None:
        self.totp_required_for = set(roles)


class AdminRoster(Aggregate):
    """The clinic's active admins. Every change that makes or unmakes an admin (registering
    one, granting or revoking the role, deactivating one) changes the roster in the same
    transaction, so two admins removing each other at once cannot both succeed: the clinic
    always keeps someone who can manage its accounts."""

    @staticmethod
    def create_id() -> UUID:
        return ADMIN_ROSTER_ID

    @event("AdminRosterStarted")
    def __init__(self, admins: list[UUID], meta: Meta) -> None:
        self.admins = set(admins)

    def admit(self, staff_id: UUID, meta: Meta) -> None:
        if staff_id not in self.admins:
            self._admitted(staff_id=staff_id, meta=meta)

    @event("AdminAdmitted")
    def _admitted(self, staff_id: UUID, meta: Meta) -> None:
        self.admins.add(staff_id)

    def dismiss(self, staff_id: UUID, meta: Meta) -> None:
        """No longer an active admin; refused for the last one."""
        if staff_id not in self.admins:
            return
        if self.admins == {staff_id}:
            raise TransitionRefused(
                "this is the clinic's last active admin: make another staff member an admin first"
            )
        self._dismissed(staff_id=staff_id, meta=meta)

    @event("AdminDismissed")
    def _dismissed(self, staff_id: UUID, meta: Meta) -> None:
        self.admins.discard(staff_id)
