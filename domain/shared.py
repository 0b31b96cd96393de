"""Building blocks shared by every bounded context: who did it, and why the domain said no."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email

# The clinic's zone until an admin sets up the clinic: mainland Spain. (The Canary Islands are
# Atlantic/Canary; a clinic there sets its zone when it sets up its calendar.)
DEFAULT_ZONE = "Europe/Madrid"


class Role(StrEnum):
    """What a member of staff does at the clinic: every context's permissions speak of these."""

    ADMIN = "admin"
    DENTIST = "dentist"
    HYGIENIST = "hygienist"
    RECEPTIONIST = "receptionist"
    INVENTORY = "inventory"
    AUDITOR = "auditor"


class DomainError(ValueError):
    """A rule of the clinic refused the request; the message says which and why."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidValue(DomainError):
    """A value a person typed is not acceptable (a future birth date, a bad phone)."""


class TransitionRefused(DomainError):
    """The aggregate is in a state where this change makes no sense."""


class NotYours(DomainError):
    """The change is allowed, but not to this person: it needs another role (403)."""


def acting_roles(meta: Meta) -> frozenset[str]:
    """The roles of the person who asked (`Meta.actor_role` joins them with '+')."""
    return frozenset(meta.actor_role.split("+"))


@dataclass(frozen=True, slots=True)
class Meta:
    """Who asked for a change, and which request or event caused it (invariant 6)."""

    actor_id: str
    actor_role: str
    correlation_id: str
    causation_id: str

    def as_dict(self) -> dict[str, str]:
        return {
            "actor_id": self.actor_id,
            "actor_role": self.actor_role,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }

    @classmethod
    def unrecorded(cls) -> Meta:
        """For events stored before they carried who caused them."""
        return cls("unrecorded", "unrecorded", "", "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Meta:
        return cls(
            actor_id=str(data["actor_id"]),
            actor_role=str(data["actor_role"]),
            correlation_id=str(data["correlation_id"]),
            causation_id=str(data["causation_id"]),
        )


class MetaSinceV2:
    """Mixed into an event first stored without its `Meta` (class version 1): such an event
    loads with `Meta.unrecorded()`. Mixin first: `class Opened(MetaSinceV2, Aggregate.Created)`."""

    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["meta"] = Meta.unrecorded()


# Bidirectional overrides and isolates: they make text read differently from what it holds.
_BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_LINE_BREAKS = frozenset("\n\r\t")
_CONTROL = ("Cc", "Cs")  # control characters, and surrogates no encoder can write


def unsafe_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character no text field may hold, as U+XXXX; None when there is none.

    Control characters (NUL among them) and lone surrogates are refused everywhere, line
    breaks and tabs except in multi-line notes, and bidirectional overrides always."""
    if text.isprintable():  # the usual case; every character refused below is unprintable
        return None
    for character in text:
        if character in _LINE_BREAKS:
            if multiline:
                continue
        elif character not in _BIDI_CONTROLS and unicodedata.category(character) not in _CONTROL:
            continue
        return f"U+{ord(character):04X}"
    return None


def storable_text_pattern(*, multiline: bool = False) -> str:
    """What `unsafe_character` lets through, as a JSON Schema pattern (ECMA 262), so the API's
    document says it: no control character or bidirectional override; line breaks and tabs
    only when `multiline`. (Lone surrogates are left out: no pattern engine can name them.)"""
    breaks = r"\u0000-\u0008\u000b\u000c\u000e-\u001f" if multiline else r"\u0000-\u001f"
    return rf"^[^{breaks}\u007f-\u009f\u202a-\u202e\u2066-\u2069]*$"


def check_text(value: str, field: str, *, multiline: bool = False) -> str:
    """The text, unless it holds a character no text field may hold."""
    found = unsafe_character(value, multiline=multiline)
    if found is not None:
        raise InvalidValue(
            f"{field} contains a character that is not allowed ({found}): "
            "control characters and bidirectional overrides cannot be stored",
            field=field,
        )
    return value


def require_text(value: str, field: str, *, max_length: int, multiline: bool = False) -> str:
    """Trimmed, non-empty text of bounded length. Single-line text has its runs of spaces
    collapsed; multi-line text (notes) keeps its lines, each trimmed."""
    check_text(value, field, multiline=multiline)
    if multiline:
        lines = [" ".join(line.split()) for line in value.replace("\r\n", "\n").split("\n")]
        text = "\n".join(lines).strip("\n")
    else:
        text = " ".join(value.split())
    if not text:
        raise InvalidValue(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise InvalidValue(f"{field} must be at most {max_length} characters", field=field)
    return text


def optional_text(
    value: str | None, field: str, *, max_length: int, multiline: bool = False
) -> str | None:
    if value is None or not value.strip():
        return None
    return require_text(value, field, max_length=max_length, multiline=multiline)


def email_address(value: str, field: str = "email") -> str:
    """One address, as RFC 5321/5322 and `email-validator` allow it: no comma-separated
    second recipient, no markup, no quoted local part, ASCII only (the clinic's mail server
    need not speak SMTPUTF8). The domain comes back lower-cased."""
    text = check_text(value.strip(), field)
    try:
        checked = validate_email(
            text, check_deliverability=False, allow_smtputf8=False, allow_quoted_local=False
        )
    except EmailNotValidError as error:
        raise InvalidValue(f"{field} is not a valid address: {error}", field=field) from None
    return checked.normalized
