"""Sealing small secrets kept in the event store (a staff member's TOTP secret) with AES-GCM.

A sealed value is text: `sealed:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. It names
the data key that sealed it, so data keys rotate like the others (infra/keys.py). What it
belongs to (a staff member's id) is bound in as associated data: a sealed value copied into
another record does not open there. A value without the prefix was written before sealing
existed and is returned as it is.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from infra.keys import Keyring

PREFIX = "sealed:v1:"
_NONCE_BYTES = 12


class Unsealable(ValueError):
    """A sealed value that no key we hold opens: its key was removed, or it was altered."""


def _aes_key(secret: bytes) -> bytes:
    # The configured key is text of any length: derive exactly 256 bits for AES from it.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"sonrisa sealing v1").derive(
        secret
    )


class Sealer:
    """Seals with the data keyring's current key; opens with whichever key sealed."""

    def __init__(self, keys: Keyring) -> None:
        self.current_id = keys.current_id
        self._ciphers = {kid: AESGCM(_aes_key(secret)) for kid, secret in keys.keys.items()}

    def seal(self, plaintext: str, belongs_to: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._ciphers[self.current_id].encrypt(
            nonce, plaintext.encode(), belongs_to.encode()
        )
        blob = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}{self.current_id}:{blob}"

    def open(self, value: str, belongs_to: str) -> str:
        if not is_sealed(value):
            return value
        kid, _, blob = value.removeprefix(PREFIX).partition(":")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise Unsealable(
                f"sealed with data key {kid}, which is not held: add it to "
                "CLINIC_DATA_PREVIOUS_KEYS"
            )
        raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        try:
            plain = cipher.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], belongs_to.encode())
        except InvalidTag:
            raise Unsealable("the sealed value was altered or belongs elsewhere") from None
        return plain.decode()


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)
