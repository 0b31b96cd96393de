"""Staff accounts: the system is empty only until the first account of any kind exists."""

from __future__ import annotations

import pytest

from commands.identity import Identity, RegisterStaff, RegistrationClosed
from domain.identity import staff_email
from domain.shared import InvalidValue, Meta

META = Meta("cli", "server-operator", "corr", "req")
PASSWORD = "dientes-sanos-cada-dia"


def staff(email: str, *roles: str) -> RegisterStaff:
    return RegisterStaff(name="Ana", email=email, roles=list(roles), password=PASSWORD)


def test_any_first_account_closes_self_registration() -> None:
    identity = Identity(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert not identity.has_staff()
    identity.register(staff("dentist@clinica.es", "dentist"), META)
    assert identity.has_staff()


def test_the_first_self_registered_account_must_be_an_admin() -> None:
    identity = Identity(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    with pytest.raises(RegistrationClosed, match="must be an admin"):
        identity.register(staff("dentist@clinica.es", "dentist"), META, first_admin=True)
    identity.register(staff("admin@clinica.es", "admin"), META, first_admin=True)
    with pytest.raises(RegistrationClosed):
        identity.register(staff("other@clinica.es", "admin"), META, first_admin=True)


@pytest.mark.parametrize(
    "email", ["a,b@example.org", "<img/src=x/onerror=alert(1)>@evil.example", "ana@example"]
)
def test_a_staff_account_takes_one_plain_address(email: str) -> None:
    with pytest.raises(InvalidValue, match="email is not a valid address") as refused:
        staff_email(email)
    assert refused.value.field == "email"


def test_a_staff_address_is_kept_lower_cased() -> None:
    assert staff_email(" Ana.Garcia@Clinica.ES ") == "ana.garcia@clinica.es"
