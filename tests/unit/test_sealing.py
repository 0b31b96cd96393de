"""Sealed secrets open only with the key that sealed them, only where they belong."""

from __future__ import annotations

import pytest

from infra.keys import Keyring, fresh_secrets
from infra.sealing import Sealer, Unsealable, is_sealed

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _key() -> str:
    return str(fresh_secrets()["data_key"])


def test_a_sealed_secret_hides_the_secret_and_opens_again() -> None:
    sealer = Sealer(Keyring.of("data", _key()))
    sealed = sealer.seal(SECRET, belongs_to="staff-1")
    assert is_sealed(sealed)
    assert SECRET not in sealed
    assert sealed != sealer.seal(SECRET, belongs_to="staff-1"), "a fresh nonce each time"
    assert sealer.open(sealed, belongs_to="staff-1") == SECRET


def test_a_sealed_secret_copied_to_another_record_does_not_open() -> None:
    sealer = Sealer(Keyring.of("data", _key()))
    with pytest.raises(Unsealable):
        sealer.open(sealer.seal(SECRET, belongs_to="staff-1"), belongs_to="staff-2")


def test_after_a_rotation_the_previous_key_still_opens_what_it_sealed() -> None:
    old, new = _key(), _key()
    sealed = Sealer(Keyring.of("data", old)).seal(SECRET, belongs_to="staff-1")
    assert Sealer(Keyring.of("data", new, [old])).open(sealed, belongs_to="staff-1") == SECRET
    with pytest.raises(Unsealable, match="CLINIC_DATA_PREVIOUS_KEYS"):
        Sealer(Keyring.of("data", new)).open(sealed, belongs_to="staff-1")


def test_a_secret_recorded_before_sealing_existed_is_read_as_it_is() -> None:
    assert Sealer(Keyring.of("data", _key())).open(SECRET, belongs_to="staff-1") == SECRET
