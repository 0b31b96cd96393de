"""The demo clinic's staff accounts: the admin first (closing self-registration, atomically),
then everyone else, all with the same password."""

from __future__ import annotations

from uuid import uuid4

from clinic.demo import NOT_EMPTY, STAFF, ClinicNotEmpty, DemoClinic, DemoRefused
from clinic.platform import Platform
from commands.base import AlreadyExists
from commands.identity import Identity, RegisterStaff, RegistrationClosed
from domain.identity import check_password
from domain.shared import Meta


def register_staff(platform: Platform, clinic: DemoClinic) -> None:
    identity = platform.application(Identity)
    if identity.has_staff():
        raise ClinicNotEmpty(NOT_EMPTY)
    emails = clinic.emails()
    for spec, address in zip(STAFF, emails, strict=True):  # refuse before anything is written
        check_password(clinic.password, name=spec.name, email=address)
    for spec, email in zip(STAFF, emails, strict=True):
        command = RegisterStaff(
            name=spec.name, email=email, roles=[spec.role], password=clinic.password
        )
        if clinic.staff_ids:
            try:
                clinic.staff_ids.append(identity.register(command, clinic.meta()).id)
            except AlreadyExists as error:
                raise DemoRefused(str(error)) from None
        else:
            operator = Meta("cli", "server-operator", clinic.correlation, str(uuid4()))
            try:
                written = identity.register(command, operator, first_admin=True)
            except RegistrationClosed:
                raise ClinicNotEmpty(NOT_EMPTY) from None
            clinic.staff_ids.append(written.id)
        clinic.summary.staff.append((spec.name, email, spec.role))
