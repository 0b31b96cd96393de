"""The clinic always keeps an active admin: the last one can be neither deactivated nor
stripped of the role, not even by two admins removing each other at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

import pytest

from commands.identity import Deactivate, Identity, RegisterStaff, RoleChange
from domain.identity import AdminRoster, StaffMember
from domain.shared import Meta, Role, TransitionRefused

META = Meta("admin", "admin", "c", "r")
PASSWORD = "a long enough passphrase for the clinic"


@pytest.fixture
def identity() -> Identity:
    return Identity(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def _register(identity: Identity, name: str, *roles: Role, first: bool = False) -> UUID:
    cmd = RegisterStaff(
        name=name, email=f"{name.lower()}@clinica.es", roles=list(roles), password=PASSWORD
    )
    written = identity.register(
        cmd, Meta(str(uuid4()), "admin", "c", str(uuid4())), first_admin=first
    )
    return written.id


def test_the_only_admin_can_be_neither_deactivated_nor_lose_the_role(identity: Identity) -> None:
    admin = _register(identity, "Lucia", Role.ADMIN, Role.DENTIST, first=True)
    with pytest.raises(TransitionRefused, match="last active admin"):
        identity.deactivate(admin, Deactivate(reason="leaving"), META)
    with pytest.raises(TransitionRefused, match="last active admin"):
        identity.revoke_role(admin, RoleChange(role=Role.ADMIN), META)
    assert identity.staff(admin).active
    assert Role.ADMIN.value in identity.staff(admin).roles
    # Another role goes as before.
    identity.revoke_role(admin, RoleChange(role=Role.DENTIST), META)


def test_with_a_second_admin_either_may_go(identity: Identity) -> None:
    first = _register(identity, "Lucia", Role.ADMIN, first=True)
    second = _register(identity, "Marta", Role.RECEPTIONIST)
    identity.grant_role(second, RoleChange(role=Role.ADMIN), META)
    identity.deactivate(first, Deactivate(reason="retired"), META)
    assert identity.active_admins() == {second}
    with pytest.raises(TransitionRefused, match="last active admin"):
        identity.revoke_role(second, RoleChange(role=Role.ADMIN), META)


class RacingIdentity(Identity):
    """Each thread's first decision waits for the other's, so both decide on the same roster
    before either saves: the race the roster must settle, every time."""

    racing = False
    started = threading.Barrier(2, timeout=10)
    seen = threading.local()

    def _roster(self, meta: Meta) -> AdminRoster:
        roster = super()._roster(meta)
        if self.racing and not getattr(self.seen, "waited", False):
            self.seen.waited = True
            self.started.wait()
        return roster


def test_two_admins_removing_each_other_at_once_leave_one() -> None:
    identity = RacingIdentity(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    a = _register(identity, "Lucia", Role.ADMIN, first=True)
    b = _register(identity, "Marta", Role.ADMIN)
    identity.racing = True

    def remove(staff_id: UUID) -> bool:
        try:
            identity.deactivate(staff_id, Deactivate(reason="the other one said so"), META)
        except TransitionRefused:
            return False
        return True

    with ThreadPoolExecutor(2) as pool:
        removed = list(pool.map(remove, (a, b)))
    identity.racing = False  # the reads below take the roster as it is
    assert sorted(removed) == [False, True]
    remaining = {s for s in (a, b) if identity.staff(s).active}
    assert len(remaining) == 1
    assert identity.active_admins() == remaining


def test_a_store_kept_before_the_roster_starts_it_from_the_accounts(identity: Identity) -> None:
    """Accounts saved before the roster existed: the first change that needs it counts the
    active admins from the accounts themselves."""
    admin = StaffMember.register("Lucia", "lucia@clinica.es", ["admin"], META)
    gone = StaffMember.register("Pedro", "pedro@clinica.es", ["admin"], META)
    gone.deactivate("left the clinic", META)
    desk = StaffMember.register("Marta", "marta@clinica.es", ["receptionist"], META)
    identity.save(admin, gone, desk)
    assert identity.active_admins() == {admin.id}
    with pytest.raises(TransitionRefused, match="last active admin"):
        identity.deactivate(admin.id, Deactivate(reason="leaving"), META)
    identity.deactivate(desk.id, Deactivate(reason="left"), META)
