"""Signed, expiring links a patient follows from a reminder to confirm or cancel a visit.

A link is `<payload>.<mac>`, both base64url: the payload names the appointment, the action,
the reminder it came with, when it expires and the key that signed it (`links` keyring, so a
rotated key keeps verifying until removed). It reveals nothing but ids. Whether it was used
already is not in the link: the API records each used link once (single use).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from infra.keys import Keyring


class LinkAction(StrEnum):
    CONFIRM = "confirm"
    CANCEL = "cancel"


class LinkRefused(ValueError):
    """A link that is altered, signed with an unknown key, or expired."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # tampered, expired


@dataclass(frozen=True, slots=True)
class Link:
    appointment_id: UUID
    reminder_id: UUID
    action: LinkAction
    expires: datetime

    @property
    def use_id(self) -> str:
        """What makes a use of this link the same use: one per reminder and action."""
        return f"{self.reminder_id}:{self.action.value}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LinkSigner:
    def __init__(self, keys: Keyring) -> None:
        self.keys = keys

    def sign(self, link: Link) -> str:
        payload = json.dumps(
            {
                "a": str(link.appointment_id),
                "r": str(link.reminder_id),
                "x": link.action.value,
                "e": int(link.expires.timestamp()),
                "k": self.keys.current_id,
            },
            separators=(",", ":"),
        ).encode()
        mac = hmac.new(self.keys.current, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(mac)}"

    def make(
        self,
        appointment_id: UUID,
        reminder_id: UUID,
        action: LinkAction,
        now: datetime,
        valid_for: timedelta,
        until: datetime | None = None,
    ) -> str:
        """A link valid for `valid_for`, and never past `until` (the appointment's start)."""
        expires = now + valid_for
        if until is not None:
            expires = min(expires, until)
        return self.sign(Link(appointment_id, reminder_id, action, expires))

    def verify(self, token: str, now: datetime) -> Link:
        tampered = LinkRefused("tampered", "This link is not valid: it may have been altered.")
        try:
            encoded, _, mac_text = token.partition(".")
            payload = _unb64(encoded)
            mac = _unb64(mac_text)
            data = json.loads(payload)
            key = self.keys.get(data.get("k"))
        except (ValueError, binascii.Error, AttributeError):
            raise tampered from None
        if key is None or not hmac.compare_digest(
            mac, hmac.new(key, payload, hashlib.sha256).digest()
        ):
            raise tampered
        if _b64(payload) != encoded or _b64(mac) != mac_text:
            raise tampered  # the same bytes spelled another way
        try:
            link = Link(
                UUID(data["a"]),
                UUID(data["r"]),
                LinkAction(data["x"]),
                datetime.fromtimestamp(int(data["e"]), tz=now.tzinfo),
            )
        except (KeyError, ValueError, TypeError):
            raise tampered from None
        if link.expires <= now:
            raise LinkRefused("expired", "This link has expired.")
        return link
